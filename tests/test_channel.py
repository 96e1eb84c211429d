"""The control channel between the supervisor and a part's process: both ends in one loop, over a
socket pair."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from simulator.core.errors import NotFound
from simulator.sandbox.channel import Channel, ChannelClosed, RemoteError


class Part:
    """What one end serves: plain and async methods, errors that can and cannot cross."""

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.release = asyncio.Event()
        self.asked = 0

    def commit(self, number: int) -> None:
        self.applied.append(number)

    async def slow(self) -> str:
        await self.release.wait()
        return "done"

    def big(self, size: int) -> bytes:
        self.asked += 1
        return bytes(size)

    def missing(self, mid: int) -> None:
        raise NotFound(f"no message {mid}")

    def unpicklable(self) -> None:
        raise Unpicklable(lambda: None)

    def callback(self) -> Callable[[], None]:
        return lambda: None

    def _private(self) -> str:
        return "never"


class Unpicklable(Exception):
    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__("holds a lambda")
        self.callback = callback


@asynccontextmanager
async def ends(part: object) -> AsyncIterator[tuple[Channel, Channel]]:
    """(the caller's end, the part's end), both served."""
    left, right = socket.socketpair()
    caller = Channel("part", *await asyncio.open_unix_connection(sock=left))
    callee = Channel("supervisor", *await asyncio.open_unix_connection(sock=right), part)
    tasks = [asyncio.create_task(caller.serve()), asyncio.create_task(callee.serve())]
    try:
        yield caller, callee
    finally:
        caller.close()
        callee.close()
        await asyncio.gather(*tasks)


def run(test: Callable[[], Any]) -> None:
    asyncio.run(asyncio.wait_for(test(), 10))


def test_a_call_returns_what_the_method_returned_and_awaits_async_ones() -> None:
    async def test() -> None:
        part = Part()
        async with ends(part) as (caller, _):
            slow = asyncio.create_task(caller.call("slow"))
            await caller.call("commit", 1)
            assert not slow.done()  # a waiting call does not hold up the next one
            part.release.set()
            assert await slow == "done"
    run(test)


def test_calls_without_an_await_take_effect_in_the_order_they_were_made() -> None:
    async def test() -> None:
        part = Part()
        async with ends(part) as (caller, _):
            await asyncio.gather(*(caller.call("commit", number) for number in range(50)))
        assert part.applied == list(range(50))
    run(test)


def test_an_error_crosses_as_itself_and_one_that_cannot_as_remote_error_with_its_text() -> None:
    async def test() -> None:
        async with ends(Part()) as (caller, _):
            with pytest.raises(NotFound, match="no message 7"):
                await caller.call("missing", 7)
            with pytest.raises(RemoteError, match="Unpicklable: holds a lambda"):
                await caller.call("unpicklable")
    run(test)


def test_an_answer_that_cannot_be_sent_fails_the_call_with_why_instead_of_leaving_it_waiting() -> None:
    async def test() -> None:
        async with ends(Part()) as (caller, _):
            with pytest.raises(RemoteError, match=r"the answer cannot be sent: .*lambda"):
                await caller.call("callback")
            await caller.call("commit", 1)  # the channel goes on
    run(test)


def test_only_public_methods_can_be_called() -> None:
    async def test() -> None:
        async with ends(Part()) as (caller, _):
            for name in ("_private", "__init__", "nothing", "applied"):
                with pytest.raises(AttributeError, match=f"no control method '{name}'"):
                    await caller.call(name)
    run(test)


def test_a_call_waiting_when_the_other_end_goes_away_fails_and_later_calls_fail_at_once() -> None:
    async def test() -> None:
        part = Part()
        async with ends(part) as (caller, callee):
            waiting = asyncio.create_task(caller.call("slow"))
            await asyncio.sleep(0.01)
            callee.close()
            with pytest.raises(ChannelClosed, match="part went away before it answered"):
                await waiting
            await caller.closed.wait()
            with pytest.raises(ChannelClosed, match="part is not running"):
                await caller.call("commit", 1)
    run(test)


REPLY_SIZE, REPLIES = 1 << 20, 20


def test_replies_to_a_peer_that_does_not_read_wait_to_be_sent_instead_of_filling_the_buffer() -> None:
    """Twenty 1 MiB replies to a caller that reads nothing yet: at most one of them sits in the buffer
    (the others wait their turn), and every one arrives, whole and right, once the caller reads."""
    async def test() -> None:
        part, (left, right) = Part(), socket.socketpair()
        caller = Channel("part", *await asyncio.open_unix_connection(sock=left))
        reader, writer = await asyncio.open_unix_connection(sock=right)
        callee = Channel("supervisor", reader, writer, part)
        serving = asyncio.create_task(callee.serve())
        calls = [asyncio.create_task(caller.call("big", REPLY_SIZE)) for _ in range(REPLIES)]
        while part.asked < REPLIES:  # every call has run; its reply is sent, or waits to be
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert writer.transport.get_write_buffer_size() <= 2 * REPLY_SIZE
        reading = asyncio.create_task(caller.serve())  # the caller reads at last
        assert [len(reply) for reply in await asyncio.gather(*calls)] == [REPLY_SIZE] * REPLIES
        assert writer.transport.get_write_buffer_size() == 0
        caller.close()
        callee.close()
        await asyncio.gather(serving, reading)
    run(test)


def test_calls_being_sent_when_the_other_end_vanishes_fail_as_closed_instead_of_waiting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A call whose 8 MiB frame is still being written (the other end reads nothing), and one queued
    behind it, when the other end goes away: both fail with `ChannelClosed`, and so does a later one;
    their answers' failures are read, not left for asyncio to report as never retrieved."""
    async def test() -> None:
        left, right = socket.socketpair()
        reader, writer = await asyncio.open_unix_connection(sock=left)
        caller = Channel("part", reader, writer)
        callee = Channel("supervisor", *await asyncio.open_unix_connection(sock=right))  # never reads
        reading = asyncio.create_task(caller.serve())
        calls = [asyncio.create_task(caller.call("commit", bytes(8 << 20))),
                 asyncio.create_task(caller.call("commit", 1))]
        while writer.transport.get_write_buffer_size() == 0:  # the first frame is on its way
            await asyncio.sleep(0)
        assert not any(call.done() for call in calls)
        callee.close()
        for call in calls:
            with pytest.raises(ChannelClosed, match="part went away before it answered"):
                await call
        await reading
        with pytest.raises(ChannelClosed, match="part is not running"):
            await caller.call("commit", 2)
    run(test)
    gc.collect()  # a future whose exception nobody read reports it when it is collected
    assert [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()] == []


