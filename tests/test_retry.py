"""The bounce profile's retry schedule (BEHAVIOUR.md §4.4): 60 s doubling to 3600 s; 100 retries or 72 h."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator.core.errors import RetriesExhausted
from simulator.core.mail.retry import MAX_AGE, MAX_RETRIES, RetrySchedule

QUEUED_AT = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
HOUR = timedelta(hours=1)


def fail_on_time(schedule: RetrySchedule) -> list[RetrySchedule]:
    """Fail every attempt the moment it is due, until the schedule gives up."""
    history = [schedule]
    with pytest.raises(RetriesExhausted):
        while True:
            history.append(history[-1].after_failure(history[-1].next_attempt))
    return history


def test_a_new_entry_is_due_at_once() -> None:
    schedule = RetrySchedule.starting(QUEUED_AT)
    assert schedule.is_due(QUEUED_AT) and schedule.failures == 0


def test_the_first_waits_double_from_60_seconds() -> None:
    schedule, waits = RetrySchedule.starting(QUEUED_AT), []
    for _ in range(8):
        now = schedule.next_attempt
        schedule = schedule.after_failure(now)
        waits.append((schedule.next_attempt - now).total_seconds())
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_every_wait_is_capped_at_an_hour() -> None:
    schedule = RetrySchedule.starting(QUEUED_AT)
    for failures in range(1, MAX_RETRIES + 2):
        assert timedelta(seconds=60) <= schedule.wait_after(failures) <= HOUR, failures


def test_failing_on_time_gives_up_within_72_hours() -> None:
    """Nothing is scheduled after 72 h in queue; the next wait would have crossed the limit."""
    history = fail_on_time(RetrySchedule.starting(QUEUED_AT))
    last = history[-1]
    assert last.next_attempt - QUEUED_AT <= MAX_AGE
    assert last.next_attempt + last.wait_after(last.failures + 1) - QUEUED_AT > MAX_AGE
    assert last.failures < MAX_RETRIES, "in this schedule 72 h come before 100 retries"


def test_gives_up_after_100_retries() -> None:
    """Failures reported at the queueing time never reach 72 h, so the retry count decides."""
    schedule = RetrySchedule.starting(QUEUED_AT)
    for _ in range(MAX_RETRIES):
        schedule = schedule.after_failure(QUEUED_AT)
    assert schedule.failures == MAX_RETRIES
    with pytest.raises(RetriesExhausted):
        schedule.after_failure(QUEUED_AT)


def test_a_failure_after_72_hours_gives_up() -> None:
    with pytest.raises(RetriesExhausted):
        RetrySchedule.starting(QUEUED_AT).after_failure(QUEUED_AT + MAX_AGE + timedelta(seconds=1))


def test_after_failure_returns_a_new_value() -> None:
    schedule = RetrySchedule.starting(QUEUED_AT)
    later = schedule.after_failure(QUEUED_AT)
    assert schedule.failures == 0 and schedule.next_attempt == QUEUED_AT
    assert later.failures == 1 and later.queued_at == QUEUED_AT


def test_is_due() -> None:
    schedule = RetrySchedule.starting(QUEUED_AT).after_failure(QUEUED_AT)
    assert not schedule.is_due(QUEUED_AT + timedelta(seconds=59))
    assert schedule.is_due(QUEUED_AT + timedelta(seconds=60))
    assert schedule.is_due(QUEUED_AT + HOUR)


def test_retry_now_is_due_at_once_and_keeps_the_history() -> None:
    schedule = RetrySchedule.starting(QUEUED_AT)
    for _ in range(5):
        schedule = schedule.after_failure(schedule.next_attempt)
    restarted = schedule.retry_now()
    assert restarted.is_due(QUEUED_AT)
    assert (restarted.failures, restarted.queued_at) == (5, QUEUED_AT)
