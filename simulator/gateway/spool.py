"""The durable spool: every queue entry on disk, flushed, before the listener answers 250.

Design rule: one message, one unit (see `units.py`): everything one accepted message leaves in the
gateway's keeping is one file, `queue/<first entry key>.unit`, written to `tmp/`, flushed (fsync)
and only then linked into `queue/`, so all of it becomes visible at once or none of it does; a
write that fails removes what it staged. Later changes (an entry delivered or deferred, a splinter
released) rewrite the unit's small `<unit>.state`; the unit goes when nothing of it is left. A file
that cannot be read at start-up is moved to `corrupt/`, never deleted. What a write or a start-up
gives back to be queued and held carries its bodies as placed in the unit file (`bodies.py`): those
larger than the threshold are references to the file, read when needed, not bytes in memory.

Group commit (`group_commit.py`): the messages whose stores wait together are one unit, written and
flushed once (the file, then `queue/`), so one pair of fsyncs covers all of them; each store returns
(and its message is answered 250) only after the flush that covers it, and a flush that fails fails
exactly the stores it covered (each a 451, nothing of them left). A message's entries are always in
one unit, so "all of a message or none of it" holds as before; a unit goes once every message in it
is done. Later file work (state files, removing a finished unit, releases) runs off the event loop,
in order (`in_order.py`); a clean stop (`write_counters`) waits for it. A state file is encoded when
its job runs, from what remains of its unit then (a snapshot taken under `_guard`), not at each
change: a busy unit is encoded once per turn, not once per finished entry, and a state never says
less is done than was done when its job was handed in.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Protocol

from simulator.core.mail.body import Body
from simulator.core.mail.messages import HeldMessage, QueueEntry
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.group_commit import GroupCommit
from simulator.gateway.in_order import InOrder, Job, Trouble
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

    async def settled(self) -> None: ...

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry],
                trouble: Trouble | None = None) -> None: ...

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

    async def settled(self) -> None:
        """Nothing is ever left to write."""

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry],
                trouble: Trouble | None = None) -> None:
        """Nothing to write."""

    def load(self) -> Loaded:
        return Loaded()


@dataclass(frozen=True)
class Part:
    """One message's share of a group commit: its entries, held splinters and releases."""

    entries: Sequence[QueueEntry]
    held: Sequence[HeldMessage]
    releases: Sequence[int]


