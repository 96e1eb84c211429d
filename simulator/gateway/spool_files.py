"""The spool's folders as a restart finds them: committed units and their state files, entry files
an earlier version left, staged leftovers, damage, and the ID counters of the last clean stop.

Design rule: nothing that may hold mail is ever deleted here: a file that cannot be read is moved
to `corrupt/` (under a name no earlier one has) and reported; only staged files in `tmp/` (never
committed, so never acknowledged) and state files whose unit is gone are removed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path

from simulator.core.errors import CorruptEntry
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.messages import QueueEntry
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.stored import unpack
from simulator.gateway.units import Contents, Unit, decode_state, decode_unit, materialise

Damage = list[tuple[Path, str]]  # where an unreadable file was moved, and why


class SpoolFolders:
    """`queue/` (units and their state), `tmp/` (staging), `corrupt/` and `counters.json`."""

    def __init__(self, folder: Path, threshold: int = DEFAULT_THRESHOLD) -> None:
        self.queue, self.tmp, self.corrupt = folder / "queue", folder / "tmp", folder / "corrupt"
        self.threshold = threshold  # bodies larger than this are read back as references
        self.counters_file = folder / "counters.json"

    def _in_queue(self, pattern: str) -> list[Path]:
        return sorted(self.queue.glob(pattern)) if self.queue.is_dir() else []

    def read_units(self, damage: Damage) -> dict[str, Unit]:
        """Every committed unit by name, as its state file says it now is."""
        units: dict[str, Unit] = {}
        for path in self._in_queue("*.unit"):
            state = path.with_suffix(".state")
            try:
                unit = decode_unit(path.read_bytes(), path, self.threshold)
            except CorruptEntry as error:
                damage.append((self.move_aside(path), str(error)))
                if state.exists():
                    self.move_aside(state)
                continue
            units[path.name.removesuffix(".unit")] = self._with_state(unit, state, damage)
        return units

    def _with_state(self, unit: Unit, state: Path, damage: Damage) -> Unit:
        """`unit` as `state` says it now is; with a damaged state, the whole unit again (twice
        rather than never)."""
        if not state.exists():
            return unit
        try:
            return Unit.of(decode_state(state.read_bytes()), unit.blobs, unit.releases)
        except CorruptEntry as error:
            damage.append((self.move_aside(state), f"{error}; all of its unit is queued again"))
            return unit

    def entry_files(self, damage: Damage) -> list[tuple[Path, QueueEntry]]:
        """The entry files (`<MID>-<RID>.entry`, one per queue entry) of an earlier version."""
        found = []
        for path in self._in_queue("*.entry"):
            try:
                header, data = unpack(path.read_bytes())
                entry = materialise(Contents({path.stem: {**header, "blob": 0}}), [InMemoryBody(data)])[0][0]
            except CorruptEntry as error:
                damage.append((self.move_aside(path), str(error)))
                continue
            found.append((path, entry))
        return found

    def sweep(self, live: Collection[str]) -> None:
        """Remove staged files and the state files of units not in `live`."""
        for path in list(self.tmp.iterdir()) if self.tmp.is_dir() else []:
            path.unlink(missing_ok=True)
        for path in self._in_queue("*.state"):
            if path.name.removesuffix(".state") not in live:
                path.unlink(missing_ok=True)

    def move_aside(self, path: Path) -> Path:
        """Move `path` into `corrupt/` under a name no earlier corrupt file has."""
        self.corrupt.mkdir(parents=True, exist_ok=True)
        target, number = self.corrupt / path.name, 0
        while target.exists():
            number += 1
            target = self.corrupt / f"{path.name}.{number}"
        return path.rename(target)

    def write_counters(self, counters: dict[str, int]) -> None:
        self.tmp.mkdir(parents=True, exist_ok=True)
        staged = self.tmp / "counters.json"
        staged.write_text(json.dumps(counters))
        os.replace(staged, self.counters_file)

    def load_counters(self) -> dict[str, int]:
        try:
            stored = json.loads(self.counters_file.read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in stored.items() if isinstance(v, int)} if isinstance(stored, dict) else {}
