"""The sandbox's `--config` file: TOML, every key documented in `sandbox.example.toml`.

Design rule: refuse rather than guess. An unknown key, a conflicting declaration or a bad value stops
the sandbox with a ConfigError naming the dotted key and its line (toml_lines.py finds it); what
loads is a `ClusterConfig` that passes `validate()`. A level's values are read in config_values.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast, get_args

from simulator.core.config.cluster import CLUSTER, ClusterConfig, DisableRule, Level, Topology
from simulator.core.config.values import GatewayConfig, validate_address
from simulator.core.errors import ConfigError
from simulator.settings.levels import dns_zone, level_settings
from simulator.settings.toml_source import Table, parse_toml

_TOP_KEYS = ("disable_rule", "tenants", "groups", "dns", "cluster", "group", "machine")
_GROUP = re.compile(r"[A-Za-z0-9_-]+")
_MACHINE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")  # becomes a host name label


@dataclass(frozen=True)
class ConfigFile:
    """What a `--config` file declares."""

    cluster: ClusterConfig
    intake_addresses: tuple[str, ...] | None = None


def load_config_file(path: Path) -> ConfigFile:
    """Read and check `path`; ConfigError names the key and line of the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("file", f"cannot read it: {error}") from None
    return read_config(parse_toml(text))


def read_config(root: Table) -> ConfigFile:
    """The cluster configuration and the Threat Defense tenants that `root` declares."""
    root.only(_TOP_KEYS)
    tenants = _tenants(root)
    rule = root.get("disable_rule", str, "propagate")
    if rule not in get_args(DisableRule):
        raise root.error(f"must be one of {', '.join(get_args(DisableRule))}, not {rule!r}", "disable_rule")
    cluster = ClusterConfig(_topology(root), GatewayConfig(dns_zone=dns_zone(root)),
                            disable_rule=cast(DisableRule, rule))
    tables = _level_tables(root, cluster.topology)
    for level, table in tables.items():
        for key, value in level_settings(table).items():
            cluster = cluster.set(level, key, value)
    cluster, origins = _propagate_disable(cluster, tables)
    if tenants and "tdc.intake_address" not in cluster.at(CLUSTER):
        cluster = cluster.set(CLUSTER, "tdc.intake_address", tenants[0])
    _check_connector(cluster, tables, origins)
    cluster.validate()
    return ConfigFile(cluster, tenants)


def _tenants(root: Table) -> tuple[str, ...] | None:
    """The Threat Defense intake addresses (the first is the connector's default), if given."""
    if "tenants" not in root:
        return None
    if not (tenants := root.strings("tenants")):
        raise root.error("list at least one Threat Defense intake address", "tenants")
    for index, address in enumerate(tenants):
        with root.checking("tenants", index):
            validate_address("tenants", address)
        if address in tenants[:index]:
            raise root.error(f"{address} is listed twice", "tenants", index)
    return tenants


def _topology(root: Table) -> Topology:
    """The `[groups]` table; without one, esa1 in Main_Group."""
    if "groups" not in root:
        return Topology()
    if not (groups := root.table("groups")).values:
        raise groups.error("declare at least one group and its machines")
    placed: dict[str, str] = {}
    for group in groups.values:
        if not _GROUP.fullmatch(group):
            raise groups.error("not a group name (letters, digits, _ and -)", group)
        if not (machines := groups.strings(group)):
            raise groups.error("a group needs at least one machine", group)
        for machine in machines:
            if not _MACHINE.fullmatch(machine):
                raise groups.error(f"not a machine name (letters, digits and -): {machine!r}", group)
            if machine in placed:
                raise groups.error(f"machine {machine} is already in group {placed[machine]}", group)
            placed[machine] = group
    return Topology(tuple((group, groups.strings(group)) for group in groups.values))


def _level_tables(root: Table, topology: Topology) -> dict[Level, Table]:
    """`[cluster]`, `[group.NAME]` and `[machine.NAME]`, each naming a declared group or machine."""
    tables = {CLUSTER: root.table("cluster")}
    for kind in ("group", "machine"):
        for name in (sections := root.table(kind)).values:
            with sections.checking(name):
                level = topology.check(Level(kind, name))
            tables[level] = sections.table(name)
    return tables


def _propagate_disable(
    cluster: ClusterConfig, tables: dict[Level, Table]
) -> tuple[ClusterConfig, dict[Level, str]]:
    """disable_rule "propagate": disabling at machine level disables its group and the cluster too."""
    # and where each level's tdc.enabled comes from: its own key, or the machine's key that disabled it
    origins = {level: table.where("tdc", "enabled") for level, table in tables.items()}
    if cluster.disable_rule != "propagate":
        return cluster, origins
    for level, table in tables.items():
        if level.kind != "machine" or cluster.at(level).get("tdc.enabled") is not False:
            continue
        for upper in (Level("group", cluster.topology.group_of(level.name)), CLUSTER):
            if cluster.at(upper).get("tdc.enabled"):
                raise table.error(f'disables the connector, which disables it at {upper} too (disable_rule '
                                  f'"propagate"), but {origins[upper]} enables it', "tdc", "enabled")
            if "tdc.enabled" not in cluster.at(upper):
                cluster, origins[upper] = cluster.set(upper, "tdc.enabled", False), origins[level]
    return cluster, origins


def _check_connector(cluster: ClusterConfig, tables: dict[Level, Table], origins: dict[Level, str]) -> None:
    """Every machine the file enables has an intake address; none it disables has a Custom policy."""
    for machine in cluster.topology.machines:
        enabled = cluster.resolve(machine, "tdc.enabled")
        if enabled.level is None:
            continue  # the sandbox decides (--no-tdc)
        where = origins[enabled.level]
        if enabled.value and not cluster.resolve(machine, "tdc.intake_address").value:
            raise ConfigError(where, f"enables the connector on {machine} without an intake address: "
                                     "set tdc.intake_address or list tenants")
        policies = cluster.resolve(machine, "incoming_policies")
        for index, policy in enumerate(policies.value):
            if not enabled.value and policy.tdc == "custom" and policies.level is not None:
                raise tables[policies.level].error(
                    f"policy {policy.name} has a Custom Message Intake Address, which needs the connector "
                    f"enabled, but {where} disables it on {machine}", "policies", index, "tdc")
