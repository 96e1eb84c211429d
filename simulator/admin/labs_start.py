"""The labs' start actions: what a lab sets up before its first step (a small vocabulary).

Design rule: the configuration actions are pure changes of a `ClusterConfig` (at cluster level), so a
start is one Submit and one Commit through the store every surface uses, with a comment naming the lab;
the `faults` action goes through the fault operation the API's PUT /faults calls. Each action also says
in words what it did, for the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.core.config.cluster import CLUSTER, ClusterConfig, Level
from simulator.core.config.text import CATCH_ALL, WILDCARD, parse_route
from simulator.core.config.values import MxRecord, SmtpRoute, domain_of
from simulator.core.errors import ConfigError
from simulator.defaults import ENDPOINTS


@dataclass(frozen=True)
class StartContext:
    """What the actions need to know of the sandbox: the tenant's intake address."""

    tenant: str


def levels_setting(config: ClusterConfig, enabled: bool) -> list[Level]:
    """The group and machine levels that set the connector to `enabled`."""
    return [level for level, values in config.layers.items()
            if level.kind != "cluster" and values.get("tdc.enabled") is enabled]


def connector_on(config: ClusterConfig, context: StartContext) -> ClusterConfig:
    """Enabled at cluster level with the tenant's address, and wherever a lower level disabled it."""
    changed = config.set(CLUSTER, "tdc.enabled", True).set(CLUSTER, "tdc.intake_address", context.tenant)
    for level in levels_setting(config, False):
        changed = changed.set(level, "tdc.enabled", True)
    return changed


def connector_off(config: ClusterConfig, _: StartContext) -> ClusterConfig:
    """Disabled at cluster level, and wherever a lower level enabled it: the chapter's starting point."""
    changed = config.set(CLUSTER, "tdc.enabled", False)
    for level in levels_setting(config, True):
        changed = changed.set(level, "tdc.enabled", False)
    return changed


def catch_all_host(config: ClusterConfig) -> MxRecord:
    """The host the DNS zone's `*` record names: where every other domain's mail goes."""
    zone: tuple[MxRecord, ...] = config.inherited(CLUSTER, "dns_zone").value
    found = next((record for record in zone if record.domain == WILDCARD), None)
    if found is None:
        raise ConfigError("start", "the DNS zone has no * record for the catch-all route to point at")
    return found


def catch_all_route(config: ClusterConfig, context: StartContext) -> ClusterConfig:
    """An `ALL` route to the mail host of every other domain, and no route for the intake domain: the
    pitfall of the chapter's note (copies follow `ALL` instead of the intake domain's MX)."""
    host, intake_domain = catch_all_host(config), domain_of(context.tenant).lower()
    routes: tuple[SmtpRoute, ...] = config.inherited(CLUSTER, "routes").value
    kept = tuple(route for route in routes if route.domain.lower() not in (CATCH_ALL.lower(), intake_domain))
    return config.set(CLUSTER, "routes", (*kept, parse_route(CATCH_ALL, f"{host.host}:{host.port}")))


ConfigAction = Callable[[ClusterConfig, StartContext], ClusterConfig]
CONFIG_ACTIONS: dict[str, tuple[ConfigAction, str]] = {
    "connector_on": (connector_on, "the connector enabled at cluster level with the tenant's intake address"),
    "connector_off": (connector_off, "the connector disabled at cluster level"),
    "catch_all_route": (catch_all_route,
                        "an ALL SMTP route to the mail host, and none for the intake domain"),
}
#: Each start action and its parameters (name -> the values allowed, or the type wanted).
START_ACTIONS: dict[str, dict[str, tuple[str, ...] | type]] = {
    **{name: {} for name in CONFIG_ACTIONS},
    "faults": {"endpoint": ENDPOINTS, "faults": list},
}


def changed_config(actions: tuple[Mapping[str, Any], ...], config: ClusterConfig,
                   context: StartContext) -> ClusterConfig:
    """`config` after every configuration action of a start, in order."""
    for action in actions:
        if action["action"] in CONFIG_ACTIONS:
            config = CONFIG_ACTIONS[action["action"]][0](config, context)
    return config


def described(action: Mapping[str, Any]) -> str:
    """What one action sets up, in words."""
    if action["action"] == "faults":
        return f"{action['endpoint']} scripted with {', '.join(action['faults'])}"
    return CONFIG_ACTIONS[action["action"]][1]
