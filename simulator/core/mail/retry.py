"""The bounce profile's retry schedule as a value (after urllib3's `Retry`).

Design rule: `after_failure(now)` returns a new schedule or raises `RetriesExhausted`; the wait is
computed from the history and the time given, never from sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from simulator.core.errors import RetriesExhausted

FIRST_RETRY = timedelta(seconds=60)
LONGEST_WAIT = timedelta(seconds=3600)
MAX_RETRIES = 100
MAX_AGE = timedelta(hours=72)
_DOUBLINGS_TO_CAP = (LONGEST_WAIT // FIRST_RETRY).bit_length()


@dataclass(frozen=True)
class RetrySchedule:
    """When an entry was queued, how often it failed, and when it may be tried next."""

    queued_at: datetime
    next_attempt: datetime
    failures: int = 0

    @classmethod
    def starting(cls, now: datetime) -> RetrySchedule:
        """A fresh entry: due at once."""
        return cls(queued_at=now, next_attempt=now)

    def wait_after(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failure: 60 s, doubling, at most 3600 s."""
        doublings = min(failures - 1, _DOUBLINGS_TO_CAP)  # 2**99 minutes would overflow timedelta
        wait: timedelta = FIRST_RETRY * 2**doublings
        return min(wait, LONGEST_WAIT)

    def after_failure(self, now: datetime) -> RetrySchedule:
        """The schedule after one more failure at `now`; raises `RetriesExhausted` when done."""
        failures = self.failures + 1
        next_attempt = now + self.wait_after(failures)
        if failures > MAX_RETRIES or next_attempt - self.queued_at > MAX_AGE:
            raise RetriesExhausted(f"gave up after {failures} attempts")
        return replace(self, failures=failures, next_attempt=next_attempt)

    def is_due(self, now: datetime) -> bool:
        return self.next_attempt <= now

    def retry_now(self) -> RetrySchedule:
        """Due at once (a restart attempts every queued entry immediately)."""
        return replace(self, next_attempt=self.queued_at)
