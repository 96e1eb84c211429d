"""What one level of the `--config` file sets (`[cluster]`, `[group.NAME]`, `[machine.NAME]`), as
`cluster.SETTINGS`, and the file's DNS zone table.

Design rule: every value is checked where it is read, with the model's own validators
(`validate_address`, `MailPolicy`, `SmtpRoute`) under `Table.checking`, so a refusal names the key
and its line. Mail policies are read in config_policies.py.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from simulator.core.config.values import MxRecord, NextHop, SmtpRoute, validate_address
from simulator.core.errors import ConfigError
from simulator.core.mail.routing import CATCH_ALL, WILDCARD
from simulator.settings.policies import read_policies
from simulator.settings.toml_source import Table

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
USEDNS, DEV_NULL = "USEDNS", "/dev/null"

Reader = Callable[[Table, str], dict[str, Any]]


def _tdc(level: Table, key: str) -> dict[str, Any]:
    tdc = level.table(key).only(("enabled", "intake_address"))
    settings: dict[str, Any] = {}
    if "enabled" in tdc:
        settings["tdc.enabled"] = tdc.get("enabled", bool, False)
    if "intake_address" in tdc:
        with tdc.checking("intake_address"):
            address = validate_address("intake_address", tdc.need("intake_address", str))
        settings["tdc.intake_address"] = address
    return settings


def _domains(level: Table, key: str) -> dict[str, Any]:
    for index, domain in enumerate(domains := level.strings(key)):
        if not DOMAIN.fullmatch(domain):
            raise level.error(f"not a domain name: {domain!r}", key, index)
    return {key: domains}


def _networks(level: Table, key: str) -> dict[str, Any]:
    for index, network in enumerate(networks := level.strings(key)):
        with level.checking(key, index):
            try:
                ipaddress.ip_network(network)
            except ValueError as error:
                raise ConfigError(key, str(error)) from None
    return {key: networks}


def _users(level: Table, key: str) -> dict[str, Any]:
    users = level.table(key)
    return {key: tuple((user, users.need(user, str)) for user in users.values)}


def _positive(level: Table, key: str) -> dict[str, Any]:
    if (value := level.need(key, int)) < 1:
        raise level.error(f"must be at least 1, not {value}", key)
    return {key: value}


def next_hop(text: str) -> NextHop:
    """`host:port` or `host:port:priority`."""
    host, *numbers = text.split(":")
    if not DOMAIN.fullmatch(host) or len(numbers) not in (1, 2) or not all(n.isdecimal() for n in numbers):
        raise ConfigError("host", f"{text!r} is not host:port or host:port:priority")
    if not 1 <= int(numbers[0]) <= 65535:
        raise ConfigError("host", f"port out of range 1-65535 in {text!r}")
    return NextHop(host, int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else 0)


def _route(route: Table) -> SmtpRoute:
    route.only(("domain", "hosts"))
    domain = route.need("domain", str)
    if domain != CATCH_ALL and not DOMAIN.fullmatch(domain.removeprefix(".")):
        raise route.error(f"not a domain, .domain or {CATCH_ALL}: {domain!r}", "domain")
    given = route.need("hosts", object)
    hosts = (given,) if isinstance(given, str) else route.strings("hosts")
    special = [host.upper() for host in hosts if host.upper() in (USEDNS, DEV_NULL.upper())]
    if not hosts or (special and len(hosts) > 1):
        raise route.error(f"either hosts, {USEDNS} or {DEV_NULL}, not {hosts!r}", "hosts")
    hops = []
    for index, host in enumerate(() if special else hosts):
        with route.checking(*(("hosts", index) if isinstance(given, list) else ("hosts",))):
            hops.append(next_hop(host))
    return SmtpRoute(domain, tuple(hops), use_dns=special == [USEDNS], discard=special == [DEV_NULL.upper()])


def _routes(level: Table, key: str) -> dict[str, Any]:
    routes, tables = list[SmtpRoute](), level.tables(key)
    for table in tables:
        if (route := _route(table)).domain.lower() in {r.domain.lower() for r in routes}:
            raise table.error(f"a second route for {route.domain}", "domain")
        routes.append(route)
    return {key: tuple(routes)}


def _policies(level: Table, key: str) -> dict[str, Any]:
    return {"incoming_policies": read_policies(level, key)}


_READERS: dict[str, Reader] = {
    "tdc": _tdc, "local_domains": _domains, "relay_networks": _networks, "auth_users": _users,
    "max_message_size": _positive, "messages_per_connection": _positive, "policies": _policies,
    "routes": _routes,
}


def level_settings(level: Table) -> dict[str, Any]:
    """The `cluster.SETTINGS` that a level's table sets."""
    level.only(_READERS)
    settings: dict[str, Any] = {}
    for key in level.values:
        settings.update(_READERS[key](level, key))
    return settings


def _records(record: Table) -> tuple[MxRecord, ...]:
    record.only(("domain", "mx"))
    domain = record.need("domain", str)
    if domain != WILDCARD and not DOMAIN.fullmatch(domain):
        raise record.error(f"not a domain or {WILDCARD}: {domain!r}", "domain")
    if not (texts := record.strings("mx")):
        raise record.error("needs at least one 'PRIORITY host:port' record", "mx")
    records = []
    for index, text in enumerate(texts):
        priority, _, host = text.partition(" ")
        if not priority.isdecimal():
            raise record.error(f"{text!r} is not 'PRIORITY host:port'", "mx", index)
        with record.checking("mx", index):
            hop = next_hop(host.strip())
        records.append(MxRecord(domain, int(priority), hop.host, hop.port))
    return tuple(records)


def dns_zone(root: Table) -> tuple[MxRecord, ...]:
    """The `[[dns]]` records: the sandbox's DNS zone table, shared by every machine."""
    zone: list[MxRecord] = []
    for table in root.tables("dns"):
        records = _records(table)
        if records[0].domain.lower() in {r.domain.lower() for r in zone}:
            raise table.error(f"a second [[dns]] entry for {records[0].domain}", "domain")
        zone += records
    return tuple(zone)
