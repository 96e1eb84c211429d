"""The durable spool: every queue entry on disk, flushed, before the listener answers 250.

Design rule: one file per queue entry, `<MID>-<first RID>.entry`: a JSON header line, then the
message bytes. Writes go to `tmp/`, are flushed (fsync) and renamed into `queue/`, so a file in
`queue/` is always whole. A finished entry's file is removed only after its successors (a deferred
remainder) are written. A file that cannot be read at start-up is moved to `corrupt/`, never deleted.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from simulator.core.errors import CorruptEntry
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import QueueEntry
from simulator.core.mail.retry import RetrySchedule
from simulator.gateway.stored import pack, unpack, write_file


@dataclass
class Loaded:
    """What a spool held at start-up."""

    entries: list[QueueEntry] = field(default_factory=list)
    corrupt: list[tuple[Path, str]] = field(default_factory=list)  # where it was moved, and why
    counters: dict[str, int] = field(default_factory=dict)


class Spool(Protocol):
    """Keeps queue entries until they are delivered or bounced."""

    def save(self, entries: Sequence[QueueEntry]) -> None: ...

    async def store(self, entries: Sequence[QueueEntry]) -> None: ...

    def write_counters(self, counters: dict[str, int]) -> None: ...

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None: ...

    def load(self) -> Loaded: ...


class MemorySpool:
    """No durability (no data dir): the in-memory queue entries are the only copy."""

    def save(self, entries: Sequence[QueueEntry]) -> None:
        """Nothing to write."""

    async def store(self, entries: Sequence[QueueEntry]) -> None:
        """Nothing to write."""

    def write_counters(self, counters: dict[str, int]) -> None:
        """Nothing to write."""

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None:
        """Nothing to write."""

    def load(self) -> Loaded:
        return Loaded()


def encode(entry: QueueEntry) -> bytes:
    """An entry as it is stored (see `stored.py`)."""
    return pack({
        "mid": entry.mid, "sender": entry.sender,
        "recipients": list(entry.recipients), "rids": list(entry.rids),
        "destination": entry.destination, "original_mid": entry.original_mid,
        "queued_at": entry.schedule.queued_at.isoformat(),
        "next_attempt": entry.schedule.next_attempt.isoformat(),
        "failures": entry.schedule.failures,
    }, entry.data)


def decode(stored: bytes) -> QueueEntry:
    """The entry a stored file holds; raises `CorruptEntry` saying what is wrong."""
    header, data = unpack(stored)
    try:
        schedule = RetrySchedule(datetime.fromisoformat(header["queued_at"]),
                                 datetime.fromisoformat(header["next_attempt"]), header["failures"])
        return QueueEntry(
            mid=header["mid"], sender=header["sender"], recipients=tuple(header["recipients"]),
            rids=tuple(header["rids"]), data=data, destination=header["destination"],
            schedule=schedule, original_mid=header["original_mid"],
            state=MessageState.DEFERRED if header["failures"] else MessageState.QUEUED,
        )
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptEntry(str(error) or type(error).__name__) from error


class DiskSpool:
    """Queue entries under `folder/queue`, written through `folder/tmp`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.queue, self.tmp, self.corrupt = folder / "queue", folder / "tmp", folder / "corrupt"
        self.counters_file = folder / "counters.json"
        self._folders_made = False

    def _ensure_folders(self) -> None:
        if not self._folders_made:
            for path in (self.queue, self.tmp):
                path.mkdir(parents=True, exist_ok=True)
            self._folders_made = True

    def _write(self, entry: QueueEntry, flush: bool) -> None:
        name = f"{entry.key}.entry"
        write_file(self.tmp / name, self.queue / name, encode(entry), flush)

    def _sync_queue_folder(self) -> None:
        descriptor = os.open(self.queue, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def save(self, entries: Sequence[QueueEntry]) -> None:
        """Write and flush `entries` (raises OSError if the disk refuses)."""
        self._ensure_folders()
        self._flush_entries(entries)

    async def store(self, entries: Sequence[QueueEntry]) -> None:
        """`save` without holding up the event loop: the flushes run in a worker thread, so
        messages arriving together are flushed side by side (the file system groups the commits)."""
        self._ensure_folders()
        await asyncio.to_thread(self._flush_entries, entries)

    def _flush_entries(self, entries: Sequence[QueueEntry]) -> None:
        for entry in entries:
            self._write(entry, flush=True)
        self._sync_queue_folder()

    def write_counters(self, counters: dict[str, int]) -> None:
        """The next IDs at a clean stop (after a crash the spool and the mail log tell them)."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        staged = self.tmp / "counters.json"
        staged.write_text(json.dumps(counters))
        os.replace(staged, self.counters_file)

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None:
        """`finished` is done; what remains of it (deferred recipients) is `successors`."""
        for entry in successors:
            self._write(entry, flush=False)  # losing a new schedule only means an earlier retry
        if finished.key not in {entry.key for entry in successors}:
            (self.queue / f"{finished.key}.entry").unlink(missing_ok=True)

    def load(self) -> Loaded:
        """Every stored entry; unreadable ones are moved to `corrupt/` and reported."""
        loaded = Loaded(counters=self._load_counters())
        for path in sorted(self.queue.glob("*.entry")) if self.queue.is_dir() else []:
            try:
                loaded.entries.append(decode(path.read_bytes()))
            except CorruptEntry as error:
                loaded.corrupt.append((self._move_aside(path), str(error)))
        return loaded

    def _move_aside(self, path: Path) -> Path:
        """Move `path` into `corrupt/` under a name no earlier corrupt file has."""
        self.corrupt.mkdir(parents=True, exist_ok=True)
        target, number = self.corrupt / path.name, 0
        while target.exists():
            number += 1
            target = self.corrupt / f"{path.name}.{number}"
        return path.rename(target)

    def _load_counters(self) -> dict[str, int]:
        try:
            stored = json.loads(self.counters_file.read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in stored.items() if isinstance(v, int)} if isinstance(stored, dict) else {}
