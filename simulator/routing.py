"""Next-hop selection for a recipient domain through the SMTP routes table.

Design rule: pure lookup. An exact domain wins, then the longest `.domain` match (sub-domains), then
`ALL`. The journal copy's next hop goes through the same table as any mail.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.config import NextHop

CATCH_ALL = "ALL"


class NoRoute(LookupError):
    """No route, not even ALL, for a domain."""


def next_hop(domain: str, routes: Iterable[tuple[str, NextHop]]) -> NextHop:
    """The next hop for `domain`."""
    table = {name.lower(): hop for name, hop in routes}
    domain = domain.lower()
    if domain in table:
        return table[domain]
    suffixes = [name for name in table if name.startswith(".") and domain.endswith(name)]
    if suffixes:
        return table[max(suffixes, key=len)]
    if CATCH_ALL.lower() in table:
        return table[CATCH_ALL.lower()]
    raise NoRoute(domain)
