"""Hostile MAIL and RCPT over real sockets: named replies, and a refused command changes nothing.

The gateway's public listener and both mock endpoints share the rule (transport/smtp.py); bytes go
on the wire as written here, so CR, NUL and undecodable bytes reach the server as a client sends them.
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from collections.abc import Iterator

import pytest

from simulator.core import replies
from simulator.core.config.values import GatewayConfig
from simulator.core.mail.journal_check import report_fields
from simulator.core.mail.messages import IdCounters
from simulator.core.mail.samples import MessageFactory
from simulator.endpoints.threat_defense import ThreatDefenseHandler
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import raw_command

NEED_MAIL = "503 Error: need MAIL command"
NEED_RCPT = "503 Error: need RCPT command"
BODY = b"Subject: hostile\r\nMessage-ID: <hostile@outside.test>\r\n\r\nbody\r\n"


@pytest.fixture
def inbound(tdc_sandbox: SandboxFacade) -> Iterator[smtplib.SMTP]:
    """A client of the public listener, after EHLO."""
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.ehlo("client.test")
        yield client


def finish(client: smtplib.SMTP) -> str:
    """DATA with a small message; the final reply."""
    assert raw_command(client, b"DATA").startswith("354 ")
    return raw_command(client, BODY + b".")


def test_a_cr_in_a_quoted_local_part_is_refused_and_starts_no_transaction(
    tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP
) -> None:
    assert raw_command(inbound, b'MAIL FROM:<"p\rq"@outside.test>') == replies.BAD_SENDER_SYNTAX.line
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>") == NEED_MAIL
    tdc_sandbox.settle()
    assert tdc_sandbox.mail_log.matching("Start MID") == []


@pytest.mark.parametrize("raw", [b"RCPT TO:<bo\x00b@example.com>", b"RCPT TO:<bob\r@example.com>",
                                 b"RCPT TO:<bo\x1bb@example.com>", b"RCPT TO:<b\xffob@example.com>"],
                         ids=["NUL", "CR", "ESC", "not UTF-8"])
def test_a_bad_recipient_is_refused_and_added_to_nothing(
    tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP, raw: bytes
) -> None:
    assert raw_command(inbound, b"MAIL FROM:<alice@outside.test>").startswith("250 ")
    assert raw_command(inbound, raw) == replies.BAD_RECIPIENT_SYNTAX.line
    assert raw_command(inbound, b"DATA") == NEED_RCPT
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>").startswith("250 ")
    assert finish(inbound).startswith("250 ")
    tdc_sandbox.settle()
    assert [d.recipient for d in tdc_sandbox.mailbox()] == ["bob@example.com"]
    (journal,) = tdc_sandbox.journals()
    assert report_fields(journal.data)["To"] == ["bob@example.com"]


def test_a_sender_that_is_not_utf8_is_refused_and_starts_no_transaction(
    tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP
) -> None:
    """aiosmtpd alone answers 500 here, yet keeps the sender: RCPT, then DATA, got 250 and 354."""
    assert raw_command(inbound, b"MAIL FROM:<al\xffice@outside.test>") == replies.BAD_SENDER_SYNTAX.line
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>") == NEED_MAIL
    assert raw_command(inbound, b"DATA") == NEED_RCPT


def test_an_unclosed_angle_bracket_gets_501_and_the_session_goes_on(
    tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP
) -> None:
    """aiosmtpd's parser raises IndexError at `MAIL FROM:<`; it never sees it."""
    assert raw_command(inbound, b"MAIL FROM:<") == replies.BAD_SENDER_SYNTAX.line
    assert raw_command(inbound, b"VRFY <") == replies.BAD_VRFY_ARGUMENT.line
    assert raw_command(inbound, b"MAIL FROM:<alice@outside.test>").startswith("250 ")
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>").startswith("250 ")
    assert finish(inbound).startswith("250 ")


def test_non_ascii_addresses_need_smtputf8(tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP) -> None:
    assert raw_command(inbound, "MAIL FROM:<jörg@outside.test>".encode()) == replies.NEEDS_SMTPUTF8.line
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>") == NEED_MAIL
    assert raw_command(inbound, b"MAIL FROM:<alice@outside.test>").startswith("250 ")
    assert raw_command(inbound, "RCPT TO:<zoë@example.com>".encode()) == replies.NEEDS_SMTPUTF8.line
    assert raw_command(inbound, b"DATA") == NEED_RCPT


def test_quoted_local_parts_are_accepted_delivered_and_reported(
    tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP
) -> None:
    assert raw_command(inbound, b'MAIL FROM:<"john doe"@outside.test>').startswith("250 ")
    assert raw_command(inbound, b'RCPT TO:<"bob smith"@example.com>').startswith("250 ")
    assert finish(inbound).startswith("250 ")
    tdc_sandbox.settle()
    (delivery,) = tdc_sandbox.mailbox('"bob smith"@example.com')
    assert delivery.mail_from == '"john doe"@outside.test'
    (journal,) = tdc_sandbox.journals()
    fields = report_fields(journal.data)
    assert (fields["Sender"], fields["To"]) == (['"john doe"@outside.test'], ['"bob smith"@example.com'])
    assert journal.valid


