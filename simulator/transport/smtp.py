"""aiosmtpd's SMTP protocol as every server of the simulator speaks it: connection hooks, the DATA
hook before the 354, RFC 5321 addresses, named replies for exceptions, connection limits, and the
vendor's surface (EHLO keywords, the `552 5.3.4` size refusal).

Design rule: only aiosmtpd's public API: `SMTP` subclassed with `smtp_<COMMAND>` overrides (its
documented extension mechanism), its `handle_exception` and `push`, and its documented attributes.
Addresses at MAIL and RCPT are refused by RFC 5321 before aiosmtpd parses them (so a refusal changes
nothing); any exception is a named `451` (never aiosmtpd's `500 Error: (Type) text`); STARTTLS is
accepted once per connection; nothing is written to a connection that is closing. EHLO's keywords
and aiosmtpd's size refusals are given in the vendor's style (`surface.py`), from `smtp_EHLO` and
`push`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from typing import Any, AnyStr, NoReturn, Protocol

from aiosmtpd.smtp import SMTP, Envelope, syntax

from simulator.core import replies
from simulator.core.mail.addresses import (
    read_recipient,
    read_sender,
    vrfy_refusal,
)
from simulator.core.replies import Reply
from simulator.transport.limits import ConnectionGate, ConnectionLimits
from simulator.transport.surface import AIOSMTPD_REPLIES, ehlo_keywords

_log = logging.getLogger(__name__)

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
    """What a handler implements to hear about connections, the DATA command before its 354 (aiosmtpd
    has no hook for these) and exceptions, and to set its connection limits."""

    def connection_limits(self) -> ConnectionLimits | None:
        """The limits for a new connection (None: unlimited)."""

    def connection_opened(self, server: ObservedSMTP) -> object: ...

    def connection_closed(self, server: ObservedSMTP) -> None: ...

    async def before_data(self, server: ObservedSMTP) -> str | None:
        """A reply to DATA instead of the 354, or None to let aiosmtpd go on."""

    async def command_failed(self, server: ObservedSMTP, error: Exception) -> str:
        """The reply to a command that raised `error` (record it; never its text on the wire)."""


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
#: `<local@domain>`, a dot-atom local part and a host name: a path aiosmtpd's parser reads as it is.
PLAIN_PATH = re.compile(rf"<({_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*)>")


class ObservedSMTP(SMTP):
    """aiosmtpd's SMTP protocol that tells its handler when a connection opens and closes.

    Per-connection state lives in `self.connection` (whatever `connection_opened` returns) because
    aiosmtpd replaces the `Session` object after STARTTLS.
    """

    connection: Any = None
    event_handler: ConnectionHooks

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's reading of a MAIL/RCPT path, without the email package's parser (~350 us a
        command, six a message) for a plain `<local@domain>` followed by nothing or by white space and
        parameters; anything else goes to aiosmtpd's. The same answers (tests/test_smtp_paths.py)."""
        found = PLAIN_PATH.match(arg)
        after = arg[found.end():] if found else ""
        rest = after.lstrip(" \t")
        if found is None or (after and after == rest) or rest.startswith("("):
            return super()._getaddr(arg)
        address = found.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest
    peer_ip = ""  # the client's IP address
    gate: ConnectionGate | None = None  # set by the server that counts its connections
    _admitted = False
    _refused = False
    _written = ""  # the address of the MAIL or RCPT being handled, as RFC 5321 reads it
    _ehlo: list[str] | None = None  # aiosmtpd's EHLO reply lines while `smtp_EHLO` collects them
    tls_attempted = False  # STARTTLS was answered 220: a TLS handshake was due
    tls_error: BaseException | None = None  # why the TLS handshake failed, when aiosmtpd said

    @property
    def tls_failed(self) -> bool:
        """STARTTLS was accepted but no TLS session came of it (the handshake failed or never ended)."""
        return self.tls_attempted and not (self.session is not None and self.session.ssl)

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

    async def push(self, status: AnyStr) -> None:
        """A reply, unless the connection is closing: aiosmtpd goes on answering lines a client sent
        before the server closed (after its `502 ... goodbye`), which cannot be written any more."""
        if self.transport is None or self.transport.is_closing():
            return
        if self._ehlo is not None and isinstance(status, str):
            self._ehlo.append(status)
            return
        await super().push(AIOSMTPD_REPLIES.get(status, status) if isinstance(status, str) else status)

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        """aiosmtpd's EHLO, its reply lines collected and given with `ehlo_keywords`."""
        self._ehlo = []
        try:
            await super().smtp_EHLO(hostname)
        finally:
            lines, self._ehlo = self._ehlo, None
        for line in ehlo_keywords(lines):
            await self.push(line)

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        """STARTTLS once: inside TLS it is refused (RFC 3207 §4.2), never TLS within TLS."""
        if self.session is not None and self.session.ssl:
            await self.push(replies.TLS_ALREADY_ACTIVE.line)
            return
        self.tls_attempted = not arg and self.tls_context is not None
        try:
            await super().smtp_STARTTLS(arg)
        except Exception as error:  # aiosmtpd's TLSSetupException, from the handshake's error
            self.tls_error = error.__cause__ or error
            raise

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """DATA, asking the handler's `before_data` first where aiosmtpd would answer 354."""
        if data_would_start(self.envelope, arg):
            reply = await self.event_handler.before_data(self)
            if reply is not None:
                await self.push(reply)
                return
        await super().smtp_DATA(arg)

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        """MAIL, its address refused by RFC 5321 before aiosmtpd parses it (then nothing changes)."""
        if await self.check_helo_needed() or await self.check_auth_needed("MAIL"):
            return
        refusal, written = read_sender(arg)
        if refusal is not None:
            await self.push(refusal.line)
            return
        await self._with_written_address(super().smtp_MAIL(arg), written)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        """RCPT, its address refused by RFC 5321 (in a transaction) before aiosmtpd parses it."""
        if await self.check_helo_needed() or await self.check_auth_needed("RCPT"):
            return
        envelope = self.envelope
        refusal, written = (read_recipient(arg, envelope.smtp_utf8) if envelope and envelope.mail_from
                            else (None, ""))
        if refusal is not None:
            await self.push(refusal.line)
            return
        await self._with_written_address(super().smtp_RCPT(arg), written)

    async def _with_written_address(self, command: Awaitable[None], written: str) -> None:
        self._written = written
        try:
            await command
        finally:
            self._written = ""

    def address_as_written(self, parsed: str) -> str:
        """What a handle_MAIL or handle_RCPT hook should take instead of the address aiosmtpd
        parsed: the same mailbox, but a quoted local part stays quoted where aiosmtpd would unquote
        it into an address no server takes (`"a..b"@x` to `a..b@x`)."""
        return self._written or parsed

    @syntax("VRFY <address>")
    async def smtp_VRFY(self, arg: str | None) -> None:
        """VRFY, a malformed path refused before aiosmtpd's parser (which raises at `VRFY <`)."""
        if arg and vrfy_refusal(arg) is not None:
            await self.push(replies.BAD_VRFY_ARGUMENT.line)
            return
        await super().smtp_VRFY(arg)

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's hook for an exception in any command: the handler's reply, else the named
        `451`; never the exception's text. A transaction it interrupted is over. On a closing
        connection it is aiosmtpd reading on after the close (no bug of ours, nothing to tell); an
        AUTH answer past the line limit is the client's (RFC 4954's `500 5.5.6`)."""
        self.envelope = Envelope()
        if self.transport is None or self.transport.is_closing():
            return replies.INTERNAL_ERROR.line
        if isinstance(error, ValueError) and isinstance(error.__context__, asyncio.LimitOverrunError):
            return replies.AUTH_LINE_TOO_LONG.line  # the only line aiosmtpd reads with `readline`
        try:
            return await self.event_handler.command_failed(self, error)
        except Exception:
            _log.exception("%s failed to answer an exception", type(self.event_handler).__name__)
            return replies.INTERNAL_ERROR.line

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.transport is not None:  # STARTTLS: the same connection, now over TLS
            super().connection_made(transport)
            return
        self.transport = transport  # the handler may close it before aiosmtpd's banner
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else ""
        refusal = self._admission()
        if refusal is None:
            super().connection_made(transport)
            return
        self.transport, self._refused = None, True
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(f"{refusal.line}\r\n".encode())
        transport.close()

    def _admission(self) -> Reply | None:
        """Within the limits and welcomed by the handler: None; else the `421` that refuses."""
        if self.gate is not None:
            refusal = self.gate.admit(self.peer_ip, self.event_handler.connection_limits())
            if refusal is not None:
                return refusal
            self._admitted = True
        try:
            self.connection = self.event_handler.connection_opened(self)
        except Exception:
            _log.exception("%s failed to open a connection", type(self.event_handler).__name__)
            self._release()
            return replies.UNAVAILABLE
        return None

    def _release(self) -> None:
        """Count the connection out of its gate, once."""
        if self._admitted and self.gate is not None:
            self.gate.release(self.peer_ip)
        self._admitted = False

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:  # never admitted: aiosmtpd never saw this connection
            return
        try:
            if self.connection is not None:
                self.event_handler.connection_closed(self)
        except Exception:
            _log.exception("%s failed to close a connection", type(self.event_handler).__name__)
        finally:
            self.connection = None
            self._release()
            super().connection_lost(error)
