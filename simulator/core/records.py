"""An append-only list that other threads can wait on.

Design rule: the simulator's event loop appends; test threads read snapshots or block until a
predicate holds. This is the only place where threads meet, so it owns the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Records(Generic[T]):
    """Thread-safe, append-only, waitable; with a `limit`, only the latest `limit` items are kept
    (a long-running sandbox must not grow without bound; tests keep everything)."""

    def __init__(self, limit: int | None = None) -> None:
        self._items: deque[T] = deque(maxlen=limit)
        self._changed = threading.Condition()

    def append(self, item: T, also: Callable[[], None] | None = None) -> None:
        """Append `item`; `also` runs under the same lock (e.g. a file write kept in order)."""
        with self._changed:
            self._items.append(item)
            if also is not None:
                also()
            self._changed.notify_all()

    def snapshot(self) -> list[T]:
        with self._changed:
            return list(self._items)

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def wait_until(
        self, predicate: Callable[[list[T]], bool], timeout: float, what: str
    ) -> list[T]:
        """Block until `predicate(items)` holds; raise TimeoutError naming `what`."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(list(self._items)), timeout):
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            return list(self._items)
