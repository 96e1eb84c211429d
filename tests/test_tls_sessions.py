"""Hostile STARTTLS sessions over real sockets: TLS is started once per connection, and lines a
client sent before the server closed never become an internal error.

The fuzz suite found both (fuzz/): a second STARTTLS inside TLS was answered `220` and started TLS
within TLS (whose failure then broke asyncio's own clean-up), and lines pipelined after a
`502 ... goodbye` made aiosmtpd write to a closed TLS transport, logged as our bug.
"""

from __future__ import annotations

import smtplib
import ssl

import pytest

from simulator.core import replies
from simulator.testing.harness import SandboxFacade


def tls_client(tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, server: str) -> smtplib.SMTP:
    """A client after EHLO, STARTTLS (certificate verified) and EHLO again."""
    client = smtplib.SMTP(*tdc_sandbox.listener_address(server), timeout=10)
    client.ehlo("client.test")
    client.starttls(context=tdc_client_tls)
    client.ehlo("client.test")
    return client


@pytest.mark.parametrize("server", ["inbound", "threat_defense", "mailbox"])
def test_a_second_starttls_inside_tls_is_refused_and_the_session_goes_on(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, server: str
) -> None:
    with tls_client(tdc_sandbox, tdc_client_tls, server) as client:
        assert not client.has_extn("starttls")
        code, text = client.docmd("STARTTLS")
        assert f"{code} {text.decode()}" == replies.TLS_ALREADY_ACTIVE.line
        assert client.noop()[0] == 250


@pytest.mark.parametrize("after", [b"X\r\n" * 2, b"To: " + b"bob@example.com, " * 400 + b"\r\n"],
                         ids=["short lines", "a line past aiosmtpd's limit"])
def test_lines_sent_after_the_servers_goodbye_are_dropped_not_an_internal_error(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, after: bytes
) -> None:
    """aiosmtpd closes after ten unknown commands but still reads and answers what the client had
    sent; the closed TLS transport can take neither. The scenario fails on a Critical line."""
    with tls_client(tdc_sandbox, tdc_client_tls, "inbound") as client:
        client.send(b"X\r\n" * 10 + after)
        codes = []
        try:
            while True:
                codes.append(client.getreply()[0])
        except smtplib.SMTPServerDisconnected:
            pass
    assert codes[-1] == 502 and set(codes[:-1]) == {500}
    tdc_sandbox.settle()
    assert tdc_sandbox.mail_log.matching("internal error") == []


def test_an_authentication_answer_past_the_line_limit_gets_500_5_5_6_and_the_session_goes_on(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    """RFC 4954 §4: `500 5.5.6` for an AUTH exchange line that is too long (aiosmtpd raised)."""
    with tls_client(tdc_sandbox, tdc_client_tls, "inbound") as client:
        assert client.docmd("AUTH", "PLAIN")[0] == 334
        client.send(b"A" * 3000 + b"\r\n")
        code, text = client.getreply()
        assert f"{code} {text.decode()}" == replies.AUTH_LINE_TOO_LONG.line
        assert client.noop()[0] == 250
