"""A small server runner around `loop.create_server`, serving the simulator's SMTP protocol.

Design rule: bind the port asked for (0 lets the OS choose) and read the real one back; a failure to
listen becomes `ServerStartError` naming host and port; stopping closes live connections too, and
pausing does the same but keeps the port, to listen there again. aiosmtpd's `Controller` cannot
report a port-0 bind, hence this runner. The protocol itself is `smtp.py`'s; its banner is the
vendor's `220 <hostname> ESMTP` (aiosmtpd's `ident`), never `Python SMTP <version>`.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Callable
from typing import Any

from simulator.core.errors import ServerStartError
from simulator.transport.limits import ConnectionGate
from simulator.transport.smtp import ConnectionHooks, ObservedSMTP


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
        self.handler = handler  # public: tests read what the handler recorded
        self._tls_context = tls_context
        self._smtp_options = smtp_options
        self._per_connection = per_connection
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._live: weakref.WeakSet[ObservedSMTP] = weakref.WeakSet()
        self._gate = ConnectionGate()

    def _protocol(self) -> ObservedSMTP:
        options = {"enable_SMTPUTF8": True, "tls_context": self._tls_context, "ident": "ESMTP",
                   **self._smtp_options}
        options.update(self._per_connection() if self._per_connection else {})
        protocol = ObservedSMTP(self.handler, **options)
        protocol.gate = self._gate
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
