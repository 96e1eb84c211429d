"""Queue entries are frozen values: subsets keep RIDs, moves go through the lifecycle table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from simulator.core.errors import IllegalTransition
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import IdCounters, QueueEntry, next_ids
from simulator.core.mail.retry import RetrySchedule

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
ENTRY = QueueEntry(
    mid=3,
    sender="alice@sender.test",
    recipients=("bob@example.com", "carol@example.com", "dave@example.com"),
    rids=(0, 1, 2),
    body=InMemoryBody(b"Subject: hi\r\n\r\nbody\r\n"),
    destination="example.com",
    schedule=RetrySchedule.starting(NOW),
)


def test_subset_keeps_the_rids_of_the_chosen_recipients_in_order() -> None:
    part = ENTRY.subset(["dave@example.com", "bob@example.com"])
    assert part.recipients == ("bob@example.com", "dave@example.com")
    assert part.rids == (0, 2)


def test_subset_keeps_everything_else() -> None:
    part = ENTRY.subset(["carol@example.com"])
    assert dataclasses.replace(part, recipients=ENTRY.recipients, rids=ENTRY.rids) == ENTRY


def test_subset_ignores_unknown_addresses_and_may_be_empty() -> None:
    assert ENTRY.subset(["mallory@example.com"]).recipients == ()
    assert ENTRY.subset([]).rids == ()


def test_subset_leaves_the_original_alone() -> None:
    ENTRY.subset(["bob@example.com"])
    assert len(ENTRY.recipients) == 3


def test_moved_to_follows_the_lifecycle() -> None:
    delivering = ENTRY.moved_to(MessageState.DELIVERING)
    assert delivering.state is MessageState.DELIVERING
    assert ENTRY.state is MessageState.QUEUED
    with pytest.raises(IllegalTransition):
        ENTRY.moved_to(MessageState.DELIVERED)


def test_retried_is_deferred_with_the_new_schedule() -> None:
    schedule = ENTRY.schedule.after_failure(NOW)
    retried = ENTRY.moved_to(MessageState.DELIVERING).retried(schedule)
    assert retried.state is MessageState.DEFERRED
    assert retried.schedule == schedule
    assert not retried.schedule.is_due(NOW) and retried.schedule.is_due(NOW + timedelta(seconds=60))


def test_a_deferred_entry_can_be_delivered_again() -> None:
    retried = ENTRY.moved_to(MessageState.DELIVERING).retried(ENTRY.schedule.after_failure(NOW))
    assert retried.moved_to(MessageState.DELIVERING).moved_to(MessageState.DELIVERED).state is (
        MessageState.DELIVERED
    )


def test_only_an_entry_being_delivered_can_be_retried() -> None:
    with pytest.raises(IllegalTransition):
        ENTRY.retried(ENTRY.schedule.after_failure(NOW))


def test_domain_is_the_first_recipients_lower_case() -> None:
    assert dataclasses.replace(ENTRY, recipients=("Bob@Example.COM",), rids=(0,)).domain == "example.com"


def test_an_original_is_not_a_copy() -> None:
    assert not ENTRY.is_copy
    assert dataclasses.replace(ENTRY, original_mid=2).is_copy


def test_id_counters_are_separate_sequences() -> None:
    ids = IdCounters(mid=3)
    assert [ids.next_mid(), ids.next_mid()] == [3, 4]
    assert [ids.next_icid(), ids.next_dcid(), ids.next_icid()] == [1, 1, 2]
    assert ids.snapshot() == {"icid": 3, "mid": 5, "dcid": 2}
    assert IdCounters(**ids.snapshot()).next_mid() == 5


def test_a_restart_continues_past_the_spool_and_the_mail_log() -> None:
    """After a crash the counters file is stale: the spool and the mail log's tail tell the truth."""
    log = ("Wed Aug 17 05:52:00 2022 Info: Start MID 41 ICID 7\n"
           "Wed Aug 17 05:52:01 2022 Info: New SMTP DCID 12 interface 127.0.0.1 address 127.0.0.1 port 25\n")
    spooled = [dataclasses.replace(ENTRY, mid=44).mid]
    assert next_ids({"icid": 2, "mid": 5, "dcid": 1}, spooled, log) == {"icid": 8, "mid": 45, "dcid": 13}
    assert next_ids({"icid": 9, "mid": 99, "dcid": 30}, [], "") == {"icid": 9, "mid": 99, "dcid": 30}
    assert next_ids({}, [], "") == {"icid": 1, "mid": 1, "dcid": 1}


def test_a_held_mid_above_every_entry_moves_the_next_mid_past_it() -> None:
    assert next_ids({"mid": 5}, [44, 60, 12], "")["mid"] == 61  # 60: a quarantined splinter's
