"""The whole `--config` file as a pydantic model: its top-level keys, the machines by group, the
tenants, the DNS zone table and the level tables (levels.py).

Design rule: the model describes the file and nothing else: unknown keys are refused, types are
TOML's own (strict), each check names its key; `declared` reports the first refusal with its line
(refusals.py). Which levels exist and the connector's rules across levels are file.py's. Imported
only for `tdcsim sandbox --config`: pydantic is too slow to load for the operator's quick commands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError

from simulator.core.config.cluster import DisableRule, Topology
from simulator.core.config.values import MxRecord
from simulator.settings.levels import DnsEntry, LevelTable
from simulator.settings.policies import Address
from simulator.settings.refusals import Section, refusal, refuse, rule, unique
from simulator.settings.toml_lines import Lines

_GROUP = re.compile(r"[A-Za-z0-9_-]+")
_MACHINE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")  # becomes a host name label


def _groups(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Named groups of named machines, each machine in one group."""
    placed: dict[str, str] = {}
    for group, machines in groups.items():
        if not _GROUP.fullmatch(group):
            raise refuse("not a group name (letters, digits, _ and -)", group)
        if not machines:
            raise refuse("a group needs at least one machine", group)
        for machine in machines:
            if not _MACHINE.fullmatch(machine):
                raise refuse(f"not a machine name (letters, digits and -): {machine!r}", group)
            if machine in placed:
                raise refuse(f"machine {machine} is already in group {placed[machine]}", group)
            placed[machine] = group
    return groups


Tenants = Annotated[list[Address], rule(bool, "list at least one Threat Defense intake address"),
                    unique("{} is listed twice")]
Groups = Annotated[dict[str, list[str]], rule(bool, "declare at least one group and its machines"),
                   AfterValidator(_groups)]


class FileModel(Section):
    """A `--config` file: every key optional."""

    disable_rule: DisableRule = "propagate"
    tenants: Tenants | None = None
    groups: Groups | None = None
    dns: Annotated[list[DnsEntry], unique("a second [[dns]] entry for {}", "domain", str.lower)] = Field(
        default_factory=list)
    cluster: LevelTable = LevelTable()
    group: dict[str, LevelTable] = Field(default_factory=dict)
    machine: dict[str, LevelTable] = Field(default_factory=dict)

    def topology(self) -> Topology:
        """The machines by group; without `[groups]`, esa1 in Main_Group."""
        if self.groups is None:
            return Topology()
        return Topology(tuple((group, tuple(machines)) for group, machines in self.groups.items()))

    def zone(self) -> tuple[MxRecord, ...]:
        """The sandbox's DNS zone table, shared by every machine."""
        return tuple(record for entry in self.dns for record in entry.records())


def declared(data: Mapping[str, Any], lines: Lines) -> FileModel:
    """What the parsed file declares; a ConfigError names the key and line of its first problem."""
    try:
        return FileModel.model_validate(data)
    except ValidationError as error:
        raise refusal(error, lines) from None
