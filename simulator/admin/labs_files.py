"""The lab definitions: one TOML file per lab in `labs_data/`, read and checked when the labs load.

Design rule: a lab is data (id, number, title, goal, steps, hints, an optional `start` and its
`checks`), so a trainer adds one without code; everything a file says is checked at load time against
the vocabularies (`labs_checks.CHECKS`, `labs_start.START_ACTIONS`), and a malformed file is a
`ConfigError` whose key names the file and the key (`labs_data/x.toml: checks[2].kind`), never a
failure later in front of a trainee.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from simulator.admin.labs_checks import CHECKS
from simulator.admin.labs_start import START_ACTIONS
from simulator.core.errors import ConfigError
from simulator.endpoints.faults import parse_fault

LABS_FOLDER = Path(__file__).parent / "labs_data"
TEXTS = ("title", "goal")
LISTS = ("steps", "hints")
KEYS = ("id", "number", *TEXTS, *LISTS, "start", "checks")


@dataclass(frozen=True)
class LabCheck:
    """One check of a lab: what it says it checks, its kind and the kind's parameters."""

    says: str
    kind: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Lab:
    """One guided exercise."""

    id: str
    number: int
    title: str
    goal: str
    steps: tuple[str, ...]
    hints: tuple[str, ...]
    start: tuple[Mapping[str, Any], ...]
    checks: tuple[LabCheck, ...]


class LabReader:
    """Reads one lab file; every refusal names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def refuse(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.path.parent.name}/{self.path.name}: {key}", reason)

    def read(self) -> Lab:
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise self.refuse("(file)", f"not TOML: {error}") from None
        unknown = sorted(set(data) - set(KEYS))
        if unknown:
            raise self.refuse(unknown[0], f"unknown key (keys: {', '.join(KEYS)})")
        if self.text(data, "id") != self.path.stem:
            raise self.refuse("id", f"must be the file's name, {self.path.stem!r}")
        number = data.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise self.refuse("number", "missing, or not a whole number of at least 1")
        checks = self.table_list(data, "checks", required=True)
        return Lab(self.path.stem, number, self.text(data, "title"), self.text(data, "goal"),
                   self.texts(data, "steps"), self.texts(data, "hints"),
                   tuple(self.start_action(index, action)
                         for index, action in enumerate(self.table_list(data, "start"), 1)),
                   tuple(self.check(index, check) for index, check in enumerate(checks, 1)))

    def text(self, data: Mapping[str, Any], key: str, called: str = "") -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.refuse(called or key, "missing, or not a non-empty string")
        return value.strip()

    def texts(self, data: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            raise self.refuse(key, "missing, or not a non-empty list of strings")
        return tuple(self.text({"item": item}, "item", f"{key}[{index}]")
                     for index, item in enumerate(value, 1))

    def table_list(self, data: Mapping[str, Any], key: str, required: bool = False) -> list[dict[str, Any]]:
        value = data.get(key, None if required else [])
        tables = isinstance(value, list) and all(isinstance(table, dict) for table in value)
        if not tables or (required and not value):
            raise self.refuse(key, f"{'missing, or ' if required else ''}not a list of tables ([[{key}]])")
        return list(value)

    def parameters(self, where: str, given: Mapping[str, Any], named: str,
                   wanted: Mapping[str, tuple[str, ...] | type]) -> dict[str, Any]:
        """The parameters `given` besides `named` (kind/action, says), each one `wanted` knows."""
        params = {key: value for key, value in given.items() if key not in (named, "says")}
        for key, value in params.items():
            allowed = wanted.get(key)
            if allowed is None:
                known = ", ".join(wanted) or "none"
                raise self.refuse(f"{where}.{key}", f"unknown parameter (parameters: {known})")
            if isinstance(allowed, tuple) and value not in allowed:
                raise self.refuse(f"{where}.{key}", f"{value!r} is not one of {', '.join(allowed)}")
            if isinstance(allowed, type) and (not isinstance(value, allowed) or isinstance(value, bool)):
                raise self.refuse(f"{where}.{key}", f"not a {allowed.__name__}")
        absent = [key for key, allowed in wanted.items() if allowed in (int, list) and key not in params]
        if absent:
            raise self.refuse(f"{where}.{absent[0]}", "missing")
        return params

    def check(self, index: int, check: Mapping[str, Any]) -> LabCheck:
        where = f"checks[{index}]"
        kind = self.text(check, "kind", f"{where}.kind")
        if kind not in CHECKS:
            raise self.refuse(f"{where}.kind", f"unknown check kind {kind!r} (kinds: {', '.join(CHECKS)})")
        says = self.text(check, "says", f"{where}.says")
        return LabCheck(says, kind, self.parameters(where, check, "kind", CHECKS[kind][1]))

    def start_action(self, index: int, action: Mapping[str, Any]) -> Mapping[str, Any]:
        where = f"start[{index}]"
        name = self.text(action, "action", f"{where}.action")
        if name not in START_ACTIONS:
            known = ", ".join(START_ACTIONS)
            raise self.refuse(f"{where}.action", f"unknown action {name!r} (actions: {known})")
        params = self.parameters(where, action, "action", START_ACTIONS[name])
        for fault in params.get("faults", []):
            try:
                parse_fault(str(fault))
            except ValueError as error:
                raise self.refuse(f"{where}.faults", str(error)) from None
        return {"action": name, **params}


def load_labs(folder: Path) -> tuple[Lab, ...]:
    """Every lab of `folder` (its `*.toml`), by number; a number used twice is refused."""
    labs = sorted((LabReader(path).read() for path in sorted(folder.glob("*.toml"))),
                  key=lambda lab: lab.number)
    for first, second in itertools.pairwise(labs):
        if first.number == second.number:
            raise ConfigError(f"{folder.name}/{second.id}.toml: number",
                              f"{second.number} is lab {first.id}'s too")
    return tuple(labs)


@cache
def shipped_labs() -> tuple[Lab, ...]:
    """The labs that ship with the simulator (read once)."""
    return load_labs(LABS_FOLDER)
