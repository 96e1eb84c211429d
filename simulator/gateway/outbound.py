"""The outbound SMTP client (aiosmtplib): one connection, several messages.

Design rule: this is the only place that speaks SMTP outwards. It raises the simulator's own
`DeliveryError`s; deciding what a failure means for a queue entry is the queue's business.
STARTTLS is *required* (`start_tls=True`) where asked: aiosmtplib's opportunistic mode silently
falls back to plaintext, which the connector must never do. A non-ASCII envelope goes with SMTPUTF8
when the next hop offers it; when it does not, or an address cannot be written on a command line at
all, the failure is permanent (`5.6.7`, `5.1.3`): never a network fault retried for 72 hours.
What a failure was, and its words for the mail log, are `outbound_errors.py`'s. A transaction says
on the wire what aiosmtplib's `sendmail` says (a test compares them), through its public MAIL, RCPT,
DATA and RSET, so that the message is not normalised twice (once only to size it) nor each address
parsed twice. A connection may carry several transactions (the delivery queues hand an open one
more): `is_open` says whether the peer is still there, and `closed_at_mail` whether the last
transaction found it gone at its MAIL (no reply, or `421`), so that nothing of it went through.
"""

from __future__ import annotations

import ssl
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType

import aiosmtplib

from simulator.core.config.values import NextHop
from simulator.core.errors import DeliveryError, PermanentDeliveryError, TlsDeliveryError
from simulator.gateway.outbound_errors import (
    NO_INTERFACE,
    classify,
    interface_towards,
    tls_cause,
    tls_phrase,
)

TIMEOUT_SECONDS = 30.0
NO_SMTPUTF8 = "The next hop does not offer SMTPUTF8, which a non-ASCII address needs"
CLOSING = 421  # the server closes the connection (RFC 5321 4.2.3)
UNWRITABLE_ADDRESS = "An address that cannot be written on an SMTP command line"


def transmitted_size(data: bytes) -> int:
    """The bytes of `data` as DATA sends them (RFC 1870's SIZE): every bare CR or LF a CRLF, the last
    line ended; counted, where aiosmtplib measures a normalised copy."""
    crlf = data.count(b"\r\n")
    size = len(data) + (data.count(b"\n") - crlf) + (data.count(b"\r") - crlf)
    return size if data.endswith((b"\n", b"\r")) else size + 2


@dataclass(frozen=True)
class TlsInfo:
    """What TLS the connection ended up with."""

    protocol: str
    cipher: str


