"""The gateway's configuration as frozen values.

Design rule: a `GatewayConfig` never changes; a change makes a new one (`dataclasses.replace`) and is
swapped in whole by `ConfigHolder.commit`. Running parts read the snapshot they were handed. The
clustered, layered model (cluster > group > machine) resolves to one of these per machine.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Literal

from simulator.core.errors import ConfigError

FilterAction = Literal["drop", "quarantine"]

# One address, local@domain, with no spaces, commas, angle brackets or control characters.
_ADDRESS_RE = re.compile(
    r"[^\s@,<>;\"\x00-\x1f\x7f]+"  # local part
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"  # domain, at least one dot
)


def validate_address(key: str, address: str) -> str:
    """Return `address` if it is one plain `local@domain` address, else raise ConfigError."""
    if not address:
        raise ConfigError(key, "is empty")
    if any(ch in address for ch in "\r\n"):
        raise ConfigError(key, "contains a line break")
    if "," in address or ";" in address or address.count("@") > 1:
        raise ConfigError(key, f"must be one address, not several: {address!r}")
    if any(ch.isspace() for ch in address):
        raise ConfigError(key, f"contains spaces: {address!r}")
    if not _ADDRESS_RE.fullmatch(address):
        raise ConfigError(key, f"is not a local@domain address: {address!r}")
    return address


def domain_of(address: str) -> str:
    """The domain part of an address, lower-cased."""
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class ContentFilter:
    """A content-filter rule: `header` names a header to search, or None to search the body."""

    name: str
    contains: str
    action: FilterAction
    header: str | None = None


TdcMode = Literal["default", "custom", "no-scan"]
TDC_MODES: tuple[TdcMode, ...] = ("default", "custom", "no-scan")


@dataclass(frozen=True)
class MailPolicy:
    """An incoming mail policy; `recipients` empty means it matches everyone (DEFAULT).

    `tdc` is the per-policy journaling choice (AsyncOS 15.5.1+): the Default Message Intake
    Address, a Custom one (`tdc_intake`, a second Threat Defense account), or No Scan.
    """

    name: str
    recipients: tuple[str, ...] = ()
    anti_spam: bool = True
    anti_virus: bool = True
    content_filters: tuple[ContentFilter, ...] = ()
    tdc: TdcMode = "default"
    tdc_intake: str = ""

    def __post_init__(self) -> None:
        if self.tdc not in TDC_MODES:
            raise ConfigError(f"policy {self.name}", f"unknown Threat Defense mode {self.tdc!r}")
        if self.tdc == "custom":
            validate_address(f"policy {self.name} custom intake address", self.tdc_intake)


DEFAULT_POLICY = MailPolicy("DEFAULT")


@dataclass(frozen=True)
class NextHop:
    """A host that takes mail: name or address (also the TLS name to verify), port, priority."""

    host: str
    port: int
    priority: int = 0


@dataclass(frozen=True)
class SmtpRoute:
    """Mail for `domain` (exact, `.domain` for sub-domains, or `ALL`) goes to `hosts` (lowest
    priority first), or is looked up in DNS (`use_dns`: the USEDNS destination), or is dropped
    (`discard`: /dev/null). Exactly one of the three."""

    domain: str
    hosts: tuple[NextHop, ...] = ()
    use_dns: bool = False
    discard: bool = False

    def __post_init__(self) -> None:
        if [bool(self.hosts), self.use_dns, self.discard].count(True) != 1:
            raise ConfigError(f"route {self.domain}", "needs hosts, USEDNS or /dev/null (one of them)")


@dataclass(frozen=True)
class MxRecord:
    """An MX record of the sandbox's DNS zone table; `domain` "*" answers for any other domain."""

    domain: str
    priority: int
    host: str
    port: int


@dataclass(frozen=True)
class ConnectorSettings:
    """The Threat Defense Connector's global settings."""

    enabled: bool = False
    intake_address: str = ""

    def __post_init__(self) -> None:
        if self.enabled:
            validate_address("intake_address", self.intake_address)


@dataclass(frozen=True)
class GatewayConfig:
    """Everything one gateway machine needs to know, resolved for that machine."""

    machine: str = "esa1"
    hostname: str = "esa1.sandbox.test"
    local_domains: tuple[str, ...] = ("example.com",)
    relay_networks: tuple[str, ...] = ("127.0.0.0/8",)
    auth_users: tuple[tuple[str, str], ...] = (("sandbox", "sandbox"),)
    max_message_size: int = 10 * 1024 * 1024
    incoming_policies: tuple[MailPolicy, ...] = (DEFAULT_POLICY,)
    connector: ConnectorSettings = field(default_factory=ConnectorSettings)
    system_address: str = "tdc-journal@esa1.sandbox.test"
    routes: tuple[SmtpRoute, ...] = ()
    dns_zone: tuple[MxRecord, ...] = ()
    messages_per_connection: int = 10
    #: The listener's Max. Concurrent Connections, and the HAT's from a single IP (AsyncOS's defaults).
    max_connections: int = 50
    max_connections_per_ip: int = 10

    def __post_init__(self) -> None:
        validate_address("system_address", self.system_address)
        if not self.incoming_policies or self.incoming_policies[-1].recipients:
            raise ConfigError("incoming_policies", "the last policy must be DEFAULT (no recipients)")
        for key in ("messages_per_connection", "max_connections", "max_connections_per_ip"):
            if getattr(self, key) < 1:
                raise ConfigError(key, "must be at least 1")

    def is_local(self, address: str) -> bool:
        """Is `address` in one of the local domains (the recipient access table)?"""
        return domain_of(address) in {d.lower() for d in self.local_domains}


class ConfigHolder:
    """Holds the committed configuration; commit swaps one reference."""

    def __init__(self, config: GatewayConfig) -> None:
        self._config = config
        self._lock = threading.Lock()

    @property
    def current(self) -> GatewayConfig:
        with self._lock:
            return self._config

    def commit(self, config: GatewayConfig) -> None:
        with self._lock:
            self._config = config
