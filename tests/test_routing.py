"""SMTP routes and the DNS zone table (BEHAVIOUR.md §4.6): exact beats `.domain` beats `ALL`,
no route or USEDNS means DNS, `/dev/null` drops."""

from __future__ import annotations

import itertools

import pytest

from simulator.core.config.values import MxRecord, NextHop, SmtpRoute
from simulator.core.errors import ConfigError, NoRoute
from simulator.core.mail.routing import Resolution, resolve, route_for

EXACT = NextHop("exact.relay.test", 25)
SUBDOMAINS = NextHop("sub.relay.test", 25)
DEEPER = NextHop("deeper.relay.test", 25)
CATCH_ALL = NextHop("smarthost.test", 25)
ROUTES = [
    SmtpRoute("example.com", (EXACT,)),
    SmtpRoute(".example.com", (SUBDOMAINS,)),
    SmtpRoute(".eu.example.com", (DEEPER,)),
    SmtpRoute("ALL", (CATCH_ALL,)),
]
INTAKE_MX = MxRecord("intake.td.test", 10, "127.0.0.1", 2527)
ANY_MX = MxRecord("*", 10, "127.0.0.1", 2528)
ZONE = (INTAKE_MX, ANY_MX)


def hosts(domain: str, routes: list[SmtpRoute], zone: tuple[MxRecord, ...] = ZONE) -> tuple[NextHop, ...]:
    return resolve(domain, routes, zone).hosts


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
def test_route_whatever_the_table_order(domain: str, expected: NextHop) -> None:
    for routes in itertools.permutations(ROUTES):
        assert hosts(domain, list(routes)) == (expected,), routes


def test_lookup_is_case_insensitive() -> None:
    routes = [SmtpRoute(".Example.Com", (SUBDOMAINS,)), SmtpRoute("all", (CATCH_ALL,))]
    assert hosts("Sales.EXAMPLE.com", routes) == (SUBDOMAINS,)


def test_dot_domain_does_not_match_the_domain_itself() -> None:
    routes = [SmtpRoute(".example.com", (SUBDOMAINS,)), SmtpRoute("ALL", (CATCH_ALL,))]
    assert hosts("example.com", routes) == (CATCH_ALL,)


def test_no_route_means_dns_exact_record_before_wildcard() -> None:
    assert hosts("intake.td.test", []) == (NextHop("127.0.0.1", 2527, 10),)
    assert hosts("anything.test", []) == (NextHop("127.0.0.1", 2528, 10),)


def test_the_documented_pitfall_and_its_fix() -> None:
    """A catch-all route swallows the copies until the intake domain gets USEDNS."""
    catch_all = [SmtpRoute("ALL", (CATCH_ALL,))]
    assert hosts("intake.td.test", catch_all) == (CATCH_ALL,)
    fixed = [SmtpRoute("intake.td.test", use_dns=True), *catch_all]
    assert hosts("intake.td.test", fixed) == (NextHop("127.0.0.1", 2527, 10),)
    assert hosts("other.test", fixed) == (CATCH_ALL,)


def test_several_hosts_and_mx_records_come_lowest_priority_first() -> None:
    route = SmtpRoute("example.com", (NextHop("b", 25, 20), NextHop("a", 25, 10)))
    assert [h.host for h in hosts("example.com", [route])] == ["a", "b"]
    zone = (MxRecord("x.test", 30, "late", 25), MxRecord("x.test", 5, "early", 25))
    assert [h.host for h in hosts("x.test", [], zone)] == ["early", "late"]


def test_dev_null_discards() -> None:
    assert resolve("spam.test", [SmtpRoute("spam.test", discard=True)], ZONE) == Resolution(discard=True)


def test_no_route_and_no_mx_is_no_route() -> None:
    with pytest.raises(NoRoute, match=r"other\.test"):
        resolve("other.test", [SmtpRoute("example.com", (EXACT,))], (INTAKE_MX,))


def test_route_for_is_none_when_dns_decides() -> None:
    assert route_for("other.test", [SmtpRoute("example.com", (EXACT,))]) is None


@pytest.mark.parametrize("options", [{}, {"use_dns": True, "discard": True},
                                     {"hosts": (EXACT,), "use_dns": True}])
def test_a_route_needs_exactly_one_destination(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SmtpRoute("example.com", **options)  # type: ignore[arg-type]
