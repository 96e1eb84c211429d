"""The durable spool: every queue entry on disk, flushed, before the listener answers 250.

Design rule: one message, one unit (see `units.py`): everything one accepted message leaves in the
gateway's keeping is one file, `queue/<first entry key>.unit`, written to `tmp/`, flushed (fsync)
and only then linked into `queue/`, so all of it becomes visible at once or none of it does; a
write that fails removes what it staged. Later changes (an entry delivered or deferred, a splinter
released) rewrite the unit's small `<unit>.state`; the unit goes when nothing of it is left. A file
that cannot be read at start-up is moved to `corrupt/`, never deleted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from simulator.core.errors import CorruptEntry
from simulator.core.mail.messages import HeldMessage, QueueEntry
from simulator.gateway.stored import link_new, sync_folder, unpack, write_file, write_staged
from simulator.gateway.units import (
    Contents,
    Unit,
    decode_state,
    decode_unit,
    encode_state,
    encode_unit,
    entry_header,
    materialise,
)


@dataclass
class Loaded:
    """What a spool held at start-up."""

    entries: list[QueueEntry] = field(default_factory=list)
    held: list[HeldMessage] = field(default_factory=list)
    corrupt: list[tuple[Path, str]] = field(default_factory=list)  # where it was moved, and why
    counters: dict[str, int] = field(default_factory=dict)


class Spool(Protocol):
    """Keeps queue entries and held splinters until they are delivered, bounced or released."""

    def save(self, entries: Sequence[QueueEntry]) -> None: ...

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> None: ...

    def write_counters(self, counters: dict[str, int]) -> None: ...

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None: ...

    def load(self) -> Loaded: ...


class MemorySpool:
    """No durability (no data dir): the in-memory queue entries are the only copy."""

    def save(self, entries: Sequence[QueueEntry]) -> None:
        """Nothing to write."""

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> None:
        """Nothing to write."""

    def write_counters(self, counters: dict[str, int]) -> None:
        """Nothing to write."""

    def replace(self, finished: QueueEntry, successors: Sequence[QueueEntry]) -> None:
        """Nothing to write."""

    def load(self) -> Loaded:
        return Loaded()


class DiskSpool:
    """Units under `folder/queue`, written through `folder/tmp`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.queue, self.tmp, self.corrupt = folder / "queue", folder / "tmp", folder / "corrupt"
        self.counters_file = folder / "counters.json"
        self._units: dict[str, Contents] = {}  # what remains of each stored unit, by its name
        self._unit_of: dict[str, str] = {}  # entry key -> its unit
        self._holding: dict[int, str] = {}  # held splinter's MID -> its unit
        self._staging = itertools.count()

    def save(self, entries: Sequence[QueueEntry]) -> None:
        """Store `entries` as one unit, flushed (OSError, and nothing left, if the disk refuses)."""
        if entries:
            self._register(*self._commit(entries, (), ()))

    async def store(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage] = (),
                    releases: Sequence[int] = ()) -> None:
        """`save` of one message's entries and held splinters (and the held MIDs it releases),
        off the event loop: messages arriving together are flushed side by side."""
        if entries or held:
            self._register(*await asyncio.to_thread(self._commit, entries, held, releases))
        with suppress(OSError):  # the stored unit says what it releases: a restart catches up
            self._release(releases)

    def _commit(self, entries: Sequence[QueueEntry], held: Sequence[HeldMessage],
                releases: Sequence[int]) -> tuple[str, Contents]:
        stored, contents = encode_unit(entries, held, releases)
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
        return final.name.removesuffix(".unit"), contents

    def _register(self, name: str, contents: Contents) -> None:
        self._units[name] = contents
        self._unit_of.update(dict.fromkeys(contents.entries, name))
        self._holding.update(dict.fromkeys(contents.held, name))

    def _release(self, mids: Sequence[int] | set[int]) -> None:
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
        self.tmp.mkdir(parents=True, exist_ok=True)
        staged = self.tmp / "counters.json"
        staged.write_text(json.dumps(counters))
        os.replace(staged, self.counters_file)

    def load(self) -> Loaded:
        """What every committed unit still holds; unreadable files are moved to `corrupt/` and
        reported; staged files (never committed) are removed."""
        for registry in (self._units, self._unit_of, self._holding):
            registry.clear()
        loaded = Loaded(counters=self._load_counters())
        self._adopt_entry_files(loaded)
        units = self._read_units(loaded)
        released = {mid for unit in units.values() for mid in unit.releases}
        for name, unit in units.items():
            self._register(name, unit.contents)
            entries, held = materialise(unit.contents, unit.blobs)  # checked when read
            loaded.entries.extend(entries)
            loaded.held.extend(each for each in held if each.mid not in released)
        self._release(released)
        self._sweep()
        return loaded

    def _read_units(self, loaded: Loaded) -> dict[str, Unit]:
        units: dict[str, Unit] = {}
        for path in sorted(self.queue.glob("*.unit")) if self.queue.is_dir() else []:
            name, state = path.name.removesuffix(".unit"), path.with_suffix(".state")
            try:
                unit = decode_unit(path.read_bytes())
            except CorruptEntry as error:
                loaded.corrupt.append((self._move_aside(path), str(error)))
                if state.exists():
                    self._move_aside(state)
                continue
            units[name] = self._with_state(unit, state, loaded)
        return units

    def _with_state(self, unit: Unit, state: Path, loaded: Loaded) -> Unit:
        """`unit` as its state file says it now is; with a damaged one, the whole unit again."""
        if not state.exists():
            return unit
        try:
            contents = decode_state(state.read_bytes())
            materialise(contents, unit.blobs)
        except CorruptEntry as error:
            loaded.corrupt.append((self._move_aside(state), f"{error}; all of its unit is queued again"))
            return unit
        return Unit(contents, unit.blobs, unit.releases)

    def _adopt_entry_files(self, loaded: Loaded) -> None:
        """Entry files an earlier version left (`<MID>-<RID>.entry`) become units of their own."""
        for path in sorted(self.queue.glob("*.entry")) if self.queue.is_dir() else []:
            try:
                header, data = unpack(path.read_bytes())
                entry = materialise(Contents({path.stem: {**header, "blob": 0}}), [data])[0][0]
            except CorruptEntry as error:
                loaded.corrupt.append((self._move_aside(path), str(error)))
                continue
            self._commit([entry], (), ())
            path.unlink()

    def _sweep(self) -> None:
        """Remove staged files (never committed) and state files whose unit is gone."""
        for path in list(self.tmp.iterdir()) if self.tmp.is_dir() else []:
            path.unlink(missing_ok=True)
        for path in self.queue.glob("*.state") if self.queue.is_dir() else []:
            if path.name.removesuffix(".state") not in self._units:
                path.unlink(missing_ok=True)
        for name in [name for name, contents in self._units.items() if contents.done]:
            self._write_state(name, flush=False)

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
