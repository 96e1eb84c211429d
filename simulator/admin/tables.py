"""SMTP routes and the DNS zone table, listed and edited at a level (BEHAVIOUR.md §4.6).

Design rule: a level that sets no table of its own sees the one it inherits (machine > group >
cluster > built-in); an edit copies that table to the level, changed, so from then on the level
sets its own. Destinations, hosts and domains are read by core/config/text.py, as the `--config`
file reads them: `host:port[:priority]` (several, comma separated), `USEDNS` or `/dev/null`. A
level's tables are bounded (`bounds.py`: MOST_ROUTES, MOST_ZONE_DOMAINS); an edit past it is refused.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.actions import PENDING, ConfigAdmin, level_name
from simulator.admin.bounds import MOST_ROUTES, MOST_ZONE_DOMAINS
from simulator.core.config.cluster import ClusterConfig, Level, Resolved
from simulator.core.config.text import format_destination, mx_record, parse_hop, parse_route, zone_domain
from simulator.core.config.values import MxRecord, SmtpRoute
from simulator.core.errors import ConfigError, NotFound


def route_json(route: SmtpRoute) -> dict[str, Any]:
    """A route as the API shows it: its domain and its destination in the form `add_route` reads."""
    return {"domain": route.domain, "destination": format_destination(route)}


class TablesAdmin:
    """The routes table and the DNS zone table at any level."""

    def __init__(self, config: ConfigAdmin) -> None:
        self._config = config

    def _table(self, level_text: str, key: str, state: str) -> tuple[Level, Resolved]:
        level = self._config.level(level_text)
        return level, self._config.config(state).inherited(level, key)

    def routes(self, level_text: str, state: str) -> dict[str, Any]:
        level, found = self._table(level_text, "routes", state)
        return {"level": str(level), "from": level_name(found.level), "state": state,
                "uncommitted": self._config.store.pending is not None,
                "routes": [route_json(route) for route in found.value]}

    def add_route(self, level_text: str, domain: str, destination: str | list[str]) -> str:
        route, level = parse_route(domain, destination), self._config.level(level_text)

        def add(config: ClusterConfig) -> ClusterConfig:
            routes: tuple[SmtpRoute, ...] = config.inherited(level, "routes").value
            if any(known.domain.lower() == route.domain.lower() for known in routes):
                raise ConfigError("domain", f"a route for {route.domain} exists already at {level}; "
                                  "delete it first")
            if len(routes) >= MOST_ROUTES:
                raise ConfigError("routes", f"at most {MOST_ROUTES} routes at {level}; delete one first")
            return config.set(level, "routes", (*routes, route))

        self._config.submit(add)
        destination = route_json(route)["destination"]
        return f"Route {route.domain} -> {destination} added at {level} {PENDING}"

    def delete_route(self, level_text: str, domain: str) -> str:
        level = self._config.level(level_text)

        def delete(config: ClusterConfig) -> ClusterConfig:
            routes: tuple[SmtpRoute, ...] = config.inherited(level, "routes").value
            kept = tuple(route for route in routes if route.domain.lower() != domain.strip().lower())
            if len(kept) == len(routes):
                raise NotFound(f"route: no route for {domain!r} at {level}")
            return config.set(level, "routes", kept)

        self._config.submit(delete)
        return f"Route {domain} deleted at {level} {PENDING}"

    def zone(self, level_text: str, state: str) -> dict[str, Any]:
        level, found = self._table(level_text, "dns_zone", state)
        records = [{"domain": r.domain, "priority": r.priority, "host": r.host, "port": r.port}
                   for r in found.value]
        return {"level": str(level), "from": level_name(found.level), "state": state,
                "uncommitted": self._config.store.pending is not None, "records": records}

    def set_mx(self, level_text: str, domain: str, hops: list[str]) -> str:
        """Replace `domain`'s MX records at a level (none: remove them)."""
        name, level = zone_domain(domain), self._config.level(level_text)
        records = tuple(mx_record(name, parse_hop(hop)) for hop in hops)

        def replace(config: ClusterConfig) -> ClusterConfig:
            zone: tuple[MxRecord, ...] = config.inherited(level, "dns_zone").value
            kept = tuple(record for record in zone if record.domain.lower() != name.lower())
            if records and len({record.domain.lower() for record in kept}) >= MOST_ZONE_DOMAINS:
                raise ConfigError("dns_zone", f"at most {MOST_ZONE_DOMAINS} domains at {level}; "
                                              "remove one first")
            return config.set(level, "dns_zone", (*kept, *records))

        self._config.submit(replace)
        return f"{len(records)} MX record(s) for {name} set at {level} {PENDING}"
