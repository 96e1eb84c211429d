"""The mock mailbox host over real sockets: Maildir per recipient, exact bytes."""

from __future__ import annotations

import smtplib

from fixtures.harness import SandboxFacade
from fixtures.messages import MessageFactory
from simulator.core import replies


def test_each_recipient_gets_the_exact_bytes_in_its_maildir(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message(to=("a@outside.test", "B@Outside.test"))
    server = tdc_sandbox.sandbox.mailbox_server
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
    for address in ("a@outside.test", "b@outside.test"):
        (delivery,) = tdc_sandbox.mailbox(address)
        assert delivery.path is not None and delivery.path.parent.name == "new"
        assert delivery.path.parent.parent.name == address
        assert delivery.path.read_bytes() == mail.data


def test_an_address_that_would_leave_the_mailbox_root_is_refused(tdc_sandbox: SandboxFacade) -> None:
    """RFC 5321 syntax refuses `../../etc@`; a quoted local part is good syntax, but no folder name."""
    server = tdc_sandbox.sandbox.mailbox_server
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo("client.test")
        client.mail("a@outside.test")
        bad_syntax = client.rcpt("../../etc@outside.test")
        no_folder = client.rcpt('"../../etc"@outside.test')
    assert f"{bad_syntax[0]} {bad_syntax[1].decode()}" == replies.BAD_RECIPIENT_SYNTAX.line
    assert f"{no_folder[0]} {no_folder[1].decode()}" == replies.BAD_MAILBOX_ADDRESS.line
    assert tdc_sandbox.mailbox() == []
