"""Submit and Commit: the pending and the committed cluster configuration (BEHAVIOUR.md §5.1).

Design rule: `pending is None` is the store's one state (nothing submitted since the last commit);
submit validates a change against the pending configuration (or the committed one) and keeps it
pending, unchanged on error; commit swaps one reference and tells the machines,
which then run with their new effective configuration. Thread-safe: the admin API (event loop)
and tests (their own thread) both use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from simulator.core.clock import Clock
from simulator.core.config.cluster import ClusterConfig
from simulator.core.reports.logformat import format_timestamp

NOTHING_TO_COMMIT = "There is no data to commit."


@dataclass(frozen=True)
class Commit:
    """One commit: when, and the administrator's comment."""

    at: datetime
    comment: str


class ConfigStore:
    """Holds the committed configuration and what was submitted since."""

    def __init__(self, committed: ClusterConfig, clock: Clock) -> None:
        committed.validate()
        self._committed = committed
        self._pending: ClusterConfig | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[ClusterConfig], None]] = []
        self.history: list[Commit] = []

    @property
    def committed(self) -> ClusterConfig:
        with self._lock:
            return self._committed

    @property
    def pending(self) -> ClusterConfig | None:
        """The submitted, not yet committed configuration (None when nothing is pending)."""
        with self._lock:
            return self._pending

    def commits(self) -> tuple[Commit, ...]:
        """Every commit so far, oldest first: when, and the comment."""
        with self._lock:
            return tuple(self.history)

    def on_commit(self, listener: Callable[[ClusterConfig], None]) -> None:
        """Call `listener` with each newly committed configuration."""
        self._listeners.append(listener)

    def submit(self, change: Callable[[ClusterConfig], ClusterConfig]) -> ClusterConfig:
        """Apply `change` to the pending configuration and validate it; ConfigError leaves it as it was."""
        with self._lock:
            candidate = change(self._pending or self._committed)
            candidate.validate()
            self._pending = candidate
            return candidate

    def commit(self, comment: str = "") -> str:
        """Make the pending configuration the running one: `Changes committed: <date>`."""
        with self._lock:
            if self._pending is None:
                return NOTHING_TO_COMMIT
            self._committed, self._pending = self._pending, None
            committed, when = self._committed, self._clock.now()
            self.history.append(Commit(when, comment))
        for listener in self._listeners:
            listener(committed)
        return f"Changes committed: {format_timestamp(when)}"

    def clear(self) -> bool:
        """Discard pending changes; False if there were none."""
        with self._lock:
            if self._pending is None:
                return False
            self._pending = None
            return True