@pytest.mark.parametrize("recipient", [
    "o'brien+tag@outside.test", '"a\\"b"@outside.test', '"x@y,z<>"@outside.test',
    '"a..b"@outside.test', '".hidden"@outside.test', '"../../etc"@outside.test', '""@outside.test',
    "alice@[127.0.0.1]", "@relay.test:carol@outside.test",
])
def test_every_address_accepted_is_one_the_gateway_can_deliver(
    tdc_sandbox: SandboxFacade, recipient: str
) -> None:
    """Whatever RFC 5321 lets in goes out again: aiosmtpd's parse, the spool, aiosmtplib's MAIL/RCPT."""
    with smtplib.SMTP(*tdc_sandbox.listener_address("relay"), timeout=10) as client:
        client.ehlo("client.test")
        assert raw_command(client, b"MAIL FROM:<bob@example.com>").startswith("250 ")
        assert raw_command(client, f"RCPT TO:<{recipient}>".encode()).startswith("250 ")
        assert finish(client).startswith("250 ")
    tdc_sandbox.settle()
    (delivery,) = tdc_sandbox.mailbox()
    assert delivery.recipient == recipient.rpartition(":")[2].lower()


@pytest.mark.parametrize("endpoint", ["mailbox_server", "threat_defense_server"])
def test_the_mock_endpoints_apply_the_same_rule(tdc_sandbox: SandboxFacade, endpoint: str) -> None:
    server = getattr(tdc_sandbox.sandbox, endpoint)
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo("gateway.test")
        assert raw_command(client, b'MAIL FROM:<"p\rq"@outside.test>') == replies.BAD_SENDER_SYNTAX.line
        assert raw_command(client, b"MAIL FROM:<al\xffice@outside.test>") == replies.BAD_SENDER_SYNTAX.line
        assert raw_command(client, b"RCPT TO:<x@example.com>") == NEED_MAIL


def test_an_exception_in_the_listener_is_a_named_451_with_the_traceback_in_the_log_only(
    tdc_sandbox: SandboxFacade, inbound: smtplib.SMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    tdc_sandbox.expect_warning(r"internal error: RuntimeError\('secret detail'\)")

    def broken(config: GatewayConfig, address: str) -> bool:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(GatewayConfig, "is_local", broken)
    assert raw_command(inbound, b"MAIL FROM:<alice@outside.test>").startswith("250 ")
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>") == replies.INTERNAL_ERROR.line
    assert raw_command(inbound, b"DATA") == NEED_RCPT, "the 451 ended the transaction"
    (critical,) = tdc_sandbox.mail_log.matching(r"internal error")
    assert critical.level.value == "Critical"
    assert "Traceback" in critical.text and "in handle_RCPT" in critical.text
    tdc_sandbox.mail_log.wait_for(r"Message finished MID \d+ aborted")
    monkeypatch.undo()
    assert raw_command(inbound, b"MAIL FROM:<alice@outside.test>").startswith("250 ")
    assert raw_command(inbound, b"RCPT TO:<bob@example.com>").startswith("250 ")
    assert finish(inbound).startswith("250 ")
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox("bob@example.com")) == 1


def test_an_exception_at_an_endpoint_is_a_named_451_recorded_there_and_the_copy_retried(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> list[str]:
        raise RuntimeError("secret detail")

    monkeypatch.setattr("simulator.endpoints.threat_defense.check_journal", broken)
    mail = tdc_messages.message(to=("bob@example.com",))
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
    tdc_sandbox.mail_log.wait_for(r"TDC: Message \d+ delivery failed .*: 451 4\.3\.0 Internal error")
    handler = tdc_sandbox.sandbox.threat_defense_server.handler
    assert isinstance(handler, ThreatDefenseHandler)
    (failure,) = handler.failures.snapshot()
    assert failure.reply == replies.INTERNAL_ERROR.line and "secret detail" in failure.traceback
    assert tdc_sandbox.journals() == []
    monkeypatch.undo()
    tdc_sandbox.advance(tdc_sandbox.until_next_retry())
    (journal,) = tdc_sandbox.journals()
    assert journal.valid and len(tdc_sandbox.mailbox("bob@example.com")) == 1


def test_an_auth_login_that_is_not_utf8_is_a_failed_login(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("client.test")
        credentials = base64.b64encode(b"\x00sand\xffbox\x00sandbox").decode()
        assert raw_command(client, f"AUTH PLAIN {credentials}".encode()).startswith("535 ")
    tdc_sandbox.mail_log.wait_for(r"SMTP authentication failed for user: sand\ufffdbox")


def test_a_connection_the_listener_cannot_open_gets_421_and_the_next_one_is_served(
    tdc_sandbox: SandboxFacade, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(counters: IdCounters) -> int:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(IdCounters, "next_icid", broken)
    with socket.create_connection(tdc_sandbox.listener_address("inbound"), timeout=10) as sock:
        assert sock.makefile("rb").readline() == f"{replies.UNAVAILABLE.line}\r\n".encode()
        assert sock.recv(1) == b"", "then closed"
    monkeypatch.undo()
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        assert client.noop()[0] == 250
