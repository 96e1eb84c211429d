"""Operator actions on a running sandbox's configuration, without HTTP (BEHAVIOUR.md §5).

Design rule: every change goes through `ConfigStore.submit` (validated, pending, nothing changed on
error) and runs only after `commit`. Reads name the state they show: `committed` (what runs) or
`pending` (the working copy: the pending configuration, else the committed one). An unknown group,
machine or policy is `NotFound`; a value the model refuses stays a `ConfigError`.
`commit` is the one place that commits for an operator (API, console, a lab's start): it answers only
once every machine runs what was committed (`RunningSandbox.configured`), as a machine may be a process;
a machine whose process has ended makes it `PartUnavailable` (503), saying the commit is stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from simulator.core.config.cluster import SETTINGS, ClusterConfig, Level, Resolved
from simulator.core.config.store import ConfigStore
from simulator.core.config.values import TDC_MODES
from simulator.core.errors import BadRequest, ConfigError, NotFound, PartUnavailable

STATES = ("committed", "pending")
PENDING = "(pending until commit)"
UNKNOWN_KEYS = ("group", "machine", "policy")  # the ConfigError keys that name something missing


def to_json(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses as objects, tuples as lists, times in ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def level_name(level: Level | None) -> str:
    """`cluster`, `group:NAME`, `machine:NAME`, or `default` for the built-in value."""
    return str(level) if level is not None else "default"


def resolved_json(found: Resolved) -> dict[str, Any]:
    return {"value": to_json(found.value), "level": level_name(found.level)}


@contextmanager
def naming_unknowns() -> Iterator[None]:
    """Turn the model's "unknown group/machine/policy" ConfigError into NotFound."""
    try:
        yield
    except ConfigError as error:
        if error.key in UNKNOWN_KEYS:
            raise NotFound(str(error)) from None
        raise


class ConfigAdmin:
    """Reads and submits configuration at any level; commits and discards."""

    def __init__(self, store: ConfigStore, configured: Callable[[], Awaitable[None]]) -> None:
        """`configured` returns once every machine runs the committed configuration."""
        self.store, self._configured = store, configured

    def config(self, state: str = "pending") -> ClusterConfig:
        """The committed configuration, or the working copy."""
        if state not in STATES:
            raise BadRequest(f"state must be committed or pending, not {state!r}")
        return self.store.committed if state == "committed" else self.store.pending or self.store.committed

    def level(self, text: str) -> Level:
        """The level `text` names, if its group or machine exists."""
        with naming_unknowns():
            return self.config().topology.check(Level.parse(text))

    def machines(self, name: str | None) -> tuple[str, ...]:
        """`name` alone if it is a machine, every machine if None."""
        topology = self.config().topology
        return topology.machines if name is None else (self.level(f"machine:{name}").name,)

    def submit(self, change: Callable[[ClusterConfig], ClusterConfig]) -> tuple[ClusterConfig, ClusterConfig]:
        """Submit `change`; (before, after) working copies."""
        before = self.config()
        with naming_unknowns():
            return before, self.store.submit(change)

    def view(self, level_text: str) -> dict[str, Any]:
        """What is set at one level, committed and pending."""
        level, pending = self.level(level_text), self.store.pending
        return {"level": str(level), "committed": to_json(self.store.committed.at(level)),
                "pending": None if pending is None else to_json(pending.at(level))}

    def effective(self, machine: str | None, state: str) -> dict[str, Any]:
        """Each machine's effective settings, each with the level it came from."""
        config = self.config(state)
        machines = {name: {key: resolved_json(config.resolve(name, key)) for key in SETTINGS}
                    for name in self.machines(machine)}
        return {"state": state, "uncommitted": self.store.pending is not None, "machines": machines}

    def tdc(self, state: str) -> dict[str, Any]:
        """The connector per machine: enabled, intake address, and the levels they came from."""
        config = self.config(state)
        rows = []
        for name in config.topology.machines:
            enabled, address = config.resolve(name, "tdc.enabled"), config.resolve(name, "tdc.intake_address")
            rows.append({"machine": name, "group": config.topology.group_of(name),
                         "enabled": enabled.value, "enabled_level": level_name(enabled.level),
                         "intake_address": address.value, "address_level": level_name(address.level)})
        return {"state": state, "uncommitted": self.store.pending is not None, "machines": rows}

    def enable(self, address: str, level_text: str) -> str:
        level = self.level(level_text)
        _, after = self.submit(lambda config: config.set_connector(level, True, address))
        overridden = [f"{name} (disabled at {found.level})" for name in after.topology.covered(level)
                      for found in [after.resolve(name, "tdc.enabled")] if not found.value]
        note = f"; still disabled on {', '.join(overridden)}" if overridden else ""
        return f"Threat Defense Connector enabled at {level} with intake address {address}{note} {PENDING}"

    def disable(self, level_text: str) -> str:
        level = self.level(level_text)
        before, after = self.submit(lambda config: config.set_connector(level, False))
        also = [name for name in changed_levels(before, after, "tdc.enabled") if name != str(level)]
        rule = f"; by the machine-disable rule also at {', '.join(also)}" if also else ""
        return f"Threat Defense Connector disabled at {level}{rule} {PENDING}"

    def policies(self, state: str) -> dict[str, Any]:
        """Each machine's incoming mail policies and the level the table came from."""
        config = self.config(state)
        machines = {name: {"level": level_name(found.level), "policies": to_json(found.value)}
                    for name in config.topology.machines
                    for found in [config.resolve(name, "incoming_policies")]}
        return {"state": state, "uncommitted": self.store.pending is not None, "machines": machines}

    def set_policy(self, policy: str, mode: str, address: str, level_text: str) -> str:
        """Per-policy journaling: default, custom (with an address) or no-scan."""
        chosen = next((known for known in TDC_MODES if known == mode), None)
        if chosen is None:
            raise ConfigError("mode", f"{mode!r} is not one of {', '.join(TDC_MODES)}")
        if address and chosen != "custom":
            raise ConfigError("address", "an intake address goes only with mode custom")
        level = self.level(level_text)
        self.submit(lambda config: config.set_policy_tdc(level, policy, chosen, address))
        return f"Policy {policy} set to {mode} at {level} {PENDING}"

    async def commit(self, comment: str) -> str:
        """`Changes committed: <date>`, or `There is no data to commit.`, once every machine runs it;
        PartUnavailable (naming the machine, and saying the commit is stored) if one has stopped."""
        message = self.store.commit(comment)
        try:
            await self._configured()
        except PartUnavailable as error:
            raise PartUnavailable(f"{message.rstrip('.')}, but not every machine runs it: {error}") from None
        return message

    def clear(self) -> str:
        return "Pending changes discarded." if self.store.clear() else "There are no pending changes."


def changed_levels(before: ClusterConfig, after: ClusterConfig, key: str) -> list[str]:
    """The levels at which `key` is set differently in `after`."""
    missing, specific_first = object(), ("machine", "group", "cluster")
    return [str(level) for level in sorted(after.layers, key=lambda level: specific_first.index(level.kind))
            if before.layers.get(level, {}).get(key, missing) != after.layers[level].get(key, missing)]
