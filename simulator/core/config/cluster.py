"""Clustered configuration: cluster, group and machine layers, resolved per machine (BEHAVIOUR.md §5).

Design rule: immutable and layered (after `email.policy`). Each level stores only what was set
there; `effective(machine)` resolves machine > group > cluster > built-in default and `resolve`
says which level a value came from. Every change returns a new `ClusterConfig`; `ConfigStore`
(store.py) holds the committed and the pending one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.core.config.values import (
    ConnectorSettings,
    GatewayConfig,
    MailPolicy,
    TdcMode,
    validate_address,
)
from simulator.core.errors import ConfigError

DEFAULT_GROUP = "Main_Group"
CUSTOM_NEEDS_CONNECTOR = ("a Custom Message Intake Address needs the Threat Defense Connector "
                          "enabled globally first")
DisableRule = Literal["propagate", "most-specific"]
CONNECTOR_KEYS = ("tdc.enabled", "tdc.intake_address")
_PER_MACHINE = ("machine", "hostname", "system_address", "connector")
#: Every key a level can set: the connector's two, and each machine-independent GatewayConfig field.
SETTINGS: tuple[str, ...] = CONNECTOR_KEYS + tuple(
    f.name for f in dataclasses.fields(GatewayConfig) if f.name not in _PER_MACHINE
)


@dataclass(frozen=True, order=True)
class Level:
    """`cluster`, `group:NAME` or `machine:NAME`."""

    kind: Literal["cluster", "group", "machine"]
    name: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "cluster" else f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Level:
        kind, _, name = text.strip().partition(":")
        if kind == "cluster" and not name:
            return cls("cluster")
        if kind in ("group", "machine") and name:
            return cls(kind, name)  # type: ignore[arg-type]
        raise ConfigError("level", f"{text!r} is not cluster, group:NAME or machine:NAME")


CLUSTER = Level("cluster")


@dataclass(frozen=True)
class Topology:
    """Which machines exist and which group each belongs to."""

    groups: tuple[tuple[str, tuple[str, ...]], ...] = ((DEFAULT_GROUP, ("esa1",)),)

    @classmethod
    def single_group(cls, machines: int, group: str = DEFAULT_GROUP) -> Topology:
        return cls(((group, tuple(f"esa{n}" for n in range(1, machines + 1))),))

    @property
    def machines(self) -> tuple[str, ...]:
        return tuple(machine for _, members in self.groups for machine in members)

    def group_of(self, machine: str) -> str:
        for group, members in self.groups:
            if machine in members:
                return group
        raise ConfigError("machine", f"unknown machine {machine!r} (machines: {', '.join(self.machines)})")

    def check(self, level: Level) -> Level:
        """`level` if it names a known group or machine, else ConfigError naming it."""
        if level.kind == "machine":
            self.group_of(level.name)
        if level.kind == "group" and level.name not in dict(self.groups):
            known = ", ".join(dict(self.groups))
            raise ConfigError("group", f"unknown group {level.name!r} (groups: {known})")
        return level

    def chain(self, machine: str) -> tuple[Level, Level, Level]:
        """The levels that apply to `machine`, most specific first."""
        return Level("machine", machine), Level("group", self.group_of(machine)), CLUSTER

    def covered(self, level: Level) -> tuple[str, ...]:
        """The machines a value set at `level` can reach."""
        if level.kind == "cluster":
            return self.machines
        if level.kind == "group":
            return dict(self.groups)[level.name]
        return (level.name,)


@dataclass(frozen=True)
class Resolved:
    """A value and the level it came from (None: the built-in default)."""

    value: Any
    level: Level | None


@dataclass(frozen=True)
class ClusterConfig:
    """The whole cluster's configuration: defaults, topology and what each level set."""

    topology: Topology = field(default_factory=Topology)
    base: GatewayConfig = field(default_factory=GatewayConfig)
    layers: Mapping[Level, Mapping[str, Any]] = field(default_factory=dict)
    disable_rule: DisableRule = "propagate"

    def at(self, level: Level) -> dict[str, Any]:
        """What is set at `level` itself."""
        return dict(self.layers.get(self.topology.check(level), {}))

    def set(self, level: Level, key: str, value: Any) -> ClusterConfig:
        if key not in SETTINGS:
            raise ConfigError(key, f"unknown setting (settings: {', '.join(SETTINGS)})")
        layers = {**self.layers, self.topology.check(level): {**self.at(level), key: value}}
        return dataclasses.replace(self, layers=layers)

    def default(self, key: str) -> Any:
        if key == "tdc.enabled":
            return self.base.connector.enabled
        if key == "tdc.intake_address":
            return self.base.connector.intake_address
        return getattr(self.base, key)

    def resolve(self, machine: str, key: str) -> Resolved:
        """The value of `key` for `machine`, most specific level first."""
        for level in self.topology.chain(machine):
            if key in self.layers.get(level, {}):
                return Resolved(self.layers[level][key], level)
        return Resolved(self.default(key), None)

    def inherited(self, level: Level, key: str) -> Resolved:
        """The value `level` sees for `key`: its own, else its parent level's, else the default."""
        self.topology.check(level)
        if level.kind == "machine":
            parents: tuple[Level, ...] = self.topology.chain(level.name)
        else:
            parents = (level, CLUSTER) if level.kind == "group" else (CLUSTER,)
        for each in parents:
            if key in self.layers.get(each, {}):
                return Resolved(self.layers[each][key], each)
        return Resolved(self.default(key), None)

    def effective(self, machine: str) -> GatewayConfig:
        """The `GatewayConfig` that `machine` runs with."""
        values = {key: self.resolve(machine, key).value for key in SETTINGS}
        connector = ConnectorSettings(values.pop("tdc.enabled"), values.pop("tdc.intake_address"))
        hostname = f"{machine}.sandbox.test"
        return dataclasses.replace(self.base, machine=machine, hostname=hostname,
                                   system_address=f"tdc-journal@{hostname}", connector=connector, **values)

    def validate(self) -> None:
        """Raise ConfigError naming the first setting that would not work on some machine."""
        for machine in self.topology.machines:
            enabled = self.resolve(machine, "tdc.enabled")
            address = self.resolve(machine, "tdc.intake_address")
            if enabled.value:
                validate_address(f"intake address ({address.level or 'default'})", address.value)
            self.effective(machine)

    def set_connector(self, level: Level, enabled: bool, intake_address: str | None = None) -> ClusterConfig:
        """Enable (with an address) or disable the connector at `level`, by the disable rule.

        The one definition of BEHAVIOUR.md §5.3 for the admin API and the `--config` file alike: under
        "propagate", disabling at machine level also disables its group and the cluster, whatever
        they said."""
        if intake_address is not None:
            validate_address("intake address", intake_address)
        changed = self.set(level, "tdc.enabled", enabled)
        if intake_address is not None:
            changed = changed.set(level, "tdc.intake_address", intake_address)
        if not enabled and level.kind == "machine" and self.disable_rule == "propagate":
            group = Level("group", self.topology.group_of(level.name))
            changed = changed.set(group, "tdc.enabled", False).set(CLUSTER, "tdc.enabled", False)
        return changed

    def set_policy_tdc(
        self, level: Level, policy: str, mode: TdcMode, intake_address: str = ""
    ) -> ClusterConfig:
        """Per-policy journaling: Default, Custom (needs the connector enabled first) or No Scan."""
        machines = self.topology.covered(self.topology.check(level))
        policies: tuple[MailPolicy, ...] = self.inherited(level, "incoming_policies").value
        if policy not in {p.name for p in policies}:
            known = ", ".join(p.name for p in policies)
            raise ConfigError("policy", f"unknown incoming mail policy {policy!r} (policies: {known})")
        updated = tuple(
            dataclasses.replace(p, tdc=mode, tdc_intake=intake_address if mode == "custom" else "")
            if p.name == policy else p for p in policies
        )
        changed = self.set(level, "incoming_policies", updated)
        if mode == "custom" and any(changed.custom_while_disabled(machine) for machine in machines):
            raise ConfigError(f"policy {policy}", CUSTOM_NEEDS_CONNECTOR)
        return changed

    def custom_while_disabled(self, machine: str) -> MailPolicy | None:
        """The first policy with a Custom Message Intake Address that `machine` would run while its
        connector is disabled (BEHAVIOUR.md §5.5 refuses choosing one), else None."""
        if self.resolve(machine, "tdc.enabled").value:
            return None
        policies: tuple[MailPolicy, ...] = self.resolve(machine, "incoming_policies").value
        return next((policy for policy in policies if policy.tdc == "custom"), None)
