"""SMTP routes and the DNS zone table, listed and edited at a level (BEHAVIOUR.md §4.6).

Design rule: a level that sets no table of its own sees the one it inherits (machine > group >
cluster > built-in); an edit copies that table to the level, changed, so from then on the level
sets its own. Destinations read as the vendor writes them: `host:port[:priority]` (several, comma
separated), `USEDNS` or `/dev/null`.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.actions import PENDING, ConfigAdmin, level_name
from simulator.core.config.cluster import ClusterConfig, Level, Resolved
from simulator.core.config.values import MxRecord, NextHop, SmtpRoute
from simulator.core.errors import ConfigError, NotFound

USEDNS, DEV_NULL = "USEDNS", "/dev/null"


def parse_hop(text: str) -> NextHop:
    """`host:port[:priority]`; ConfigError naming the part that is wrong."""
    parts = text.strip().split(":")
    host, port, priority = (*parts, "0")[:3] if len(parts) in (2, 3) else ("", "", "")
    if not host or any(ch.isspace() for ch in host):
        raise ConfigError("host", f"{text!r} is not host:port[:priority]")
    if not port.isdecimal() or not 1 <= int(port) <= 65535:
        raise ConfigError("host", f"{text!r}: the port must be a number from 1 to 65535")
    if not priority.isdecimal():
        raise ConfigError("host", f"{text!r}: the priority must be a whole number of at least 0")
    return NextHop(host, int(port), int(priority))


def format_hop(hop: NextHop) -> str:
    return f"{hop.host}:{hop.port}:{hop.priority}"


def check_domain(text: str) -> str:
    """A route's or MX record's domain: `example.com`, `.example.com`, `ALL` or `*`, no spaces."""
    domain = text.strip()
    if not domain or any(ch.isspace() or ch in "@,;<>" for ch in domain):
        raise ConfigError("domain", f"{text!r} is not a domain, .domain or ALL")
    return domain


def parse_route(domain: str, destination: str | list[str]) -> SmtpRoute:
    """A route from its domain and destination: USEDNS, /dev/null, or hosts."""
    hops = destination if isinstance(destination, list) else destination.split(",")
    words = [hop.strip() for hop in hops if hop.strip()]
    if [word.upper() for word in words] == [USEDNS]:
        return SmtpRoute(check_domain(domain), use_dns=True)
    if words == [DEV_NULL]:
        return SmtpRoute(check_domain(domain), discard=True)
    if not words:
        raise ConfigError("destination", f"give hosts (host:port[:priority]), {USEDNS} or {DEV_NULL}")
    return SmtpRoute(check_domain(domain), hosts=tuple(parse_hop(word) for word in words))


def route_json(route: SmtpRoute) -> dict[str, Any]:
    destination = USEDNS if route.use_dns else DEV_NULL if route.discard else ", ".join(
        format_hop(hop) for hop in route.hosts)
    return {"domain": route.domain, "destination": destination}


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
        name, level = check_domain(domain), self._config.level(level_text)
        records = tuple(MxRecord(name, hop.priority, hop.host, hop.port) for hop in map(parse_hop, hops))

        def replace(config: ClusterConfig) -> ClusterConfig:
            zone: tuple[MxRecord, ...] = config.inherited(level, "dns_zone").value
            kept = tuple(record for record in zone if record.domain.lower() != name.lower())
            return config.set(level, "dns_zone", (*kept, *records))

        self._config.submit(replace)
        return f"{len(records)} MX record(s) for {name} set at {level} {PENDING}"
