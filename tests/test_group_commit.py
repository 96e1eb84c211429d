"""Group commit of spool flushes, with no sockets and no timing: the stores that wait while a flush
runs share the next one (fewer flushes than stores), each store returns (its message answered 250)
only after the flush that covers it, and a flush that fails fails exactly the stores it covered."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulator.core import replies
from simulator.core.clock import ManualClock
from simulator.core.config.values import ConfigHolder, ConnectorSettings, GatewayConfig
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.messages import TDC_QUEUE, Direction, IdCounters, QueueEntry, ReceivedMessage
from simulator.core.mail.retry import RetrySchedule
from simulator.core.replies import Reply
from simulator.gateway import spool as spool_module
from simulator.gateway import units
from simulator.gateway.group_commit import GroupCommit
from simulator.gateway.maillog import MailLog
from simulator.gateway.pipeline import Pipeline
from simulator.gateway.quarantine import Quarantines
from simulator.gateway.spool import DiskSpool, Stored
from simulator.gateway.units import Contents

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)


def message(mid: int) -> list[QueueEntry]:
    """One message's entries: its original and its journal copy (MIDs `mid` and `mid + 1`)."""
    original = QueueEntry(mid=mid, sender="alice@outside.test", recipients=("bob@example.com",),
                          rids=(0,), body=InMemoryBody(f"message {mid}\r\n".encode()),
                          destination="example.com", schedule=RetrySchedule.starting(NOW))
    copy = dataclasses.replace(original, mid=mid + 1, recipients=("intake@td.test",),
                               destination=TDC_QUEUE, original_mid=mid,
                               body=InMemoryBody(f"journal of {mid}\r\n".encode()))
    return [original, copy]


class GatedFlush:
    """A flush that waits for its gate, tells what it covered, and fails when told to."""

    def __init__(self) -> None:
        self.covered: list[list[int]] = []
        self.gates: list[asyncio.Event] = []
        self.events: list[str] = []  # in order: flush <n> done, store <item> answered
        self.fail: set[int] = set()  # numbers of the flushes that raise

    async def __call__(self, items: Sequence[int]) -> int:
        number = len(self.covered)
        self.covered.append(list(items))
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        self.events.append(f"flush {number} done")
        if number in self.fail:
            raise OSError(28, "No space left on device")
        return number


async def store(commit: GroupCommit[int, int], flush: GatedFlush, item: int) -> int:
    number = await commit.commit(item)
    flush.events.append(f"store {item} answered")
    return number


async def open_gate(flush: GatedFlush, number: int) -> None:
    """Wait until flush `number` runs, then let it finish."""
    while len(flush.gates) <= number:
        await asyncio.sleep(0)
    flush.gates[number].set()


def test_stores_arriving_during_a_flush_share_the_next_one_and_each_is_answered_after_it() -> None:
    async def scenario() -> tuple[GatedFlush, list[int], int]:
        flush = GatedFlush()
        commit: GroupCommit[int, int] = GroupCommit(flush)
        first = asyncio.create_task(store(commit, flush, 0))
        while not flush.gates:  # flush 0 runs, covering the first store only
            await asyncio.sleep(0)
        later = [asyncio.create_task(store(commit, flush, item)) for item in range(1, 6)]
        await open_gate(flush, 0)
        await open_gate(flush, 1)
        return flush, await asyncio.gather(first, *later), commit.flushes

    flush, numbers, flushes = asyncio.run(scenario())
    assert flush.covered == [[0], [1, 2, 3, 4, 5]]
    assert flushes == 2 < 6
    assert numbers == [0, 1, 1, 1, 1, 1]
    assert flush.events[:2] == ["flush 0 done", "store 0 answered"]
    assert flush.events[2] == "flush 1 done"
    assert sorted(flush.events[3:]) == [f"store {item} answered" for item in range(1, 6)]


def test_a_failed_flush_fails_exactly_the_stores_it_covered() -> None:
    async def scenario() -> tuple[GatedFlush, list[int | BaseException]]:
        flush = GatedFlush()
        flush.fail = {1}
        commit: GroupCommit[int, int] = GroupCommit(flush)
        first = asyncio.create_task(store(commit, flush, 0))
        while not flush.gates:
            await asyncio.sleep(0)
        failing = [asyncio.create_task(store(commit, flush, item)) for item in (1, 2, 3)]
        await open_gate(flush, 0)
        while len(flush.gates) < 2:  # flush 1 (of stores 1-3) runs; store 4 waits for the next
            await asyncio.sleep(0)
        after = asyncio.create_task(store(commit, flush, 4))
        await open_gate(flush, 1)
        await open_gate(flush, 2)
        return flush, await asyncio.gather(first, *failing, after, return_exceptions=True)

    flush, outcomes = asyncio.run(scenario())
    assert flush.covered == [[0], [1, 2, 3], [4]]
    assert outcomes[0] == 0 and outcomes[4] == 2
    assert all(isinstance(outcome, OSError) for outcome in outcomes[1:4])
    assert "store 1 answered" not in flush.events