@dataclass(frozen=True)
class Committed:
    """A flushed unit's bodies as it keeps them, by entry key and by held splinter's MID."""

    entry_bodies: dict[str, Body]
    held_bodies: dict[int, Body]

    def stored(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage]) -> Stored:
        return Stored([replace(entry, body=self.entry_bodies[entry.key]) for entry in entries],
                      [replace(each, body=self.held_bodies[each.mid]) for each in held])


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
        self.group: GroupCommit[Part, Committed] = GroupCommit(self._flush)
        self._later = InOrder("spool")  # state files and removals, off the event loop
        self._guard = threading.Lock()  # the loop changes a unit's contents; a state job reads them
        self._stated: set[str] = set()  # units that may have a state file (the file jobs' own)

    def save(self, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
        """Store `entries` as one unit, flushed (OSError, and nothing left, if the disk refuses);
        returns them as stored."""
        if not entries:
            return []
        return self._registered(*self._commit(entries, (), ())).stored(entries, ()).entries

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> Stored:
        """`save` of one message's entries and held splinters (and the held MIDs it releases),
        off the event loop, in one unit with the other messages that wait for a flush with it."""
        stored = Stored([], [])
        if entries or held:
            stored = (await self.group.commit(Part(entries, held, releases))).stored(entries, held)
        if releases:
            with suppress(OSError):  # the stored unit says what it releases: a restart catches up
                for name, job in self._release(releases):
                    self._later.run(name, job)
            await self._later.settled()
        return stored

    async def _flush(self, parts: Sequence[Part]) -> Committed:
        """One unit of every part, written and flushed off the event loop."""
        committed = await asyncio.to_thread(
            self._commit, [entry for part in parts for entry in part.entries],
            [each for part in parts for each in part.held],
            [mid for part in parts for mid in part.releases])
        return self._registered(*committed)

    def _registered(self, name: str, contents: Contents, bodies: list[Body]) -> Committed:
        """Unit `name` registered; the bodies it keeps for its entries and splinters."""
        self._register(name, contents)
        return Committed({key: bodies[h["blob"]] for key, h in contents.entries.items()},
                         {mid: bodies[h["blob"]] for mid, h in contents.held.items()})

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

    def _release(self, mids: Iterable[int]) -> list[tuple[str, Job]]:
        """Held splinters released (their entries are stored in a unit of their own): the file
        work that records it, by unit, to be done in order."""
        jobs = []
        for mid in mids:
            if (name := self._holding.pop(mid, None)) is not None:
                with self._guard:
                    del self._units[name].held[mid]
                jobs.append((name, self._write_state(name, flush=True)))  # rare; lost: held again
        return jobs

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry],
                trouble: Trouble | None = None) -> None:
        """`finished` is done; what remains of it (deferred recipients) is `successors`. The file
        work runs off the event loop, in order; `trouble` hears of its error there (without a
        running loop it is done now, and its error raised)."""
        if (name := self._unit_of.pop(finished.key, None)) is None:
            return
        contents = self._units[name]
        with self._guard:
            blob = contents.entries.pop(finished.key)["blob"]  # successors are parts of it: same bytes
            contents.entries.update((entry.key, entry_header(entry, blob)) for entry in successors)
        self._unit_of.update(dict.fromkeys((entry.key for entry in successors), name))
        self._later.run(name, self._write_state(name, flush=False), trouble)  # lost: an earlier retry

    def _write_state(self, name: str, flush: bool) -> Job:
        """The file work that keeps what remains of unit `name`, or removes the unit once nothing
        does (unit file first: a state file without its unit is ignored, a unit without its state
        would start over). The registry changes now; the job only touches files."""
        contents = self._units[name]
        if contents.done:
            del self._units[name]
            return partial(self._remove_unit, name)
        return partial(self._keep_state, name, contents, flush)

    def _keep_state(self, name: str, contents: Contents, flush: bool) -> None:
        """Write what remains of unit `name` (its `contents` now) as its state file."""
        with self._guard:  # a snapshot: the loop goes on changing the contents
            remains = Contents(dict(contents.entries), dict(contents.held))
        state = f"{name}.state"
        self._stated.add(name)
        write_file(self.tmp / state, self.queue / state, encode_state(remains), flush)

    def _remove_unit(self, name: str) -> None:
        (self.queue / f"{name}.unit").unlink(missing_ok=True)
        if name in self._stated:  # most units go before a state of theirs was ever written
            self._stated.discard(name)
            (self.queue / f"{name}.state").unlink(missing_ok=True)

    async def settled(self) -> None:
        """Return once the file work handed off so far (state files, removals) is done."""
        await self._later.settled()

    def write_counters(self, counters: dict[str, int]) -> None:
        """The next IDs at a clean stop (after a crash the spool and the mail log tell them), once
        the file work handed off so far is done."""
        self._later.drain()
        self.files.write_counters(counters)

    def load(self) -> Loaded:
        """What every committed unit still holds (see `spool_files.py` for what is moved aside)."""
        for registry in (self._units, self._unit_of, self._holding):
            registry.clear()
        loaded = Loaded(counters=self.files.load_counters())
        self._later.drain()  # start-up: nothing handed off may still be running
        self._stated.clear()
        for path, entry in self.files.entry_files(loaded.corrupt):
            self._commit([entry], (), ())
            path.unlink()
        units = self.files.read_units(loaded.corrupt)
        released = {mid for unit in units.values() for mid in unit.releases}
        self._stated.update(units)  # a unit read back may have its state file beside it
        for name, unit in units.items():
            self._register(name, unit.contents)
            loaded.entries.extend(unit.entries)  # materialised (so checked) when read
            loaded.held.extend(each for each in unit.held if each.mid not in released)
        with suppress(OSError):  # tidying only: the units on disk still say the same next time
            for _, job in self._release(released):
                job()
            for name in [name for name, contents in self._units.items() if contents.done]:
                self._write_state(name, flush=False)()
            self.files.sweep(live=self._units)
        return loaded
