"""Message bodies: small ones in memory, large ones a reference into their spool unit, read back
byte for byte; a reference whose file is gone, cut short or changed says so (`UnreadableBody`)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.messages import TDC_QUEUE, Direction, HeldMessage, QueueEntry, ReceivedMessage
from simulator.core.mail.retry import RetrySchedule
from simulator.gateway.bodies import SpooledBody, UnreadableBody, place, read_body
from simulator.gateway.spool import DiskSpool, MemorySpool

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
THRESHOLD = 1024


def payload(size: int, seed: int = 9) -> bytes:
    """`size` seeded bytes of every value (CR, LF, NUL, 8-bit): the spool must not care."""
    return random.Random(seed).randbytes(size)


LARGE = payload(50_000)
SMALL = b"Subject: small\r\n\r\nbody\r\n"
ORIGINAL = QueueEntry(mid=3, sender="alice@outside.test", recipients=("bob@example.com",), rids=(0,),
                      body=InMemoryBody(LARGE), destination="example.com",
                      schedule=RetrySchedule.starting(NOW))
COPY = dataclasses.replace(ORIGINAL, mid=4, recipients=("intake@td.test",), destination=TDC_QUEUE,
                           original_mid=3, body=InMemoryBody(b"journal of " + LARGE))
TINY = dataclasses.replace(ORIGINAL, mid=5, body=InMemoryBody(SMALL))
RECEIVED = ReceivedMessage(6, 1, Direction.INCOMING, "192.0.2.1", "alice@outside.test",
                           ("carol@example.com",), payload(20_000, seed=6))
HELD = HeldMessage(6, "Spam Quarantine", "DEFAULT", (0,), RECEIVED.envelope, InMemoryBody(RECEIVED.raw))


def test_a_body_in_memory_reads_its_bytes_and_its_head() -> None:
    body = InMemoryBody(SMALL)
    assert (body.read(), body.head(7), body.head(10_000), body.size) == (SMALL, b"Subject", SMALL, len(SMALL))


def test_place_keeps_small_blobs_in_memory_and_refers_to_large_ones(tmp_path: Path) -> None:
    stored = b"header\n" + SMALL + LARGE
    path = tmp_path / "3-0.unit"
    path.write_bytes(stored)
    small, large = place(stored, 7, [len(SMALL), len(LARGE)], path, THRESHOLD)
    assert small == InMemoryBody(SMALL)
    assert isinstance(large, SpooledBody)
    assert (large.path, large.offset, large.size) == (path, 7 + len(SMALL), len(LARGE))
    assert large.read() == LARGE and large.head(100) == LARGE[:100]
    assert len(repr(large)) < 300  # a reference: the bytes are not in it


def test_the_spool_gives_back_large_bodies_as_references_and_small_ones_in_memory(tmp_path: Path) -> None:
    spool = DiskSpool(tmp_path, THRESHOLD)
    stored = asyncio.run(spool.store([ORIGINAL, COPY, TINY], [HELD]))
    original, copy, tiny = stored.entries
    (held,) = stored.held
    for kept, sent in ((original, ORIGINAL), (copy, COPY), (held, HELD)):
        assert isinstance(kept.body, SpooledBody) and kept.body.read() == sent.body.read()
        assert kept.body.path == tmp_path / "queue" / "3-0.unit"
    assert tiny.body == InMemoryBody(SMALL)
    assert dataclasses.replace(original, body=ORIGINAL.body) == ORIGINAL  # nothing else changed


def test_a_restart_reads_large_bodies_back_as_references(tmp_path: Path) -> None:
    asyncio.run(DiskSpool(tmp_path, THRESHOLD).store([ORIGINAL, COPY, TINY], [HELD]))
    loaded = DiskSpool(tmp_path, THRESHOLD).load()
    assert [type(entry.body) for entry in loaded.entries] == [SpooledBody, SpooledBody, InMemoryBody]
    assert [entry.body.read() for entry in loaded.entries] == [LARGE, b"journal of " + LARGE, SMALL]
    (held,) = loaded.held
    assert isinstance(held.body, SpooledBody) and held.body.read() == RECEIVED.raw
    assert held.received(held.body.read()) == RECEIVED


def test_a_dsn_saved_is_given_back_as_stored(tmp_path: Path) -> None:
    (saved,) = DiskSpool(tmp_path, THRESHOLD).save([ORIGINAL])
    assert isinstance(saved.body, SpooledBody) and saved.body.read() == LARGE


def test_without_a_data_dir_every_body_stays_in_memory() -> None:
    stored = asyncio.run(MemorySpool().store([ORIGINAL, TINY], [HELD]))
    assert (stored.entries, stored.held) == ([ORIGINAL, TINY], [HELD])
    assert MemorySpool().save([COPY]) == [COPY]


def cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10])


def changed(path: Path) -> None:
    stored = bytearray(path.read_bytes())
    stored[-100] ^= 0xFF
    path.write_bytes(bytes(stored))


@pytest.mark.parametrize(("damage", "says"), [
    (Path.unlink, "cannot be read: No such file or directory"),
    (cut_short, "cut short"),
    (changed, "changed since they were stored"),
], ids=["removed", "cut short", "changed"])
def test_a_reference_that_cannot_be_read_whole_says_why(
    tmp_path: Path, damage: Callable[[Path], None], says: str
) -> None:
    (entry,) = DiskSpool(tmp_path, THRESHOLD).save([ORIGINAL])
    assert isinstance(entry.body, SpooledBody)
    damage(entry.body.path)
    with pytest.raises(UnreadableBody, match=says) as raised:
        entry.body.read()
    assert str(entry.body.path) in str(raised.value)


def test_a_head_of_a_removed_file_cannot_be_read_either(tmp_path: Path) -> None:
    (entry,) = DiskSpool(tmp_path, THRESHOLD).save([ORIGINAL])
    assert isinstance(entry.body, SpooledBody)
    entry.body.path.unlink()
    with pytest.raises(UnreadableBody, match="No such file"):
        entry.body.head(100)


def test_a_reference_is_read_off_the_event_loop(tmp_path: Path) -> None:
    (entry,) = DiskSpool(tmp_path, THRESHOLD).save([ORIGINAL])
    readers: list[str] = []
    real_read = SpooledBody.read

    def watched(body: SpooledBody) -> bytes:
        readers.append(threading.current_thread().name)
        return real_read(body)

    async def both() -> tuple[bytes, bytes]:
        return await read_body(entry.body), await read_body(InMemoryBody(SMALL))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SpooledBody, "read", watched)
        assert asyncio.run(both()) == (LARGE, SMALL)
    assert len(readers) == 1 and readers[0] != threading.main_thread().name
