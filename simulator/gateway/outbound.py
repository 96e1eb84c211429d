"""The outbound SMTP client (aiosmtplib): one connection, several messages.

Design rule: this is the only place that speaks SMTP outwards. It raises the simulator's own
`DeliveryError`s; deciding what a failure means for a queue entry is the queue's business.
STARTTLS is *required* (`start_tls=True`) where asked: aiosmtplib's opportunistic mode silently
falls back to plaintext, which the connector must never do. A non-ASCII envelope goes with SMTPUTF8
when the next hop offers it; when it does not, or an address cannot be written on a command line at
all, the failure is permanent (`5.6.7`, `5.1.3`): never a network fault retried for 72 hours.
A failure's `detail` is worded for the mail log in the vendor's terms ("Connection refused",
"certificate verification failed"); the Python exception behind it goes to this module's debug
logger only, never to the mail log.
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType

import aiosmtplib

from simulator.core.config.values import NextHop
from simulator.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TlsDeliveryError,
    TransientDeliveryError,
)

TIMEOUT_SECONDS = 30.0
NO_SMTPUTF8 = "The next hop does not offer SMTPUTF8, which a non-ASCII address needs"
UNWRITABLE_ADDRESS = "An address that cannot be written on an SMTP command line"
CONNECTION_FAILED = "Connection failed"  # the reason, as the `TDC:` lines give it; `detail` says how
NO_INTERFACE = "0.0.0.0"
debug_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsInfo:
    """What TLS the connection ended up with."""

    protocol: str
    cipher: str


def _tls_cause(error: BaseException) -> BaseException | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return seen
        if isinstance(seen, aiosmtplib.SMTPException) and "STARTTLS" in str(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: BaseException | None = error
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def tls_phrase(error: BaseException) -> str:
    """A TLS failure as the mail log words it (the Python text goes to the debug log)."""
    debug_log.debug("TLS failure: %r", error, exc_info=error)
    if any(isinstance(cause, ssl.SSLCertVerificationError | ssl.CertificateError)
           for cause in _causes(error)):
        return "certificate verification failed"
    if isinstance(error, ssl.SSLError):
        return "handshake failed"
    return "STARTTLS failed"


def connection_phrase(error: BaseException) -> str:
    """A connection failure as the vendor words it: refused, timed out, or a connection error."""
    debug_log.debug("connection failure: %r", error, exc_info=error)
    causes = _causes(error)
    if any(isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED
           for cause in causes):
        return "Connection refused"
    if any(isinstance(cause, TimeoutError | aiosmtplib.SMTPTimeoutError) for cause in causes):
        return "Connection timed out"
    if any(isinstance(cause, aiosmtplib.SMTPServerDisconnected) for cause in causes):
        return "Connection closed by remote host"
    return "Connection error"


def classify(error: BaseException, recipient: str = "") -> DeliveryError:
    """Turn a client-side failure into a transient, TLS or permanent `DeliveryError`."""
    if isinstance(error, DeliveryError):
        return error
    tls = _tls_cause(error)
    if tls is not None:
        return TlsDeliveryError("TLS Error", recipient=recipient, detail=tls_phrase(tls))
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    if isinstance(error, aiosmtplib.SMTPResponseException):
        kind = PermanentDeliveryError if error.code >= 500 else TransientDeliveryError
        enhanced = error.message.partition(" ")[0]
        if not enhanced[:1].isdigit() or "." not in enhanced:
            enhanced = ""
        return kind(f"{error.code} {error.message}", error.code, enhanced, recipient)
    return TransientDeliveryError(CONNECTION_FAILED, enhanced="4.4.0", recipient=recipient,
                                  detail=connection_phrase(error))


def interface_towards(host: str, port: int) -> str:
    """The local address the system would connect to `host` from (no packet is sent)."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.connect(where)
            return str(probe.getsockname()[0])
    except OSError:
        return NO_INTERFACE


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

    async def __aenter__(self) -> OutboundSession:
        try:
            await self._client.connect()
        except Exception as error:
            self.local_address = interface_towards(self._hop.host, self._hop.port)
            self._client.close()
            raise classify(error) from error
        sockname = self._client.get_transport_info("sockname")
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
            raise TlsDeliveryError("TLS Error", detail=tls_phrase(_tls_cause(error) or error)) from error
        ssl_object = self._client.get_transport_info("ssl_object")
        if ssl_object is not None:
            cipher = ssl_object.cipher()
            self.tls = TlsInfo(ssl_object.version() or "", cipher[0] if cipher else "")
        try:  # RFC 3207: what the server offers is known again only after a new EHLO (SMTPUTF8)
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
        options = self._mail_options(sender, recipients)
        try:
            refused, response = await self._client.sendmail(
                sender, list(recipients), data, mail_options=options)
        except ValueError as error:  # aiosmtplib refuses to write the address: no retry helps
            raise PermanentDeliveryError(UNWRITABLE_ADDRESS, 553, "5.1.3", recipients[0],
                                         str(error)) from error
        except Exception as error:
            raise classify(error, recipients[0]) from error
        return response, {
            address: classify(aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, address),
                              address)
            for address, answer in refused.items()
        }

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
