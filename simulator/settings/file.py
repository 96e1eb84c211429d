"""The sandbox's `--config` file: TOML, every key documented in `sandbox.example.toml`, read into the
`ClusterConfig` the sandbox starts with.

Design rule: refuse rather than guess; a refusal names the dotted key and its line. The model
(schema.py) checks the file; the levels are then applied as an administrator submits them (cluster,
groups, machines; the connector by `ClusterConfig.set_connector`), so the machine-disable rule
(BEHAVIOUR.md §5.3) has one definition for the file and the admin API alike.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.core.config.cluster import CLUSTER, CUSTOM_NEEDS_CONNECTOR, ClusterConfig, Level
from simulator.core.config.values import GatewayConfig
from simulator.core.errors import ConfigError
from simulator.settings.toml_lines import KeyPath, Lines, key_lines, where

if TYPE_CHECKING:
    from simulator.settings.levels import LevelTable
    from simulator.settings.schema import FileModel


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
    return read_config(text)


def read_config(text: str) -> ConfigFile:
    """The cluster configuration and the Threat Defense tenants that TOML `text` declares."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("TOML syntax", str(error)) from None
    from simulator.settings.schema import declared  # pydantic: only for a --config file

    lines = key_lines(text)
    model = declared(data, lines)
    tenants = tuple(model.tenants) if model.tenants is not None else None
    return ConfigFile(_cluster(model, lines, tenants), tenants)


def _path(level: Level) -> KeyPath:
    return ("cluster",) if level == CLUSTER else (level.kind, level.name)


def _levels(model: FileModel, cluster: ClusterConfig, lines: Lines) -> dict[Level, LevelTable]:
    """Each level's table, cluster first: `[group.NAME]` and `[machine.NAME]` name declared ones."""
    levels = {CLUSTER: model.cluster}
    named = [(Level("group", name), table) for name, table in model.group.items()]
    for level, table in named + [(Level("machine", name), table) for name, table in model.machine.items()]:
        try:
            levels[cluster.topology.check(level)] = table
        except ConfigError as error:
            raise ConfigError(where(lines, _path(level)), error.reason) from None
    return levels


def _applied(cluster: ClusterConfig, level: Level, settings: dict[str, Any]) -> ClusterConfig:
    """A level's settings set there; `tdc.enabled` by `set_connector`, as the admin API sets it."""
    enabled = settings.pop("tdc.enabled", None)
    for key, value in settings.items():
        cluster = cluster.set(level, key, value)
    return cluster if enabled is None else cluster.set_connector(level, enabled)


def _cluster(model: FileModel, lines: Lines, tenants: tuple[str, ...] | None) -> ClusterConfig:
    """Each level applied in order; the first tenant is the default intake address."""
    cluster = ClusterConfig(model.topology(), GatewayConfig(dns_zone=model.zone()),
                            disable_rule=model.disable_rule)
    origins: dict[Level, str] = {}  # where each level's tdc.enabled comes from (a machine's, if propagated)
    for level, table in _levels(model, cluster, lines).items():
        before, cluster = cluster, _applied(cluster, level, table.settings())
        origin = where(lines, (*_path(level), "tdc", "enabled"))
        origins |= {each: origin for each, layer in cluster.layers.items()
                    if layer.get("tdc.enabled") != before.layers.get(each, {}).get("tdc.enabled")}
    if tenants and "tdc.intake_address" not in cluster.at(CLUSTER):
        cluster = cluster.set(CLUSTER, "tdc.intake_address", tenants[0])
    _check_connector(cluster, lines, origins)
    cluster.validate()
    return cluster


def _check_connector(cluster: ClusterConfig, lines: Lines, origins: Mapping[Level, str]) -> None:
    """Every machine the file enables has an intake address; none it disables has a Custom policy."""
    for machine in cluster.topology.machines:
        enabled = cluster.resolve(machine, "tdc.enabled")
        if enabled.level is None:
            continue  # the sandbox decides (--no-tdc)
        where_set = origins[enabled.level]
        if enabled.value and not cluster.resolve(machine, "tdc.intake_address").value:
            raise ConfigError(where_set, f"enables the connector on {machine} without an intake address: "
                                         "set tdc.intake_address or list tenants")
        policies = cluster.resolve(machine, "incoming_policies")
        custom = cluster.custom_while_disabled(machine)
        if custom is not None and policies.level is not None:
            index = policies.value.index(custom)
            raise ConfigError(where(lines, (*_path(policies.level), "policies", index, "tdc")),
                              f"policy {custom.name}: {CUSTOM_NEEDS_CONNECTOR}, but {where_set} "
                              f"disables it on {machine}")
