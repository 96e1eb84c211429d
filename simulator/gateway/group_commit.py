"""Group commit: the stores that wait together are flushed together, one flush for all of them.

Design rule: a store waits for the flush that covers it, and only that flush's outcome answers it.
The first store to arrive starts a flush at once; stores arriving while it runs wait, and the next
flush takes every one of them. A flush that succeeds resolves each store it covered with its result;
one that raises fails exactly those stores, each with the flush's error (a 451 each, as one failed
write gives today), and none of the stores after them. The flush itself is injected: the spool's
writes a unit file and flushes it (fsync, off the event loop); a test's counts and fails on demand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

Flush = Callable[[Sequence[Item]], Awaitable[Result]]


class GroupCommit(Generic[Item, Result]):
    """Gathers the items that arrive while a flush runs, and flushes them in one go."""

    def __init__(self, flush: Flush[Item, Result]) -> None:
        self._flush = flush
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flushing: asyncio.Task[None] | None = None
        self.flushes = 0  # how many flushes ran (for benchmarks and tests)

    async def commit(self, item: Item) -> Result:
        """The result of the flush that covered `item` (its error, if that flush failed)."""
        loop = asyncio.get_running_loop()
        covered: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, covered))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush_all())
        return await covered  # a waiter that gives up cancels only its own wait, never the flush

    async def _flush_all(self) -> None:
        """Flush what waits, again and again, until nothing does."""
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                await self._flush_group(group)
        finally:
            self._flushing = None

    async def _flush_group(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        self.flushes += 1
        try:
            result = await self._flush([item for item, _ in group])
        except Exception as error:  # the group's failure, each of its stores' own answer
            for _, covered in group:
                if not covered.done():
                    covered.set_exception(error)
            return
        except BaseException:  # the flush was cancelled (the loop ends): so is every wait for it
            for _, covered in [*group, *self._waiting]:
                covered.cancel()
            raise
        for _, covered in group:
            if not covered.done():
                covered.set_result(result)
