"""Next-hop selection: the SMTP routes table first, then the sandbox's DNS zone table.

Design rule: pure lookup (BEHAVIOUR.md §4.6). A route for the exact domain wins, then the longest
`.domain` match (sub-domains), then `ALL`; a domain with no route is delivered by DNS, as is one
whose route says `USEDNS`. DNS answers with the domain's MX records, else the `*` records, lowest
priority first. `/dev/null` drops. The journal copy's next hop goes through the same table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simulator.core.config.text import CATCH_ALL, WILDCARD
from simulator.core.config.values import MxRecord, NextHop, SmtpRoute
from simulator.core.errors import NoRoute


@dataclass(frozen=True)
class Resolution:
    """Where mail for one domain goes: `hosts` to try in order, or nowhere (`discard`)."""

    hosts: tuple[NextHop, ...] = ()
    discard: bool = False


def route_for(domain: str, routes: Iterable[SmtpRoute]) -> SmtpRoute | None:
    """The route that applies to `domain`, or None (then DNS decides)."""
    table = {route.domain.lower(): route for route in routes}
    domain = domain.lower()
    if domain in table:
        return table[domain]
    suffixes = [name for name in table if name.startswith(".") and domain.endswith(name)]
    if suffixes:
        return table[max(suffixes, key=len)]
    return table.get(CATCH_ALL.lower())


def mx_lookup(domain: str, zone: Iterable[MxRecord]) -> tuple[NextHop, ...]:
    """The MX hosts for `domain` (else the `*` records), lowest priority first; raises NoRoute."""
    records = list(zone)
    found = [r for r in records if r.domain.lower() == domain.lower()]
    found = found or [r for r in records if r.domain == WILDCARD]
    if not found:
        raise NoRoute(domain)
    return tuple(NextHop(r.host, r.port, r.priority) for r in sorted(found, key=lambda r: r.priority))


def resolve(domain: str, routes: Iterable[SmtpRoute], zone: Iterable[MxRecord]) -> Resolution:
    """Where mail for `domain` goes."""
    route = route_for(domain, routes)
    if route is None or route.use_dns:
        return Resolution(mx_lookup(domain, zone))
    if route.discard:
        return Resolution(discard=True)
    return Resolution(tuple(sorted(route.hosts, key=lambda hop: hop.priority)))
