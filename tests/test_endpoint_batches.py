"""The endpoints' worker thread (`endpoints/common.py`, `Batches`) on its failure paths: work whose
command went away before its turn is not carried out, and the others are still answered; work queued
once the worker has shut down fails at once (as the executor's own work would) instead of waiting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from simulator.endpoints.common import Batches

T = TypeVar("T")


def run(test: Callable[[], Awaitable[T]]) -> T:
    """`test` in a fresh loop, failed by a 10 s guard rather than left hanging."""
    async def guarded() -> T:
        return await asyncio.wait_for(test(), 10)
    return asyncio.run(guarded())


def test_work_whose_command_went_away_before_its_turn_is_not_carried_out() -> None:
    batches: Batches[str] = Batches("batch-test")
    started, release, done = threading.Event(), threading.Event(), []

    def blocking() -> str:
        started.set()
        release.wait(10)
        return "first"

    def noted(name: str) -> Callable[[], str]:
        def work() -> str:
            done.append(name)
            return name
        return work

    async def test() -> list[str]:
        first = asyncio.ensure_future(batches.run(blocking))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        gone = asyncio.ensure_future(batches.run(noted("gone")))
        kept = asyncio.ensure_future(batches.run(noted("kept")))
        await asyncio.sleep(0)  # both are queued behind the busy worker
        gone.cancel()
        release.set()
        answers = [await first, await kept]
        assert gone.cancelled()
        return answers

    assert run(test) == ["first", "kept"]
    assert done == ["kept"], "the work of a command that went away never ran"


def test_work_that_raises_is_answered_with_its_error_and_the_worker_goes_on() -> None:
    batches: Batches[int] = Batches("batch-test")

    def broken() -> int:
        raise OSError(28, "No space left on device")

    async def test() -> int:
        with pytest.raises(OSError, match="No space left"):
            await batches.run(broken)
        return await batches.run(lambda: 7)

    assert run(test) == 7


def test_work_queued_after_the_worker_shut_down_fails_at_once_every_time() -> None:
    batches: Batches[int] = Batches("batch-test")

    async def test() -> None:
        assert await batches.run(lambda: 1) == 1
        batches._worker.shutdown(wait=True)  # as at the interpreter's exit
        for _ in range(2):  # the first failure leaves nothing behind that would make the next one wait
            with pytest.raises(RuntimeError, match="after shutdown"):
                await batches.run(lambda: 2)

    run(test)
