"""What one level of the `--config` file sets (`[cluster]`, `[group.NAME]`, `[machine.NAME]`), as
`cluster.SETTINGS`, and the entries of the file's DNS zone table.

Design rule: every value is checked where it stands by the one core function for it
(`validate_address`, core/config/text.py for domains, hosts, routes and MX records), so the file
and the admin API read the same text the same way. A level sets only the keys it writes.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from simulator.core.config.text import (
    destination_words,
    domain_name,
    is_special,
    mx_record,
    parse_hop,
    parse_mx,
    parse_route,
    route_domain,
    zone_domain,
)
from simulator.core.config.values import MxRecord, SmtpRoute
from simulator.core.errors import ConfigError
from simulator.settings.policies import Address, PolicyTable, check_table, incoming_policies
from simulator.settings.refusals import Section, checked, refuse


def _network(text: str) -> str:
    """An IP network, `10.0.0.0/8`, without host bits."""
    try:
        ipaddress.ip_network(text)
    except ValueError as error:
        raise ConfigError("network", str(error)) from None
    return text


def _destination_word(word: str) -> None:
    """A host (`host:port[:priority]`), unless the word is `USEDNS` or `/dev/null`."""
    if not is_special(word):
        parse_hop(word)


def _split(hosts: object) -> object:
    """A string of hosts is a comma-separated list, as the admin API reads it."""
    return destination_words(hosts) if isinstance(hosts, str) else hosts


Domain = Annotated[str, AfterValidator(checked(domain_name))]
Network = Annotated[str, AfterValidator(checked(_network))]
DestinationWord = Annotated[str, AfterValidator(checked(_destination_word))]
AtLeastOne = Annotated[int, Field(ge=1)]


class Tdc(Section):
    """`tdc.enabled` and `tdc.intake_address`: the connector's global settings at a level."""

    enabled: bool | None = None
    intake_address: Address | None = None


class Route(Section):
    """`[[...routes]]`: mail for `domain` goes to `hosts`, or `USEDNS`, or `/dev/null`."""

    domain: Annotated[str, AfterValidator(checked(route_domain))]
    hosts: Annotated[list[DestinationWord], BeforeValidator(_split)]

    @model_validator(mode="after")
    def _one_destination(self) -> Route:
        try:
            self.value()
        except ConfigError as error:
            raise refuse(error.reason, "hosts") from None
        return self

    def value(self) -> SmtpRoute:
        return parse_route(self.domain, self.hosts)


class DnsEntry(Section):
    """`[[dns]]`: a domain's MX records, `PRIORITY host:port` each."""

    domain: Annotated[str, AfterValidator(checked(zone_domain))]
    mx: list[Annotated[str, AfterValidator(checked(parse_mx))]]

    @field_validator("mx")
    @classmethod
    def _some(cls, mx: list[str]) -> list[str]:
        if not mx:
            raise refuse("needs at least one 'PRIORITY host:port' record")
        return mx

    def records(self) -> tuple[MxRecord, ...]:
        return tuple(mx_record(self.domain, parse_mx(text)) for text in self.mx)


def _unique_routes(routes: list[Route] | None) -> list[Route] | None:
    for index, route in enumerate(routes or ()):
        if route.domain.lower() in {known.domain.lower() for known in (routes or ())[:index]}:
            raise refuse(f"a second route for {route.domain}", index, "domain")
    return routes


class LevelTable(Section):
    """`[cluster]`, `[group.NAME]` or `[machine.NAME]`: the same keys at each level."""

    tdc: Tdc | None = None
    local_domains: list[Domain] | None = None
    relay_networks: list[Network] | None = None
    auth_users: dict[str, str] | None = None
    max_message_size: AtLeastOne | None = None
    messages_per_connection: AtLeastOne | None = None
    policies: Annotated[list[PolicyTable], AfterValidator(check_table)] | None = None
    routes: Annotated[list[Route], AfterValidator(_unique_routes)] | None = None

    def settings(self) -> dict[str, Any]:
        """The `cluster.SETTINGS` this level sets, as the core's values."""
        tdc = self.tdc.model_dump(exclude_none=True) if self.tdc else {}
        values = {
            "local_domains": _frozen(self.local_domains), "relay_networks": _frozen(self.relay_networks),
            "auth_users": None if self.auth_users is None else tuple(self.auth_users.items()),
            "max_message_size": self.max_message_size,
            "messages_per_connection": self.messages_per_connection,
            "incoming_policies": None if self.policies is None else incoming_policies(self.policies),
            "routes": None if self.routes is None else tuple(route.value() for route in self.routes),
        }
        return {**{f"tdc.{key}": value for key, value in tdc.items()},
                **{key: value for key, value in values.items() if value is not None}}


def _frozen(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
