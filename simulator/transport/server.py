"""A small server runner around `loop.create_server`, and aiosmtpd's SMTP with connection hooks.

Design rule: bind the port asked for (0 lets the OS choose) and read the real one back; a failure to
listen becomes `ServerStartError` naming host and port; stopping closes live connections too, and
pausing does the same but keeps the port, to listen there again. aiosmtpd's `Controller` cannot
report a port-0 bind, hence this runner. Only aiosmtpd's public API is used: `SMTP` subclassed
with `smtp_<COMMAND>` overrides, its documented attributes, and `push`.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from aiosmtpd.smtp import SMTP, Envelope, syntax

from simulator.core.errors import ServerStartError


def envelope_sender(address: str) -> str:
    """MAIL FROM as the simulator keeps it: aiosmtpd hands the null sender over as "<>", we use "".

    Read it through this function; the envelope itself must keep "<>", which aiosmtpd takes as
    "MAIL was given" (an empty string would make it answer 503 to RCPT).
    """
    return "" if address == "<>" else address


def data_would_start(envelope: Envelope | None, arg: str) -> bool:
    """Whether aiosmtpd's own `smtp_DATA` would answer 354 to `DATA arg`, not its 503 or 501.

    A copy of aiosmtpd's guard (1.4: a recipient was accepted, which implies HELO and any AUTH, and
    no argument), because aiosmtpd has no hook between that guard and its 354;
    tests/test_server_data_guard.py fails if aiosmtpd stops answering as this assumes.
    """
    return envelope is not None and bool(envelope.rcpt_tos) and not arg


class ConnectionHooks(Protocol):
    """What a handler implements to hear about connections and the DATA command before its 354
    (aiosmtpd has no hook for either)."""

    def connection_opened(self, server: ObservedSMTP) -> object: ...

    def connection_closed(self, server: ObservedSMTP) -> None: ...

    async def before_data(self, server: ObservedSMTP) -> str | None:
        """A reply to DATA instead of the 354, or None to let aiosmtpd go on."""


class ObservedSMTP(SMTP):
    """aiosmtpd's SMTP protocol that tells its handler when a connection opens and closes.

    Per-connection state lives in `self.connection` (whatever `connection_opened` returns) because
    aiosmtpd replaces the `Session` object after STARTTLS.
    """

    connection: Any = None
    event_handler: ConnectionHooks

    def close_connection(self) -> None:
        """Close the client connection (e.g. after a 421)."""
        if self.transport is not None:
            self.transport.close()

    def abort_connection(self) -> None:
        """Close the client connection at once, dropping any reply not yet sent."""
        if isinstance(self.transport, asyncio.Transport):
            self.transport.abort()

    async def drop(self) -> NoReturn:
        """Close without a reply; the command's coroutine ends when `connection_lost` cancels it."""
        self.abort_connection()
        await self.loop.create_future()
        raise ConnectionAbortedError("dropped")  # not reached: the future is never set

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """DATA, asking the handler's `before_data` first where aiosmtpd would answer 354."""
        if data_would_start(self.envelope, arg):
            reply = await self.event_handler.before_data(self)
            if reply is not None:
                await self.push(reply)
                return
        await super().smtp_DATA(arg)

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
        self._port: int | None = None
        self._live: weakref.WeakSet[ObservedSMTP] = weakref.WeakSet()

    def _protocol(self) -> ObservedSMTP:
        options = {"tls_context": self._tls_context, **self._smtp_options}
        options.update(self._per_connection() if self._per_connection else {})
        protocol = ObservedSMTP(self._handler, enable_SMTPUTF8=True, **options)
        self._live.add(protocol)
        return protocol

    async def _listen(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._protocol, self.host, port)
        except OSError as error:
            reason = error.strerror or str(error)
            raise ServerStartError(self.name, self.host, port, reason) from error
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen; raise `ServerStartError` if the address cannot be bound."""
        await self._listen(self._requested_port)

    @property
    def port(self) -> int:
        """The port actually bound (still known while paused or after stopping)."""
        if self._port is None:
            raise RuntimeError(f"{self.name} has not started")
        return self._port

    async def pause(self) -> None:
        """Stop listening and close every open connection; `resume` listens on the same port."""
        if self._server is None:
            return
        self._server.close()
        for protocol in list(self._live):
            if protocol.transport is not None:
                protocol.transport.close()
        await self._server.wait_closed()
        self._server = None

    async def resume(self) -> None:
        """Listen again on the port this server had; nothing if it is listening or never started."""
        if self._server is None and self._port is not None:
            await self._listen(self._port)

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        await self.pause()
