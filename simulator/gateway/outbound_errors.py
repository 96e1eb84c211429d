"""What an outbound failure was, and how the mail log words it: the vendor's terms, never Python's.

Design rule: every client-side exception becomes one of the simulator's `DeliveryError`s here; a
connection or TLS failure's `detail` is the vendor's phrase ("Connection refused", "certificate
verification failed"), the exception behind it goes to this module's debug logger only. An SMTP
reply keeps its code and text (the mail log quotes it in the vendor's form, `delivery_log.py`).
"""

from __future__ import annotations

import errno
import logging
import socket
import ssl

import aiosmtplib

from simulator.core.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TlsDeliveryError,
    TransientDeliveryError,
)

CONNECTION_FAILED = "Connection failed"  # the reason, as the `TDC:` lines give it; `detail` says how
NO_INTERFACE = "0.0.0.0"
debug_log = logging.getLogger(__name__)


def tls_cause(error: BaseException) -> BaseException | None:
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
    tls = tls_cause(error)
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
