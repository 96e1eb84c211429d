"""The text forms of routing values that every entry point reads: domains, next hops
(`host:port[:priority]`), route destinations (hosts, `USEDNS`, `/dev/null`) and MX records
(BEHAVIOUR.md §4.6).

Design rule: one definition per rule. The admin API, the CLI and the `--config` file call these pure
functions, so the same text gives the same value or the same refusal: a ConfigError whose key names
the part (`domain`, `host`, `destination`, `mx`) and which a caller may re-key (the file names the
dotted key and its line). A host is a host name or an IP address (`[...]` around IPv6).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from simulator.core.config.values import MxRecord, NextHop, SmtpRoute
from simulator.core.errors import ConfigError

USEDNS, DEV_NULL = "USEDNS", "/dev/null"  # a route's destination: look the MX up; drop
CATCH_ALL = "ALL"  # the route for every domain no other route names
WILDCARD = "*"  # the MX records for every domain the zone does not name
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PRIORITY = r"[0-9]{1,9}"
_HOST = r"\[(?P<ipv6>[^\]]*)\]|(?P<host>[^:\[\]]*)"
_HOP = re.compile(rf"(?:{_HOST}):(?P<port>[0-9]+)(?::(?P<priority>{_PRIORITY}))?")


def domain_name(text: str) -> str:
    """`text` if it is a domain name (letters, digits and -, dot-separated labels)."""
    if not _DOMAIN.fullmatch(text):
        raise ConfigError("domain", f"not a domain name: {text!r}")
    return text


def route_domain(text: str) -> str:
    """A route's domain: `example.com`, `.example.com` (its sub-domains) or `ALL`."""
    if text != CATCH_ALL and not _DOMAIN.fullmatch(text.removeprefix(".")):
        raise ConfigError("domain", f"not a domain, .domain or {CATCH_ALL}: {text!r}")
    return text


def zone_domain(text: str) -> str:
    """An MX record's domain: a domain, or `*` for every domain without records of its own."""
    if text != WILDCARD and not _DOMAIN.fullmatch(text):
        raise ConfigError("domain", f"not a domain or {WILDCARD}: {text!r}")
    return text


def _is_host(host: str, bracketed: bool) -> bool:
    """A host name (its last label not all digits), an IP address; IPv6 only in brackets."""
    try:
        return (ipaddress.ip_address(host).version == 6) == bracketed
    except ValueError:
        return not bracketed and len(host) <= 253 and bool(_DOMAIN.fullmatch(host)) and not (
            host.rpartition(".")[2].isdecimal())


def _hop_parts(text: str) -> tuple[str, int, str | None]:
    """Host, port and the priority's text (None if not written) of `host:port[:priority]`."""
    if not (match := _HOP.fullmatch(text)):
        raise ConfigError("host", f"{text!r} is not host:port or host:port:priority")
    host = match["host"] if match["ipv6"] is None else match["ipv6"]
    if not _is_host(host, match["ipv6"] is not None):
        raise ConfigError("host", f"{text!r}: {host!r} is not a host name or IP address")
    if len(match["port"]) > 5 or not 1 <= int(match["port"]) <= 65535:
        raise ConfigError("host", f"{text!r}: port out of range 1-65535")
    return host, int(match["port"]), match["priority"]


def parse_hop(text: str) -> NextHop:
    """`host:port` or `host:port:priority` (priority 0 if not written)."""
    host, port, priority = _hop_parts(text)
    return NextHop(host, port, int(priority or 0))


def format_hop(hop: NextHop) -> str:
    """`host:port:priority`, the form `parse_hop` reads back."""
    host = f"[{hop.host}]" if ":" in hop.host else hop.host
    return f"{host}:{hop.port}:{hop.priority}"


def is_special(word: str) -> bool:
    """Is `word` a destination of its own, `USEDNS` or `/dev/null` (in any case)?"""
    return word.upper() in (USEDNS, DEV_NULL.upper())


def destination_words(destination: str | Sequence[str]) -> list[str]:
    """A destination's words: a list as given, a string split at commas."""
    if not isinstance(destination, str):
        return list(destination)
    return [word.strip() for word in destination.split(",")] if destination.strip() else []


def parse_route(domain: str, destination: str | Sequence[str]) -> SmtpRoute:
    """Mail for `domain` goes to hosts (`host:port[:priority]`, several), `USEDNS` or `/dev/null`."""
    route_domain(domain)
    words = destination_words(destination)
    special = {word.upper() for word in words if is_special(word)}
    if not words or (special and len(words) > 1):
        raise ConfigError("destination", f"either hosts, {USEDNS} or {DEV_NULL}, not {destination!r}")
    hops = () if special else tuple(parse_hop(word) for word in words)
    return SmtpRoute(domain, hops, use_dns=special == {USEDNS}, discard=special == {DEV_NULL.upper()})


def format_destination(route: SmtpRoute) -> str:
    """`USEDNS`, `/dev/null`, or the hosts, comma separated: the form `parse_route` reads back."""
    if route.use_dns or route.discard:
        return USEDNS if route.use_dns else DEV_NULL
    return ", ".join(format_hop(hop) for hop in route.hosts)


def parse_mx(text: str) -> NextHop:
    """An MX record as a zone file writes it, `PRIORITY host:port`: the hop it names."""
    priority, _, hop = text.partition(" ")
    if not re.fullmatch(_PRIORITY, priority):
        raise ConfigError("mx", f"{text!r} is not 'PRIORITY host:port'")
    host, port, written = _hop_parts(hop.strip())
    if written is not None:
        raise ConfigError("mx", f"{text!r} is not 'PRIORITY host:port' (the priority comes first)")
    return NextHop(host, port, int(priority))


def mx_record(domain: str, hop: NextHop) -> MxRecord:
    """`domain`'s MX record for `hop` (its priority is the record's)."""
    return MxRecord(zone_domain(domain), hop.priority, hop.host, hop.port)
