"""An event loop that writes down every byte the connector's SMTP client sends and receives.

Design rule: the kit sends journals with the gateway's own `OutboundSession`, untouched; to keep a
transcript of what it said, the kit runs it on this loop, whose connections (and the TLS they are
upgraded to) pass through recording stand-ins. The loop belongs to one check, so nothing else's
traffic can enter its transcript.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from simulator.conformance.endpoint.smtp_probe import describe
from simulator.conformance.endpoint.transcript import Transcript


class _RecordingTransport:
    """A transport that writes what is sent (and who closed it) to the loop's transcript."""

    def __init__(self, inner: Any, loop: RecordingLoop) -> None:
        self.inner, self._loop = inner, loop

    def write(self, data: bytes) -> None:
        self._loop.transcript.sent_bytes(data)
        self.inner.write(data)

    def close(self) -> None:
        if not self.inner.is_closing():
            self._loop.transcript.note("the connector closes the connection")
        self._loop.connection_open = False
        self.inner.close()

    def abort(self) -> None:
        self._loop.connection_open = False
        self.inner.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _RecordingProtocol(asyncio.Protocol):
    """A protocol that writes what is received (and the end of the connection) to the transcript."""

    def __init__(self, inner: Any, loop: RecordingLoop) -> None:
        self.inner, self._loop = inner, loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._loop.connection_open = True
        self.inner.connection_made(_RecordingTransport(transport, self._loop))

    def data_received(self, data: bytes) -> None:
        self._loop.transcript.received_bytes(data)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        self._loop.transcript.note("the endpoint closed the connection")
        handler = getattr(self.inner, "eof_received", None)
        return handler() if handler is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._loop.connection_open:
            self._loop.transcript.note(f"connection lost: {describe(exc)}" if exc else "connection closed")
        self._loop.connection_open = False
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class RecordingLoop(asyncio.SelectorEventLoop):
    """An event loop whose connections are written down in `transcript`."""

    def __init__(self, transcript: Transcript) -> None:
        super().__init__()
        self.transcript = transcript
        self.connection_open = False
        self._sockets: list[asyncio.Transport] = []  # each connection's TCP transport

    async def create_connection(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super().create_connection(
            lambda: _RecordingProtocol(protocol_factory(), self), *args, **kwargs)
        self._sockets.append(transport)
        return transport, protocol

    async def release(self) -> None:
        """Close every connection's socket now: a TLS goodbye (or a close scheduled and never run,
        as a loop closes) must not leave a socket open after the check."""
        for transport in self._sockets:
            transport.abort()
        self._sockets.clear()
        for _ in range(2):  # abort's connection_lost, then the socket's close, each one loop turn
            await asyncio.sleep(0)

    async def start_tls(
        self, transport: Any, protocol: Any, sslcontext: ssl.SSLContext, **kwargs: Any
    ) -> Any:
        inner = transport.inner if isinstance(transport, _RecordingTransport) else transport
        try:
            tls = await super().start_tls(inner, _RecordingProtocol(protocol, self), sslcontext, **kwargs)
        except Exception as error:
            self.transcript.note(f"TLS handshake failed: {describe(error)}")
            raise
        ssl_object = tls.get_extra_info("ssl_object") if tls is not None else None
        if ssl_object is not None:
            cipher = ssl_object.cipher()
            self.transcript.note(f"TLS established: {ssl_object.version()} {cipher[0] if cipher else ''}")
        return _RecordingTransport(tls, self)
