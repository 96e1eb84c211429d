"""Outbound failures in the vendor's words (BEHAVIOUR.md §7.1): what `classify` makes of a client-side
exception, and the `Delayed:` / `Bounced:` text the mail log gives it; no Python text in either."""

from __future__ import annotations

import ssl

import aiosmtplib
import pytest

from simulator.core.errors import DeliveryError, PermanentDeliveryError, TlsDeliveryError
from simulator.gateway.delivery_log import failure_text
from simulator.gateway.outbound_errors import CONNECTION_FAILED, classify


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(("error", "phrase"), [
    (_raised_from(aiosmtplib.SMTPConnectError("Error connecting to 127.0.0.1 on port 9"),
                  ConnectionRefusedError(111, "Connect call failed")), "Connection refused"),
    (aiosmtplib.SMTPConnectTimeoutError("Timed out connecting to 127.0.0.1"), "Connection timed out"),
    (aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"), "Connection closed by remote host"),
    (OSError(101, "Network is unreachable"), "Connection error"),
])
def test_a_connection_failure_is_the_vendors_phrase_with_4_4_0(error: BaseException, phrase: str) -> None:
    failure = classify(error, "bob@example.com")
    assert (failure.reason, failure.detail, failure.enhanced) == (CONNECTION_FAILED, phrase, "4.4.0")
    assert failure_text(failure, "Delayed") == f"4.4.0 - {phrase}"


def test_a_certificate_failure_says_so_without_python_text() -> None:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                            "failed: unable to get local issuer certificate (_ssl.c:1006)")
    failure = classify(_raised_from(aiosmtplib.SMTPConnectError("STARTTLS"), cause))
    assert isinstance(failure, TlsDeliveryError)
    assert (failure.reason, failure.detail) == ("TLS Error", "certificate verification failed")


@pytest.mark.parametrize(("code", "message", "kind", "expected"), [
    (550, "5.1.1 <x@example.com>... User unknown", "Bounced",
     "5.1.0 - Unknown address error ('550', ['5.1.1 <x@example.com>... User unknown']) []"),
    (451, "4.3.0 Try again later", "Delayed",
     "4.0.0 - Unknown address error ('451', ['4.3.0 Try again later']) []"),
    (452, "4.5.3 Too many\nrecipients, isn't it", "Delayed",
     "4.0.0 - Unknown address error ('452', ['4.5.3 Too many', \"recipients, isn't it\"]) []"),
])
def test_an_smtp_reply_is_quoted_in_the_vendors_documented_form(
    code: int, message: str, kind: str, expected: str
) -> None:
    failure = classify(aiosmtplib.SMTPRecipientRefused(code, message, "x@example.com"))
    assert failure_text(failure, kind) == expected


def test_the_simulators_own_reasons_keep_their_status() -> None:
    smtputf8 = PermanentDeliveryError("The next hop does not offer SMTPUTF8", 553, "5.6.7")
    assert failure_text(smtputf8, "Bounced") == "5.6.7 - The next hop does not offer SMTPUTF8"
    no_route = DeliveryError("No route for example.com", enhanced="4.4.0")
    assert failure_text(no_route, "Delayed") == "4.4.0 - No route for example.com"
