"""The intake endpoint under test: the vendor's `[endpoint]` section and the value the checks use.

Design rule: the section is validated once (pydantic, unknown keys refused) and turned into a frozen
`EndpointTarget`; the checks never read the configuration again. The connector's TLS policy is the
gateway's (TLS 1.2 or better, the certificate verified against the given CA or the system store, by
`server_name`), built here so that every check speaks TLS the same way.
"""

from __future__ import annotations

import functools
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.defaults import DEFAULT_INTAKE_ADDRESSES
from simulator.transport.tls import MINIMUM_VERSION

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_ATTEMPTS = 3  # a 4xx is temporary: the first try and two more, each on a new connection
DEFAULT_RETRY_WAIT = 1.0
UNKNOWN_LOCAL_PART = "tdc-conformance-unknown"


def split_target(target: str) -> tuple[str, int]:
    """("host", port) from `HOST:PORT` (an IPv6 host in brackets); ValueError names the problem."""
    host, colon, port = target.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host.startswith("[") else host
    if not colon or not host or not port.isdecimal() or not 1 <= int(port) <= 65535:
        raise ValueError(f"target must be HOST:PORT with a port from 1 to 65535, not {target!r}")
    return host, int(port)


def _check_address(address: str) -> str:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address.strip()):
        raise ValueError(f"not an email address: {address!r}")
    return address.strip()


class EndpointSection(BaseModel):
    """The `[endpoint]` section of the vendor configuration file."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="HOST:PORT of the intake endpoint under test")
    #: The name its certificate must carry (None: the target's host).
    server_name: str | None = None
    #: PEM file of the CA its certificate comes from (None: the system trust store).
    ca: Path | None = None
    #: A tenant's intake address: the journals go to it.
    intake_address: str = DEFAULT_INTAKE_ADDRESSES[0]
    #: An address it must refuse with 5xx at RCPT (None: a made-up one in the intake domain).
    unknown_address: str | None = None
    #: Seconds to wait for any reply (and for a connection or a handshake).
    timeout: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0)
    #: Tries of a journal (or a probe's MAIL) answered with a 4xx, each on a new connection.
    attempts: int = Field(default=DEFAULT_ATTEMPTS, ge=1, le=10)
    #: Seconds to wait before such a new try.
    retry_wait: float = Field(default=DEFAULT_RETRY_WAIT, ge=0, le=600)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        split_target(value)
        return value.strip()

    @field_validator("intake_address", "unknown_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _check_address(value)


@dataclass(frozen=True)
class EndpointTarget:
    """Where the endpoint under test listens and what the checks send it."""

    host: str
    port: int
    server_name: str
    ca_pem: bytes | None  # None: the system trust store
    intake_address: str
    unknown_address: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    attempts: int = DEFAULT_ATTEMPTS
    retry_wait: float = DEFAULT_RETRY_WAIT

    @property
    def address(self) -> str:
        """`HOST:PORT` as a person reads it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def verifying_context(self) -> ssl.SSLContext:
        """A client context verifying the certificate by `server_name` against the CA or the store,
        whatever name the connection was opened by (a target given by address)."""
        context = NamedContext(ssl.PROTOCOL_TLS_CLIENT)
        context.options, context.verify_flags = _reference_policy(self.ca_pem)
        context.server_name = self.server_name
        if self.ca_pem is None:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            context.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        return context

    def connector_context(self) -> ssl.SSLContext:
        """The connector's TLS policy: a verifying context that refuses anything below TLS 1.2."""
        context = self.verifying_context()
        context.minimum_version = MINIMUM_VERSION
        return context


class NamedContext(ssl.SSLContext):
    """A client context that always verifies (and sends SNI for) `server_name`: the connector's
    client names its next hop by host, and a vendor's endpoint may be reached by address."""

    server_name: str | None = None

    def wrap_bio(
        self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
        server_hostname: str | bytes | None = None, session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        name = self.server_name or server_hostname
        return super().wrap_bio(incoming, outgoing, server_side, name, session)

    def wrap_socket(
        self, sock: socket.socket, server_side: bool = False, do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True, server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        name = self.server_name or server_hostname
        return super().wrap_socket(sock, server_side, do_handshake_on_connect, suppress_ragged_eofs,
                                   name, session)


def _check_ca(ca_pem: bytes) -> None:
    """ValueError unless `ca_pem` holds at least one PEM certificate OpenSSL can trust."""
    try:
        ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"the CA file holds no PEM certificate ({error})") from None


def unknown_address_for(intake_address: str) -> str:
    """An address in the intake domain that no tenant has."""
    return f"{UNKNOWN_LOCAL_PART}@{intake_address.rpartition('@')[2]}"


def endpoint_target_from(section: EndpointSection, ca_pem: bytes | None = None) -> EndpointTarget:
    """The target `section` describes; `ca_pem` (already read) wins over the section's `ca` file."""
    host, port = split_target(section.target)
    if ca_pem is None and section.ca is not None:
        ca_pem = section.ca.read_bytes()
    if ca_pem is not None:
        _check_ca(ca_pem)
    return EndpointTarget(
        host=host, port=port, server_name=section.server_name or host, ca_pem=ca_pem,
        intake_address=section.intake_address,
        unknown_address=section.unknown_address or unknown_address_for(section.intake_address),
        timeout=section.timeout, attempts=section.attempts, retry_wait=section.retry_wait,
    )


@functools.cache
def _reference_policy(ca_pem: bytes | None) -> tuple[ssl.Options, ssl.VerifyFlags]:
    """The options and verify flags of `ssl.create_default_context` (what the gateway's client uses),
    read once per trust: made with the target's CA, that context loads no system CA store (~40 ms,
    which a context without one loads anyway); its trust does not change them."""
    cadata = None if ca_pem is None else ca_pem.decode("ascii")
    reference = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=cadata)
    return reference.options, reference.verify_flags
