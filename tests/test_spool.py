"""The durable spool: one unit per message, what a restart finds, and what it does with damage."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator.core.config.values import GatewayConfig, MailPolicy
from simulator.core.errors import CorruptEntry
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.inspection import inspect
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import (
    TDC_QUEUE,
    Direction,
    HeldMessage,
    QueueEntry,
    ReceivedMessage,
    next_ids,
)
from simulator.core.mail.processing import plan_message
from simulator.core.mail.retry import RetrySchedule
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.spool import DiskSpool
from simulator.gateway.stored import pack
from simulator.gateway.units import Encoded, Unit, decode_unit, encode_unit, materialise

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
DATA = b"Subject: hi\r\n\r\n\xc3\xa9 body\r\n"
ENTRY = QueueEntry(
    mid=3, sender="alice@outside.test", recipients=("bob@example.com", "carol@example.com"),
    rids=(0, 1), body=InMemoryBody(DATA), destination="example.com", schedule=RetrySchedule.starting(NOW),
)
OTHER = dataclasses.replace(ENTRY, recipients=("dave@example.net",), rids=(2,), destination="example.net")
COPY = dataclasses.replace(ENTRY, mid=4, recipients=("intake@td.test",), rids=(0,),
                           destination=TDC_QUEUE, original_mid=3,
                           body=InMemoryBody(b"journal of " + DATA))
RECEIVED = ReceivedMessage(3, 1, Direction.INCOMING, "192.0.2.1", "alice@outside.test",
                           ("bob@example.com", "carol@example.com", "spam@example.com"), b"raw\r\n")
HELD = HeldMessage(5, "Spam Quarantine", "DEFAULT", (2,), RECEIVED.envelope, InMemoryBody(RECEIVED.raw))


def failed_once(entry: QueueEntry, at: datetime = NOW) -> QueueEntry:
    """`entry` after one failed attempt at `at`."""
    return entry.moved_to(MessageState.DELIVERING).retried(entry.schedule.after_failure(at))


def decoded(encoded: Encoded) -> Unit:
    """A unit read back from the bytes it was encoded to (its bodies small: in memory)."""
    return decode_unit(encoded.stored, Path("3-0.unit"), DEFAULT_THRESHOLD)


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def test_a_unit_survives_encoding_byte_for_byte() -> None:
    entries = [ENTRY, OTHER, failed_once(COPY)]
    unit = decoded(encode_unit(entries, [HELD], releases=[9]))
    assert materialise(unit.contents, unit.blobs) == (entries, [HELD])
    assert unit.releases == (9,)
    assert len(unit.blobs) == 3  # the two originals share their bytes: stored once


def test_a_message_split_by_policy_stores_its_delivered_bytes_once() -> None:
    sales = MailPolicy("SALES", ("@sales.example.com",))
    config = GatewayConfig(incoming_policies=(sales, MailPolicy("DEFAULT")))
    message = dataclasses.replace(RECEIVED, rcpt_tos=("bob@sales.example.com", "carol@example.net"),
                                  raw=DATA)
    mids = iter(range(10, 20))
    plan = plan_message(message, inspect(DATA), config, lambda: next(mids), NOW)
    assert [entry.mid for entry in plan.entries] == [3, 10]  # split: one entry per splinter
    assert len(decoded(encode_unit(plan.entries, plan.held)).blobs) == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-3],                       # truncated message bytes
        lambda b: b[:-1] + b"X",                # a flipped byte
        lambda b: b"not json" + b[b.index(b"\n"):],
        lambda b: b.replace(b'"v":1', b'"v":9'),
        lambda b: b.replace(b'"mid":3,', b""),  # a missing field
        lambda b: b.replace(b'"blob":0', b'"blob":7'),  # bytes that are not there
        lambda b: b"",
    ],
)
def test_damage_is_detected(damage: Callable[[bytes], bytes]) -> None:
    with pytest.raises(CorruptEntry):
        decode_unit(damage(encode_unit([ENTRY, COPY], []).stored), Path("3-0.unit"), DEFAULT_THRESHOLD)


def test_one_message_is_one_file_and_loads_back_with_the_counters(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, OTHER, COPY])
    spool.write_counters({"icid": 2, "mid": 5, "dcid": 1})
    assert names(tmp_path / "queue") == ["3-0.unit"]
    loaded = DiskSpool(tmp_path).load()
    assert loaded.entries == [ENTRY, OTHER, COPY]
    assert loaded.counters == {"icid": 2, "mid": 5, "dcid": 1}
    assert loaded.corrupt == [] and names(tmp_path / "tmp") == []


def test_held_splinters_are_stored_with_the_entries_of_their_message(tmp_path: Path) -> None:
    asyncio.run(DiskSpool(tmp_path).store([ENTRY, COPY], [HELD]))
    assert names(tmp_path / "queue") == ["3-0.unit"]
    loaded = DiskSpool(tmp_path).load()
    assert (loaded.entries, loaded.held) == ([ENTRY, COPY], [HELD])


def test_a_held_mid_above_every_entry_is_never_given_again_after_a_crash(tmp_path: Path) -> None:
    asyncio.run(DiskSpool(tmp_path).store([ENTRY, COPY], [dataclasses.replace(HELD, mid=50)]))
    loaded = DiskSpool(tmp_path).load()  # no counters file, no mail log: as after a crash
    assert next_ids(loaded.counters, loaded.mids, "")["mid"] == 51


def test_replace_keeps_what_remains_and_removes_the_unit_when_nothing_does(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, COPY])
    remainder = failed_once(ENTRY.subset(["carol@example.com"]), NOW + timedelta(seconds=5))
    spool.replace(ENTRY, [remainder])
    assert sorted(DiskSpool(tmp_path).load().entries, key=lambda e: e.mid) == [remainder, COPY]
    spool.replace(COPY, [])
    assert DiskSpool(tmp_path).load().entries == [remainder]
    spool.replace(remainder, [])
    assert DiskSpool(tmp_path).load().entries == []
    assert names(tmp_path / "queue") == [] and names(tmp_path / "tmp") == []


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
    spool.save([ENTRY])
    spool.replace(ENTRY, [failed_once(ENTRY)])
    spool.save([COPY])
    loaded = {entry.mid: entry.state for entry in DiskSpool(tmp_path).load().entries}
    assert loaded == {ENTRY.mid: MessageState.DEFERRED, COPY.mid: MessageState.QUEUED}


def test_a_unit_never_takes_the_name_of_another(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY])
    spool.save([dataclasses.replace(ENTRY, body=InMemoryBody(b"another message"))])  # the same first key
    assert names(tmp_path / "queue") == ["3-0.1.unit", "3-0.unit"]
    loaded = DiskSpool(tmp_path).load().entries
    assert sorted(entry.body.read() for entry in loaded) == [DATA, b"another message"]


def test_a_release_is_one_unit_that_takes_the_splinter_out_of_its_quarantine(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    asyncio.run(spool.store([ENTRY], [HELD]))
    released = dataclasses.replace(ENTRY, mid=HELD.mid, recipients=HELD.recipients, rids=HELD.rids)
    asyncio.run(spool.store([released], releases=[HELD.mid]))
    loaded = DiskSpool(tmp_path).load()
    assert (loaded.entries, loaded.held) == ([ENTRY, released], [])


def test_a_release_whose_quarantine_was_not_updated_before_a_crash_is_caught_up(tmp_path: Path) -> None:
    asyncio.run(DiskSpool(tmp_path).store([], [HELD]))
    quarantine_unit = (tmp_path / "queue" / "held-5.unit").read_bytes()
    spool = DiskSpool(tmp_path)
    spool.load()
    released = dataclasses.replace(ENTRY, mid=HELD.mid, recipients=HELD.recipients, rids=HELD.rids)
    asyncio.run(spool.store([released], releases=[HELD.mid]))
    (tmp_path / "queue" / "held-5.unit").write_bytes(quarantine_unit)  # as if the crash came between
    assert DiskSpool(tmp_path).load().held == []
    assert names(tmp_path / "queue") == ["5-2.unit"]  # and the quarantine's unit is gone for good
    assert DiskSpool(tmp_path).load().held == []


def test_corrupt_units_are_moved_aside_intact_and_never_overwritten(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, OTHER])
    spool.save([COPY])
    broken = tmp_path / "queue" / "4-0.unit"
    for attempt in (b"garbage one", b"garbage two"):
        broken.write_bytes(attempt)
        loaded = DiskSpool(tmp_path).load()
        assert loaded.entries == [ENTRY, OTHER]
        (moved, reason), = loaded.corrupt
        assert moved.read_bytes() == attempt and reason
    assert names(tmp_path / "corrupt") == ["4-0.unit", "4-0.unit.1"]


def test_a_damaged_state_file_is_moved_aside_and_the_whole_unit_queued_again(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    spool.save([ENTRY, COPY])
    spool.replace(ENTRY, [])
    (tmp_path / "queue" / "3-0.state").write_bytes(pack({"entries": [{"mid": 3}], "held": []}, b""))
    loaded = DiskSpool(tmp_path).load()
    assert loaded.entries == [ENTRY, COPY]  # twice rather than never
    (moved, reason), = loaded.corrupt
    assert moved == tmp_path / "corrupt" / "3-0.state" and "queued again" in reason


def test_entry_files_of_an_earlier_version_are_adopted(tmp_path: Path) -> None:
    (tmp_path / "queue").mkdir()
    old = {"mid": 4, "sender": COPY.sender, "recipients": ["intake@td.test"], "rids": [0],
           "destination": TDC_QUEUE, "original_mid": 3, "queued_at": NOW.isoformat(),
           "next_attempt": NOW.isoformat(), "failures": 0}
    (tmp_path / "queue" / "4-0.entry").write_bytes(pack(old, COPY.body.read()))
    assert DiskSpool(tmp_path).load().entries == [COPY]
    assert names(tmp_path / "queue") == ["4-0.unit"]


class FailingAt:
    """Makes the `nth` call of `os.<name>` raise ENOSPC, as a full disk would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, nth: int) -> None:
        self.real: Callable[..., Any] = getattr(os, name)
        self.calls, self.nth = 0, nth
        monkeypatch.setattr(os, name, self)  # the module stored.py calls

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.calls == self.nth:
            raise OSError(28, "No space left on device")
        return self.real(*args)


@pytest.mark.parametrize(("call", "nth"), [("fsync", 1), ("link", 1), ("fsync", 2)],
                         ids=["file flush", "link into queue", "queue folder flush"])
def test_a_unit_that_cannot_be_stored_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, nth: int
) -> None:
    """Whichever step of the write fails (the original's, the copy's, or making them visible),
    nothing of the message is in `queue/` and nothing comes back at a restart."""
    spool = DiskSpool(tmp_path)
    failing = FailingAt(monkeypatch, call, nth)
    with pytest.raises(OSError, match="No space"):
        asyncio.run(spool.store([ENTRY, COPY], [HELD]))
    assert failing.calls == nth
    monkeypatch.undo()
    assert names(tmp_path / "queue") == [] and names(tmp_path / "tmp") == []
    loaded = DiskSpool(tmp_path).load()
    assert (loaded.entries, loaded.held, loaded.corrupt) == ([], [], [])


def test_a_spool_that_cannot_be_written_raises_oserror(tmp_path: Path) -> None:
    (tmp_path / "queue").write_text("a file where the queue folder should be")
    with pytest.raises(OSError):
        DiskSpool(tmp_path).save([ENTRY])
