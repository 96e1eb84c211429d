"""An asyncio event loop in a daemon thread, for servers that synchronous checks drive.

Design rule: the loop runs only inside `running()`; everything touching the servers' objects
crosses into it through `call` (a coroutine) and waits for the result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
TIMEOUT = 30.0


class LoopThread:
    """One event loop, run by one daemon thread while `running()` lasts."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextmanager
    def running(self) -> Iterator[None]:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
        thread.start()
        self._loop = loop
        try:
            yield
        finally:
            self._loop = None
            loop.call_soon_threadsafe(loop.stop)
            thread.join(TIMEOUT)
            self._finish(loop)

    @staticmethod
    def _finish(loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what still runs (handlers of closed connections) and let transports close."""
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        if leftovers:
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.run_until_complete(asyncio.sleep(0.01))
        loop.close()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = TIMEOUT) -> T:
        """Run `coroutine` on the loop and return its result."""
        assert self._loop is not None, "the loop is not running"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)
