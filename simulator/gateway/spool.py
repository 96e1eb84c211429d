"""The durable spool: every queue entry on disk, flushed, before the listener answers 250.

Design rule: one message, one unit (see `units.py`): everything one accepted message leaves in the
gateway's keeping is one file, `queue/<first entry key>.unit`, written to `tmp/`, flushed (fsync)
and only then linked into `queue/`, so all of it becomes visible at once or none of it does; a
write that fails removes what it staged. Later changes (an entry delivered or deferred, a splinter
released) rewrite the unit's small `<unit>.state`; the unit goes when nothing of it is left. A file
that cannot be read at start-up is moved to `corrupt/`, never deleted. What a write or a start-up
gives back to be queued and held carries its bodies as placed in the unit file (`bodies.py`): those
larger than the threshold are references to the file, read when needed, not bytes in memory.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from simulator.core.mail.body import Body
from simulator.core.mail.messages import HeldMessage, QueueEntry
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.spool_files import SpoolFolders
from simulator.gateway.stored import link_new, sync_folder, write_file, write_staged
from simulator.gateway.units import Contents, encode_state, encode_unit, entry_header


@dataclass
class Loaded:
    """What a spool held at start-up."""

    entries: list[QueueEntry] = field(default_factory=list)
    held: list[HeldMessage] = field(default_factory=list)
    corrupt: list[tuple[Path, str]] = field(default_factory=list)  # where it was moved, and why
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def mids(self) -> list[int]:
        """Every MID still in the spool's keeping: its queue entries' and held splinters'."""
        return [entry.mid for entry in self.entries] + [each.mid for each in self.held]


@dataclass(frozen=True)
class Stored:
    """Entries and held splinters as stored: what to queue and hold (their bodies as kept)."""

    entries: list[QueueEntry]
    held: list[HeldMessage]


class Spool(Protocol):
    """Keeps queue entries and held splinters until they are delivered, bounced or released."""

    def save(self, entries: Sequence[QueueEntry]) -> list[QueueEntry]: ...

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> Stored: ...

    def write_counters(self, counters: dict[str, int]) -> None: ...

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None: ...

    def load(self) -> Loaded: ...


