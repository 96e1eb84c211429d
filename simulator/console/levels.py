"""The Threat Defense Connector as the console shows it, per level and per machine (BEHAVIOUR.md §5).

Design rule: pure functions of the configuration (no HTTP). A level shows what it sees: its own
value, else the one it inherits, and from where. The machine-disable rule (§5.3, "propagate") is
explained where it applies: a machine disabled at machine level, and the machines that stop with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.core.config.cluster import ClusterConfig, Level, Resolved


@dataclass(frozen=True)
class Mode:
    """One choice of the Centralized Management mode selector."""

    value: str
    label: str


@dataclass(frozen=True)
class LevelSetting:
    """A setting as one level sees it."""

    label: str
    value: str
    source: str


def modes(config: ClusterConfig) -> list[Mode]:
    """Cluster, each group, each machine, in topology order."""
    found = [Mode("cluster", "Cluster")]
    for group, machines in config.topology.groups:
        found.append(Mode(f"group:{group}", f"Group: {group}"))
        found += [Mode(f"machine:{machine}", f"Machine: {machine}") for machine in machines]
    return found


def mode_label(level: Level) -> str:
    return "Cluster" if level.kind == "cluster" else f"{level.kind.capitalize()}: {level.name}"


def source(found: Resolved, seen_from: Level | None = None) -> str:
    """Where a value comes from, in words."""
    if found.level is None:
        return "built-in default"
    if found.level == seen_from:
        return "set at this level"
    return f"{'inherited from ' if seen_from else ''}{mode_label(found.level)}"


def enabled_text(value: object) -> str:
    return "Enabled" if value else "Disabled"


def level_settings(config: ClusterConfig, level: Level) -> list[LevelSetting]:
    """The connector's two settings as `level` sees them."""
    enabled = config.inherited(level, "tdc.enabled")
    address = config.inherited(level, "tdc.intake_address")
    because = [machine for machine in disabled_on_machines(config) if enabled.level is not None
               and enabled.level.kind != "machine" and machine in config.topology.covered(enabled.level)]
    why = f"; by the machine-disable rule (disabled on {', '.join(because)})" if because else ""
    return [LevelSetting("Threat Defense Connector", enabled_text(enabled.value),
                         source(enabled, level) + why),
            LevelSetting("Message Intake Address", str(address.value or "(none)"), source(address, level))]


def disabled_on_machines(config: ClusterConfig) -> list[str]:
    """The machines disabled at machine level, when the machine-disable rule spreads that upwards."""
    if config.disable_rule != "propagate":
        return []
    return [machine for machine in config.topology.machines
            if config.layers.get(Level("machine", machine), {}).get("tdc.enabled") is False]


def stopped_by_rule(config: ClusterConfig, machine: str) -> list[str]:
    """The machines whose machine-level disable switched `machine` off through its group or cluster."""
    found = config.resolve(machine, "tdc.enabled")
    if found.value or found.level is None or found.level.kind == "machine":
        return []
    reach = config.topology.covered(found.level)
    return [other for other in disabled_on_machines(config) if other in reach and other != machine]


def rule_explanation(config: ClusterConfig) -> str:
    """The machine-disable rule in words, when some machine is disabled at machine level; else ''."""
    machines = disabled_on_machines(config)
    if not machines:
        return ""
    groups = sorted({config.topology.group_of(machine) for machine in machines})
    return (f"The connector is disabled at machine level on {', '.join(machines)}. By the connector's "
            f"rule, disabling it on a machine also disables it at that machine's group "
            f"({', '.join(groups)}) and at cluster level, so the other machines stop sending copies too, "
            "unless their own machine or group level enables it again.")
