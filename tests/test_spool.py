"""The durable spool: what is stored, what a restart finds, and what it does with damage."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.core.errors import CorruptEntry
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import TDC_QUEUE, QueueEntry
from simulator.core.mail.retry import RetrySchedule
from simulator.gateway.spool import DiskSpool, decode, encode

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
ENTRY = QueueEntry(
    mid=3, sender="alice@outside.test", recipients=("bob@example.com", "carol@example.com"),
    rids=(0, 1), data=b"Subject: hi\r\n\r\n\xc3\xa9 body\r\n", destination="example.com",
    schedule=RetrySchedule.starting(NOW),
)


def failed_once(entry: QueueEntry, at: datetime = NOW) -> QueueEntry:
    """`entry` after one failed attempt at `at`."""
    return entry.moved_to(MessageState.DELIVERING).retried(entry.schedule.after_failure(at))


COPY = dataclasses.replace(ENTRY, mid=4, recipients=("intake@td.test",), rids=(0,),
                           destination=TDC_QUEUE, original_mid=3)


def test_an_entry_survives_encoding_byte_for_byte() -> None:
    for entry in (ENTRY, COPY, failed_once(ENTRY)):
        assert decode(encode(entry)) == entry


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-3],                       # truncated message bytes
        lambda b: b[:-1] + b"X",                # a flipped byte
        lambda b: b"not json" + b[b.index(b"\n"):],
        lambda b: b.replace(b'"v":1', b'"v":9'),
        lambda b: b.replace(b'"mid":3,', b""),  # a missing field
        lambda b: b"",
    ],
)
def test_damage_is_detected(damage) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CorruptEntry):
        decode(damage(encode(ENTRY)))


def test_save_then_load_gives_the_entries_and_counters_back(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, COPY])
    spool.write_counters({"icid": 2, "mid": 5, "dcid": 1})
    loaded = DiskSpool(tmp_path).load()
    assert sorted(loaded.entries, key=lambda e: e.mid) == [ENTRY, COPY]
    assert loaded.counters == {"icid": 2, "mid": 5, "dcid": 1}
    assert loaded.corrupt == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_replace_removes_the_finished_entry_only_after_writing_its_successor(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY])
    remainder = failed_once(ENTRY.subset(["carol@example.com"]), NOW + timedelta(seconds=5))
    spool.replace(ENTRY, [remainder])
    assert [e.rids for e in DiskSpool(tmp_path).load().entries] == [(1,)]
    spool.replace(remainder, [])
    assert DiskSpool(tmp_path).load().entries == []


def test_a_deferred_entry_keeps_its_key_and_its_new_schedule(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([COPY])
    deferred = failed_once(COPY)
    spool.replace(COPY, [deferred])
    (loaded,) = DiskSpool(tmp_path).load().entries
    assert loaded.schedule == deferred.schedule and loaded.key == COPY.key


def test_an_entry_read_back_is_deferred_if_it_failed_before_else_queued(tmp_path: Path) -> None:
    """The spool keeps the failures, not the state: a restart finds each entry in the state it waits in."""
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, failed_once(COPY)])
    loaded = {entry.mid: entry.state for entry in DiskSpool(tmp_path).load().entries}
    assert loaded == {ENTRY.mid: MessageState.QUEUED, COPY.mid: MessageState.DEFERRED}


def test_corrupt_files_are_moved_aside_intact_and_never_overwritten(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, COPY])
    broken = tmp_path / "queue" / f"{COPY.key}.entry"
    for attempt in (b"garbage one", b"garbage two"):
        broken.write_bytes(attempt)
        loaded = DiskSpool(tmp_path).load()
        assert loaded.entries == [ENTRY]
        (moved, reason), = loaded.corrupt
        assert moved.read_bytes() == attempt and reason
    assert sorted(p.name for p in (tmp_path / "corrupt").iterdir()) == ["4-0.entry", "4-0.entry.1"]


def test_a_spool_that_cannot_be_written_raises_oserror(tmp_path: Path) -> None:
    (tmp_path / "queue").write_text("a file where the queue folder should be")
    with pytest.raises(OSError):
        DiskSpool(tmp_path).save([ENTRY])
