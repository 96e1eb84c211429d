"""A small server runner around `loop.create_server`, and aiosmtpd's SMTP with connection hooks.

Design rule: bind the port asked for (0 lets the OS choose) and read the real one back; a failure to
listen becomes `ServerStartError` naming host and port; stopping closes live connections too.
aiosmtpd's `Controller` cannot report a port-0 bind, hence this runner.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP

from simulator.errors import ServerStartError


class ConnectionHooks(Protocol):
    """What a handler implements to hear about connections (aiosmtpd has no hook for them)."""

    def connection_opened(self, server: ObservedSMTP) -> object: ...

    def connection_closed(self, server: ObservedSMTP) -> None: ...


class ObservedSMTP(SMTP):
    """aiosmtpd's SMTP protocol that tells its handler when a connection opens and closes.

    Per-connection state lives in `self.connection` (whatever `connection_opened` returns) because
    aiosmtpd replaces the `Session` object after STARTTLS.
    """

    connection: Any = None

    def close_connection(self) -> None:
        """Close the client connection (e.g. after a 421)."""
        if self.transport is not None:
            self.transport.close()

    @property
    def peer_ip(self) -> str:
        """The client's IP address."""
        return str(self.session.peer[0]) if self.session and self.session.peer else ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self.connection = self.event_handler.connection_opened(self)

    def connection_lost(self, error: Exception | None) -> None:
        if self.connection is not None:
            self.event_handler.connection_closed(self)
            self.connection = None
        super().connection_lost(error)


class SmtpServer:
    """One listening SMTP server on `host:port`, serving `handler` with aiosmtpd."""

    def __init__(
        self,
        name: str,
        handler: ConnectionHooks,
        host: str,
        port: int,
        tls_context: ssl.SSLContext | None = None,
        per_connection: Callable[[], dict[str, Any]] | None = None,
        **smtp_options: Any,
    ) -> None:
        self.name = name
        self.host = host
        self._requested_port = port
        self._handler = handler
        self._tls_context = tls_context
        self._smtp_options = smtp_options
        self._per_connection = per_connection
        self._server: asyncio.Server | None = None
        self._live: weakref.WeakSet[ObservedSMTP] = weakref.WeakSet()

    def _protocol(self) -> ObservedSMTP:
        options = {**self._smtp_options, **(self._per_connection() if self._per_connection else {})}
        protocol = ObservedSMTP(
            self._handler, tls_context=self._tls_context, enable_SMTPUTF8=True, **options
        )
        self._live.add(protocol)
        return protocol

    async def start(self) -> None:
        """Listen; raise `ServerStartError` if the address cannot be bound."""
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._protocol, self.host, self._requested_port)
        except OSError as error:
            reason = error.strerror or str(error)
            raise ServerStartError(self.name, self.host, self._requested_port, reason) from error

    @property
    def port(self) -> int:
        """The port actually bound."""
        if self._server is None:
            raise RuntimeError(f"{self.name} is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is None:
            return
        self._server.close()
        for protocol in list(self._live):
            if protocol.transport is not None:
                protocol.transport.close()
        await self._server.wait_closed()
        self._server = None


class EndpointConnection:
    """A mock endpoint's view of one client connection."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.messages = 0


class EndpointHandler:
    """Base of the mock endpoints' handlers: numbers connections and reads their TLS state."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def connection_opened(self, server: ObservedSMTP) -> EndpointConnection:
        return EndpointConnection(next(self._numbers))

    def connection_closed(self, server: ObservedSMTP) -> None:
        """Nothing to do: endpoints keep no per-connection state beyond the connection."""

    @staticmethod
    def tls_of(session: Any) -> tuple[str, str]:
        """(protocol, cipher) of the session, or ("", "") in plaintext."""
        if not session.ssl:
            return "", ""
        ssl_object = session.ssl.get("ssl_object")
        cipher = ssl_object.cipher() if ssl_object is not None else None
        version = ssl_object.version() if ssl_object is not None else ""
        return version or "", cipher[0] if cipher else ""
