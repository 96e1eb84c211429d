"""The mock endpoints' hook before DATA's 354 (`ObservedSMTP.smtp_DATA`) copies aiosmtpd's own DATA
guard (`data_would_start`): over a real socket, with a DATA fault scripted, a DATA that aiosmtpd refuses
still gets aiosmtpd's answer, and only one it would accept meets the fault. If an aiosmtpd upgrade
changes that guard, these tests fail."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from simulator.core import replies
from simulator.testing.harness import SandboxFacade

SENDER, RECIPIENT = "alice@outside.test", "bob@example.com"
NEED_HELO = "503 Error: send HELO first"
NEED_RCPT = "503 Error: need RCPT command"
NO_ARGUMENT = "501 Syntax: DATA"
SCRIPTED = replies.scripted_fault(554, "DATA").line


def answer(client: smtplib.SMTP, command: str) -> str:
    code, text = client.docmd(command)
    return f"{code} {text.decode()}"


@pytest.fixture
def mailbox_client(tdc_sandbox: SandboxFacade) -> Iterator[smtplib.SMTP]:
    """A plaintext client of the mock mailbox, before EHLO."""
    with smtplib.SMTP(*tdc_sandbox.listener_address("mailbox"), timeout=10) as client:
        yield client


def test_a_data_fault_meets_only_a_data_aiosmtpd_would_accept(
    tdc_sandbox: SandboxFacade, mailbox_client: smtplib.SMTP
) -> None:
    tdc_sandbox.set_faults("mailbox", "reply:DATA=554")
    assert answer(mailbox_client, "DATA") == NEED_HELO
    mailbox_client.ehlo("gateway.test")
    assert answer(mailbox_client, "DATA") == NEED_RCPT
    mailbox_client.mail(SENDER)
    assert answer(mailbox_client, "DATA") == NEED_RCPT
    assert mailbox_client.rcpt(RECIPIENT)[0] == 250
    assert answer(mailbox_client, "DATA now") == NO_ARGUMENT
    assert answer(mailbox_client, "DATA") == SCRIPTED


def test_without_a_fault_aiosmtpd_starts_the_data_the_guard_let_through(
    tdc_sandbox: SandboxFacade, mailbox_client: smtplib.SMTP
) -> None:
    mailbox_client.ehlo("gateway.test")
    mailbox_client.mail(SENDER)
    mailbox_client.rcpt(RECIPIENT)
    assert answer(mailbox_client, "DATA").startswith("354 ")
    mailbox_client.send(b"Subject: guarded\r\n\r\nbody\r\n.\r\n")
    assert mailbox_client.getreply()[0] == 250
    (delivery,) = tdc_sandbox.mailbox(RECIPIENT)
    assert delivery.path is not None and delivery.path.read_bytes() == b"Subject: guarded\r\n\r\nbody\r\n"


def test_a_dropping_fault_leaves_a_refused_data_to_aiosmtpd(
    tdc_sandbox: SandboxFacade, mailbox_client: smtplib.SMTP
) -> None:
    tdc_sandbox.set_faults("mailbox", "drop:DATA")
    mailbox_client.ehlo("gateway.test")
    mailbox_client.mail(SENDER)
    assert answer(mailbox_client, "DATA") == NEED_RCPT, "the connection is still there"
    mailbox_client.rcpt(RECIPIENT)
    assert answer(mailbox_client, "DATA x") == NO_ARGUMENT
    with pytest.raises(smtplib.SMTPServerDisconnected):
        mailbox_client.docmd("DATA")