class CountedFlushes:
    """The spool's file layer, watched: every fsync is counted, and the `fail`-th raises ENOSPC."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail: int = 0) -> None:
        self.real, self.calls, self.fail = os.fsync, 0, fail
        self.events: list[str] = []
        monkeypatch.setattr(os, "fsync", self)

    def __call__(self, descriptor: int) -> None:
        self.calls += 1
        if self.calls == self.fail:
            raise OSError(28, "No space left on device (injected)")
        self.real(descriptor)
        self.events.append(f"fsync {self.calls}")


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


async def stores(
    spool: DiskSpool, flushes: CountedFlushes, mids: Sequence[int]
) -> list[Stored | BaseException]:
    """`spool.store` of each message at once, as concurrent connections' DATA would."""
    async def one(mid: int) -> Stored:
        kept = await spool.store(message(mid))
        flushes.events.append(f"stored {mid}")
        return kept
    return await asyncio.gather(*(one(mid) for mid in mids), return_exceptions=True)


def test_concurrent_stores_are_one_unit_under_one_pair_of_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = DiskSpool(tmp_path)
    flushes = CountedFlushes(monkeypatch)
    mids = [10, 20, 30, 40, 50]
    outcomes = asyncio.run(stores(spool, flushes, mids))
    assert flushes.calls == 2 < len(mids)  # the unit file and the queue folder, once for all five
    assert spool.group.flushes == 1
    assert flushes.events[:2] == ["fsync 1", "fsync 2"]  # every store returned after both
    assert sorted(flushes.events[2:]) == [f"stored {mid}" for mid in mids]
    assert [[entry.mid for entry in kept.entries] for kept in outcomes if isinstance(kept, Stored)] == [
        [mid, mid + 1] for mid in mids]
    assert names(tmp_path / "queue") == ["10-0.unit"]
    monkeypatch.undo()
    assert sorted(entry.mid for entry in DiskSpool(tmp_path).load().entries) == sorted(
        mid + copy for mid in mids for copy in (0, 1))


def test_a_shared_unit_goes_once_every_message_in_it_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = DiskSpool(tmp_path)
    outcomes = asyncio.run(stores(spool, CountedFlushes(monkeypatch), [10, 20]))
    first, second = [kept.entries for kept in outcomes if isinstance(kept, Stored)]
    for entry in first:
        spool.replace(entry, [])  # no event loop here: the file work is done at once
    assert sorted(entry.mid for entry in DiskSpool(tmp_path).load().entries) == [20, 21]
    assert names(tmp_path / "queue") == ["10-0.state", "10-0.unit"]
    for entry in second:
        spool.replace(entry, [])
    assert names(tmp_path / "queue") == []


def test_on_an_event_loop_the_file_work_is_handed_off_in_order_and_a_clean_stop_waits_for_it(
    tmp_path: Path,
) -> None:
    spool = DiskSpool(tmp_path)
    removed_on: list[str] = []
    remove_unit = spool._remove_unit

    def removing(name: str) -> None:
        removed_on.append(threading.current_thread().name)
        remove_unit(name)

    spool._remove_unit = removing  # type: ignore[method-assign]

    async def scenario() -> None:
        for entry in (await spool.store(message(10))).entries:
            spool.replace(entry, [])  # the state written, then the unit removed: in that order
        spool.write_counters({"mid": 12})

    asyncio.run(scenario())
    assert names(tmp_path / "queue") == []
    assert removed_on != [threading.current_thread().name] and len(removed_on) == 1


def test_a_busy_unit_s_state_is_encoded_once_per_turn_from_what_remains_when_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = DiskSpool(tmp_path)
    encoded: list[list[str]] = []

    def encode_state(contents: Contents) -> bytes:
        encoded.append(sorted(contents.entries))
        return units.encode_state(contents)

    monkeypatch.setattr(spool_module, "encode_state", encode_state)

    async def scenario() -> None:
        first, second = [kept.entries for kept in await asyncio.gather(
            spool.store(message(10)), spool.store(message(20)))]
        for entry in [*first, second[0]]:  # three of the unit's four entries done in one turn
            spool.replace(entry, [])
        await spool.settled()

    asyncio.run(scenario())
    assert encoded == [["21-0"]]  # once, when written, not once per finished entry
    assert [entry.mid for entry in DiskSpool(tmp_path).load().entries] == [21]