class MemorySpool:
    """No durability (no data dir): the in-memory queue entries are the only copy."""

    def save(self, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
        """Nothing to write: the entries, bytes in memory."""
        return list(entries)

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> Stored:
        """Nothing to write: the entries and splinters, bytes in memory."""
        return Stored(list(entries), list(held))

    def write_counters(self, counters: dict[str, int]) -> None:
        """Nothing to write."""

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None:
        """Nothing to write."""

    def load(self) -> Loaded:
        return Loaded()


class DiskSpool:
    """Units under `folder/queue`, written through `folder/tmp`; bodies larger than `threshold`
    bytes are read from their unit when needed, not held in memory."""

    def __init__(self, folder: Path, threshold: int = DEFAULT_THRESHOLD) -> None:
        self.files = SpoolFolders(folder, threshold)  # it keeps the threshold
        self.queue, self.tmp = self.files.queue, self.files.tmp
        self._units: dict[str, Contents] = {}  # what remains of each stored unit, by its name
        self._unit_of: dict[str, str] = {}  # entry key -> its unit
        self._holding: dict[int, str] = {}  # held splinter's MID -> its unit
        self._staging = itertools.count()

    def save(self, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
        """Store `entries` as one unit, flushed (OSError, and nothing left, if the disk refuses);
        returns them as stored."""
        if not entries:
            return []
        return self._kept(*self._commit(entries, (), ()), entries, ()).entries

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> Stored:
        """`save` of one message's entries and held splinters (and the held MIDs it releases),
        off the event loop: messages arriving together are flushed side by side."""
        stored = Stored([], [])
        if entries or held:
            committed = await asyncio.to_thread(self._commit, entries, held, releases)
            stored = self._kept(*committed, entries, held)
        with suppress(OSError):  # the stored unit says what it releases: a restart catches up
            self._release(releases)
        return stored

    def _kept(self, name: str, contents: Contents, bodies: list[Body], entries: Sequence[QueueEntry],
              held: Sequence[HeldMessage]) -> Stored:
        """Unit `name` registered; its entries and splinters with the bodies it keeps."""
        self._register(name, contents)
        return Stored(
            [replace(entry, body=bodies[contents.entries[entry.key]["blob"]]) for entry in entries],
            [replace(each, body=bodies[contents.held[each.mid]["blob"]]) for each in held])

    def _commit(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage],
                releases: Sequence[int]) -> tuple[str, Contents, list[Body]]:
        encoded = encode_unit(entries, held, releases)
        stored, contents = encoded.stored, encoded.contents
        stem = next(iter(contents.entries), None) or f"held-{next(iter(contents.held))}"
        for folder in (self.queue, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        staged = self.tmp / f"{stem}.{next(self._staging)}.unit"
        try:
            write_staged(staged, stored)
            final = link_new(staged, self.queue, stem, ".unit")
            try:
                sync_folder(self.queue)
            except OSError:
                final.unlink(missing_ok=True)  # a 451 must leave nothing behind
                raise
        finally:
            with suppress(OSError):
                staged.unlink(missing_ok=True)
        return final.name.removesuffix(".unit"), contents, encoded.bodies(final, self.files.threshold)

    def _register(self, name: str, contents: Contents) -> None:
        self._units[name] = contents
        self._unit_of.update(dict.fromkeys(contents.entries, name))
        self._holding.update(dict.fromkeys(contents.held, name))

    def _release(self, mids: Iterable[int]) -> None:
        """Held splinters released (their entries are stored in a unit of their own)."""
        for mid in mids:
            if (name := self._holding.pop(mid, None)) is not None:
                del self._units[name].held[mid]
                self._write_state(name, flush=True)  # rare; a lost state would hold it again

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None:
        """`finished` is done; what remains of it (deferred recipients) is `successors`."""
        if (name := self._unit_of.pop(finished.key, None)) is None:
            return
        contents = self._units[name]
        blob = contents.entries.pop(finished.key)["blob"]  # successors are parts of it: same bytes
        for entry in successors:
            contents.entries[entry.key] = entry_header(entry, blob)
            self._unit_of[entry.key] = name
        self._write_state(name, flush=False)  # losing a new schedule only means an earlier retry

    def _write_state(self, name: str, flush: bool) -> None:
        """Keep what remains of unit `name`; remove the unit once nothing does (unit file first:
        a state file without its unit is ignored, a unit without its state would start over)."""
        contents = self._units[name]
        if contents.done:
            del self._units[name]
            (self.queue / f"{name}.unit").unlink(missing_ok=True)
            (self.queue / f"{name}.state").unlink(missing_ok=True)
        else:
            state = f"{name}.state"
            write_file(self.tmp / state, self.queue / state, encode_state(contents), flush)

    def write_counters(self, counters: dict[str, int]) -> None:
        """The next IDs at a clean stop (after a crash the spool and the mail log tell them)."""
        self.files.write_counters(counters)

    def load(self) -> Loaded:
        """What every committed unit still holds (see `spool_files.py` for what is moved aside)."""
        for registry in (self._units, self._unit_of, self._holding):
            registry.clear()
        loaded = Loaded(counters=self.files.load_counters())
        for path, entry in self.files.entry_files(loaded.corrupt):
            self._commit([entry], (), ())
            path.unlink()
        units = self.files.read_units(loaded.corrupt)
        released = {mid for unit in units.values() for mid in unit.releases}
        for name, unit in units.items():
            self._register(name, unit.contents)
            loaded.entries.extend(unit.entries)  # materialised (so checked) when read
            loaded.held.extend(each for each in unit.held if each.mid not in released)
        with suppress(OSError):  # tidying only: the units on disk still say the same next time
            self._release(released)
            for name in [name for name, contents in self._units.items() if contents.done]:
                self._write_state(name, flush=False)
            self.files.sweep(live=self._units)
        return loaded
