"""An append-only list that other threads can wait on.

Design rule: the simulator's event loop appends; test threads read snapshots or block until a
predicate holds. This is the only place where threads meet, so it owns the lock. A reader that
shows a part (a page, what is new) reads only that part, under the lock, never a whole snapshot:
`newest` (newest first, with how many match) and `after` (by position: the n-th item ever appended
is at position n, so a reader that keeps the last position it read gets only what came since).
"""

from __future__ import annotations

import itertools
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
        self._appended = 0  # items appended ever: the position of the newest

    def append(self, item: T, also: Callable[[], None] | None = None) -> None:
        """Append `item`; `also` runs under the same lock (e.g. a file write kept in order)."""
        self.append_made(lambda _position: item, None if also is None else lambda _item: also())

    def append_made(self, make: Callable[[int], T], also: Callable[[T], None] | None = None) -> T:
        """Append the item `make` builds from its position (the n-th item ever appended is at n) and
        return it; `make` and `also(item)` run under the same lock, so positions follow the order of
        the items (the lock is reentrant: `also` may append again)."""
        with self._changed:
            item = make(self._appended + 1)
            self._items.append(item)
            self._appended += 1
            if also is not None:
                also(item)
            self._changed.notify_all()
            return item

    def snapshot(self) -> list[T]:
        with self._changed:
            return list(self._items)

    def newest(self, where: Callable[[T], bool] | None = None, skip: int = 0,
               count: int | None = None) -> tuple[int, list[T]]:
        """(how many kept items `where` holds for, at most `count` of them after the newest `skip`),
        newest first."""
        total, chosen = 0, list[T]()
        with self._changed:
            for item in reversed(self._items):
                if where is None or where(item):
                    if total >= skip and (count is None or len(chosen) < count):
                        chosen.append(item)
                    total += 1
        return total, chosen

    def first(self, where: Callable[[T], bool]) -> T | None:
        """The newest kept item `where` holds for (None if none): the scan stops at it."""
        with self._changed:
            return next((item for item in reversed(self._items) if where(item)), None)

    def after(self, position: int) -> tuple[int, list[T]]:
        """(the position of the oldest item kept, the kept items after `position`), oldest first: the
        first item returned is at `max(position + 1, oldest)`."""
        with self._changed:
            oldest = self._appended - len(self._items) + 1
            start = max(position + 1, oldest)
            return oldest, list(itertools.islice(self._items, start - oldest, None))

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