def test_replies_stuck_draining_to_a_caller_that_goes_away_end_and_so_does_serving() -> None:
    """Replies to a caller that reads nothing wait in drain; once the caller goes away they end
    (nobody is left to answer) instead of waiting for ever, and the end stops serving."""
    async def test() -> None:
        part, (left, right) = Part(), socket.socketpair()
        caller = Channel("part", *await asyncio.open_unix_connection(sock=left))  # never reads
        reader, writer = await asyncio.open_unix_connection(sock=right)
        callee = Channel("supervisor", reader, writer, part)
        serving = asyncio.create_task(callee.serve())
        calls = [asyncio.create_task(caller.call("big", REPLY_SIZE * 4)) for _ in range(3)]
        while part.asked < len(calls) or writer.transport.get_write_buffer_size() == 0:
            await asyncio.sleep(0)
        replies = set(callee._running)
        assert len(replies) == len(calls) and not any(reply.done() for reply in replies)
        caller.close()
        await serving
        assert callee.closed.is_set()
        await asyncio.gather(*replies)  # none raised; one still waiting is the guard's timeout
        for call in calls:
            call.cancel()
    run(test)


def test_closing_with_a_reply_stuck_draining_to_a_peer_that_reads_nothing_ends_the_connection() -> None:
    """An 8 MiB reply waits in drain for a caller that reads nothing, and the other end closes: after
    its drain bound the connection is dropped (the reply stops waiting, serving ends), and the caller,
    reading at last, sees the end: its call fails as closed instead of getting a reply."""
    async def test() -> None:
        part, (left, right) = Part(), socket.socketpair()
        caller = Channel("part", *await asyncio.open_unix_connection(sock=left))  # reads nothing yet
        reader, writer = await asyncio.open_unix_connection(sock=right)
        callee = Channel("supervisor", reader, writer, part, close_drain=0.05)
        serving = asyncio.create_task(callee.serve())
        call = asyncio.create_task(caller.call("big", 8 * REPLY_SIZE))
        while part.asked < 1 or writer.transport.get_write_buffer_size() == 0:
            await asyncio.sleep(0)
        (reply,) = callee._running
        callee.close()  # returns at once; the connection ends within the bound, nobody reading
        await serving
        await reply
        assert callee.closed.is_set() and writer.transport.is_closing()
        await caller.serve()  # the caller reads part of the reply, then the end
        with pytest.raises(ChannelClosed, match="part went away before it answered"):
            await call
        caller.close()
    run(test)