class OutboundSession:
    """An SMTP client connection to one next hop."""

    def __init__(
        self, hop: NextHop, tls_context: ssl.SSLContext, require_tls: bool, local_hostname: str
    ) -> None:
        # STARTTLS is done by hand (not aiosmtplib's start_tls) so that every failure in that
        # phase, a refused handshake included, is known to be a TLS failure.
        self._client = aiosmtplib.SMTP(
            hostname=hop.host, port=hop.port, local_hostname=local_hostname, start_tls=False,
            tls_context=tls_context, timeout=TIMEOUT_SECONDS,
        )
        self._require_tls = require_tls
        self._hop = hop
        self.tls: TlsInfo | None = None
        self.local_address = ""  # the interface the connection left from, known once it was tried
        self.closed_at_mail = False  # the last transaction's MAIL found the connection closed

    @property
    def is_open(self) -> bool:
        """The connection is still there (a peer may close one that waits idle)."""
        return self._client.is_connected

    async def __aenter__(self) -> OutboundSession:
        try:
            await self._client.connect()
            # raises SMTPServerDisconnected if the server has closed already: a connection failure
            sockname = self._client.get_transport_info("sockname")
        except Exception as error:
            self.local_address = interface_towards(self._hop.host, self._hop.port)
            self._client.close()
            raise classify(error) from error
        self.local_address = str(sockname[0]) if sockname else NO_INTERFACE
        try:
            await self._client.ehlo()
        except Exception as error:
            self._client.close()
            raise classify(error) from error
        await self._start_tls()
        return self

    async def _start_tls(self) -> None:
        """STARTTLS when offered; when it is required, its absence or failure is a TLS error."""
        if not self._client.supports_extension("starttls"):
            if self._require_tls:
                self._client.close()
                raise TlsDeliveryError("TLS Error", detail="STARTTLS not offered")
            return
        try:
            await self._client.starttls()
        except Exception as error:
            self._client.close()
            raise TlsDeliveryError("TLS Error", detail=tls_phrase(tls_cause(error) or error)) from error
        try:  # RFC 3207: what the server offers is known again only after a new EHLO (SMTPUTF8)
            ssl_object = self._client.get_transport_info("ssl_object")  # a closed connection raises
            if ssl_object is not None:
                cipher = ssl_object.cipher()
                self.tls = TlsInfo(ssl_object.version() or "", cipher[0] if cipher else "")
            await self._client.ehlo()
        except Exception as error:
            self._client.close()
            raise classify(error) from error

    def _mail_options(self, sender: str, recipients: tuple[str, ...]) -> list[str]:
        """SMTPUTF8 for a non-ASCII envelope; a permanent failure if the next hop lacks it."""
        if sender.isascii() and all(address.isascii() for address in recipients):
            return []
        if not self._client.supports_extension("smtputf8"):
            raise PermanentDeliveryError(NO_SMTPUTF8, 553, "5.6.7", recipients[0])
        return ["SMTPUTF8"]

    async def send(
        self, sender: str, recipients: tuple[str, ...], data: bytes
    ) -> tuple[str, dict[str, DeliveryError]]:
        """One transaction: the server's final response and the recipients it refused.

        Raises when the whole transaction failed (no recipient took the message).
        """
        self.closed_at_mail = False
        options = self._mail_options(sender, recipients)
        try:
            refused, response = await self._transaction(sender, recipients, data, options)
        except ValueError as error:  # aiosmtplib refuses to write the address: no retry helps
            raise PermanentDeliveryError(UNWRITABLE_ADDRESS, 553, "5.1.3", recipients[0],
                                         str(error)) from error
        except Exception as error:
            raise classify(error, recipients[0]) from error
        return response, {address: classify(refusal, address) for address, refusal in refused.items()}

    async def _transaction(
        self, sender: str, recipients: tuple[str, ...], data: bytes, options: list[str]
    ) -> tuple[dict[str, aiosmtplib.SMTPRecipientRefused], str]:
        """aiosmtplib's `sendmail`, the same commands through its public ones: the SIZE counted
        (`transmitted_size`), not measured on a normalised copy of the message, and each address
        parsed once, by its command; a transaction that fails once MAIL went out is reset."""
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        if self._client.supports_extension("size"):
            options = [f"size={transmitted_size(data)}", *options]
        try:
            await self._client.mail(sender, options=options, encoding=encoding)  # ValueError: unsent
        except aiosmtplib.SMTPServerDisconnected:
            self.closed_at_mail = True
            raise
        except aiosmtplib.SMTPResponseException as refusal:
            self.closed_at_mail = refusal.code == CLOSING
            await self._reset()
            raise
        try:
            refused = await self._recipients(recipients, encoding)
            response = await self._client.data(data)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused, ValueError):
            await self._reset()  # ValueError too: MAIL went out (sendmail checks before any command)
            raise
        return refused, response.message

    async def _recipients(
        self, recipients: tuple[str, ...], encoding: str
    ) -> dict[str, aiosmtplib.SMTPRecipientRefused]:
        """RCPT for each recipient: those refused, unless all were (`SMTPRecipientsRefused`)."""
        refused = {}
        for address in recipients:
            try:
                await self._client.rcpt(address, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as refusal:
                refused[address] = refusal
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(list(refused.values()))
        return refused

    async def _reset(self) -> None:
        """RSET after a failed transaction, as `sendmail` does (a disconnect or refusal is not ours
        to tell: the transaction's own failure is)."""
        with suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await self._client.rset()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:  # mid-transaction failure or cancellation: QUIT could be read as DATA
            self._client.close()
            return
        try:
            if self._client.is_connected:
                await self._client.quit()
        except (aiosmtplib.SMTPException, OSError):
            self._client.close()
