"""SMTP routes (BEHAVIOUR.md §4.6): exact beats `.domain` beats `ALL`; the longest suffix wins."""

from __future__ import annotations

import itertools

import pytest

from simulator.config import NextHop
from simulator.routing import NoRoute, next_hop

EXACT = NextHop("exact.relay.test", 25)
SUBDOMAINS = NextHop("sub.relay.test", 25)
DEEPER = NextHop("deeper.relay.test", 25)
CATCH_ALL = NextHop("smarthost.test", 25)
ROUTES = [
    ("example.com", EXACT),
    (".example.com", SUBDOMAINS),
    (".eu.example.com", DEEPER),
    ("ALL", CATCH_ALL),
]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("example.com", EXACT),
        ("sales.example.com", SUBDOMAINS),
        ("a.b.example.com", SUBDOMAINS),
        ("eu.example.com", SUBDOMAINS),
        ("paris.eu.example.com", DEEPER),
        ("other.test", CATCH_ALL),
        ("notexample.com", CATCH_ALL),
        ("example.com.evil.test", CATCH_ALL),
    ],
)
def test_next_hop_whatever_the_table_order(domain: str, expected: NextHop) -> None:
    for routes in itertools.permutations(ROUTES):
        assert next_hop(domain, routes) == expected, routes


def test_lookup_is_case_insensitive() -> None:
    assert next_hop("Sales.EXAMPLE.com", [(".Example.Com", SUBDOMAINS), ("all", CATCH_ALL)]) == SUBDOMAINS
    assert next_hop("EXAMPLE.COM", [("example.com", EXACT)]) == EXACT


def test_dot_domain_does_not_match_the_domain_itself() -> None:
    assert next_hop("example.com", [(".example.com", SUBDOMAINS), ("ALL", CATCH_ALL)]) == CATCH_ALL


def test_no_route_without_catch_all() -> None:
    with pytest.raises(NoRoute, match=r"other\.test"):
        next_hop("other.test", [("example.com", EXACT), (".example.com", SUBDOMAINS)])


def test_empty_table_has_no_route() -> None:
    with pytest.raises(NoRoute):
        next_hop("example.com", [])
