"""What one level of the `--config` file sets (`[cluster]`, `[group.NAME]`, `[machine.NAME]`), as
`cluster.SETTINGS`, and the entries of the file's DNS zone table.

Design rule: every value is checked where it stands by the one core function for it
(`validate_address`; core/config/text.py for domains, hosts, routes and MX records), so the file
and the admin API read the same text the same way. A level sets only the keys it writes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from simulator.core.config import text
from simulator.core.config.values import MxRecord, SmtpRoute
from simulator.core.errors import ConfigError
from simulator.settings.policies import Address, PolicyList, incoming_policies
from simulator.settings.refusals import Section, checked, refuse, rule, unique


def _network(network: str) -> None:
    """An IP network, `10.0.0.0/8`, without host bits."""
    try:
        ipaddress.ip_network(network)
    except ValueError as error:
        raise ConfigError("network", str(error)) from None


def _destination_word(word: str) -> None:
    """A host (`host:port[:priority]`), unless the word is `USEDNS` or `/dev/null`."""
    if not text.is_special(word):
        text.parse_hop(word)


def _split(hosts: object) -> object:
    """A string of hosts is a comma-separated list, as the admin API reads it."""
    return text.destination_words(hosts) if isinstance(hosts, str) else hosts


AtLeastOne = Annotated[int, Field(ge=1)]
MxText = Annotated[str, checked(text.parse_mx)]


class Tdc(Section):
    """`tdc.enabled` and `tdc.intake_address`: the connector's global settings at a level."""

    enabled: bool | None = None
    intake_address: Address | None = None


class Route(Section):
    """`[[...routes]]`: mail for `domain` goes to `hosts`, or `USEDNS`, or `/dev/null`."""

    domain: Annotated[str, checked(text.route_domain)]
    hosts: Annotated[list[Annotated[str, checked(_destination_word)]], BeforeValidator(_split)]

    @model_validator(mode="after")
    def _one_destination(self) -> Route:
        try:
            self.value()
        except ConfigError as error:
            raise refuse(error.reason, "hosts") from None
        return self

    def value(self) -> SmtpRoute:
        return text.parse_route(self.domain, self.hosts)


class DnsEntry(Section):
    """`[[dns]]`: a domain's MX records, `PRIORITY host:port` each."""

    domain: Annotated[str, checked(text.zone_domain)]
    mx: Annotated[list[MxText], rule(bool, "needs at least one 'PRIORITY host:port' record")]

    def records(self) -> tuple[MxRecord, ...]:
        return tuple(text.mx_record(self.domain, text.parse_mx(record)) for record in self.mx)


class LevelTable(Section):
    """`[cluster]`, `[group.NAME]` or `[machine.NAME]`: the same keys at each level."""

    tdc: Tdc | None = None
    local_domains: list[Annotated[str, checked(text.domain_name)]] | None = None
    relay_networks: list[Annotated[str, checked(_network)]] | None = None
    auth_users: dict[str, str] | None = None
    max_message_size: AtLeastOne | None = None
    messages_per_connection: AtLeastOne | None = None
    policies: PolicyList | None = None
    routes: Annotated[list[Route], unique("a second route for {}", "domain", str.lower)] | None = None

    def settings(self) -> dict[str, Any]:
        """The `cluster.SETTINGS` this level sets, as the core's values."""
        tdc = self.tdc.model_dump(exclude_none=True) if self.tdc else {}
        found = {f"tdc.{key}": value for key, value in tdc.items()}
        for key in type(self).model_fields:
            if key != "tdc" and key in self.model_fields_set:
                setting, core_value = _SETTINGS.get(key, (key, _frozen))
                found[setting] = core_value(getattr(self, key))
        return found


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


#: A level table's key -> the setting it sets and its value there (if not the key, `_frozen`).
_SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "auth_users": ("auth_users", lambda users: tuple(users.items())),
    "policies": ("incoming_policies", incoming_policies),
    "routes": ("routes", lambda routes: tuple(route.value() for route in routes)),
}