def test_a_unit_done_before_its_state_is_written_goes_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = DiskSpool(tmp_path)
    unlinked: list[str] = []
    real_unlink = Path.unlink

    def unlink(path: Path, missing_ok: bool = False) -> None:
        unlinked.append(path.name)
        real_unlink(path, missing_ok=missing_ok)

    async def scenario() -> None:
        entries = (await spool.store(message(10))).entries
        monkeypatch.setattr(Path, "unlink", unlink)
        for entry in entries:
            spool.replace(entry, [])
        await spool.settled()

    asyncio.run(scenario())
    assert names(tmp_path / "queue") == [] and unlinked == ["10-0.unit"]  # no state file to look for


def test_a_failed_state_write_off_the_loop_is_told_on_the_loop(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path)
    told: list[tuple[Exception, bool]] = []

    async def scenario() -> None:
        entries = (await spool.store(message(10))).entries
        (tmp_path / "tmp").rmdir()  # where the state file is staged: gone
        loop = asyncio.get_running_loop()
        spool.replace(entries[0], [], lambda error: told.append((error, asyncio.get_running_loop() is loop)))
        await spool._later.settled()
        await asyncio.sleep(0)  # the call the thread scheduled on the loop

    asyncio.run(scenario())
    ((error, on_the_loop),) = told
    assert isinstance(error, OSError) and on_the_loop


def test_an_fsync_error_fails_every_store_of_its_group_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = DiskSpool(tmp_path)
    flushes = CountedFlushes(monkeypatch, fail=2)  # the queue folder's flush
    outcomes = asyncio.run(stores(spool, flushes, [10, 20, 30]))
    assert all(isinstance(outcome, OSError) for outcome in outcomes)
    assert [event for event in flushes.events if event.startswith("stored")] == []
    assert names(tmp_path / "queue") == [] and names(tmp_path / "tmp") == []
    after = asyncio.run(stores(spool, flushes, [40]))  # the next group is stored as usual
    assert [entry.mid for kept in after if isinstance(kept, Stored) for entry in kept.entries] == [40, 41]
    monkeypatch.undo()
    assert sorted(entry.mid for entry in DiskSpool(tmp_path).load().entries) == [40, 41]


def pipeline(spool: DiskSpool, queued: list[QueueEntry]) -> tuple[Pipeline, MailLog]:
    """The gateway's pipeline on `spool` (the connector on: each message is an original and a copy)."""
    config = GatewayConfig(connector=ConnectorSettings(enabled=True, intake_address="intake@td.test"))
    log, clock = MailLog(ManualClock()), ManualClock()
    return Pipeline(ConfigHolder(config), log, IdCounters(mid=100), spool, queued.append, clock,
                    Quarantines()), log


def received(mid: int) -> ReceivedMessage:
    raw = f"Subject: {mid}\r\nMessage-ID: <{mid}@x>\r\n\r\nhi\r\n".encode()
    return ReceivedMessage(mid, 1, Direction.INCOMING, "192.0.2.1", "alice@outside.test",
                           ("bob@example.com",), raw)


def test_messages_accepted_together_share_a_flush_and_each_is_answered_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushes, queued = CountedFlushes(monkeypatch), list[QueueEntry]()
    gateway, log = pipeline(DiskSpool(tmp_path), queued)

    async def accept(mid: int) -> Reply:
        reply = await gateway.accept(received(mid))
        flushes.events.append(f"answered {mid} {reply.code}")
        return reply

    async def together() -> list[Reply]:
        return await asyncio.gather(*(accept(mid) for mid in (1, 2, 3)))

    assert [reply.code for reply in asyncio.run(together())] == [250, 250, 250]
    assert flushes.calls == 2 and flushes.events[:2] == ["fsync 1", "fsync 2"]
    assert sorted(flushes.events[2:]) == [f"answered {mid} 250" for mid in (1, 2, 3)]
    assert len(queued) == 6 and len(log.matching(r"queued for delivery$")) == 3


def test_a_failed_flush_answers_each_message_it_covered_451_and_keeps_nothing_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CountedFlushes(monkeypatch, fail=1)
    queued: list[QueueEntry] = []
    gateway, log = pipeline(DiskSpool(tmp_path), queued)

    async def together() -> list[Reply]:
        return await asyncio.gather(*(gateway.accept(received(mid)) for mid in (1, 2, 3)))

    assert asyncio.run(together()) == [replies.CANNOT_STORE] * 3
    assert queued == [] and log.matching("queued for delivery") == []
    assert len(log.matching(r"could not be stored, answered 451")) == 3
    assert names(tmp_path / "queue") == [] and names(tmp_path / "tmp") == []
