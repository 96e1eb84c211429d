"""The mock mailbox host over real sockets: Maildir per recipient, exact bytes."""

from __future__ import annotations

import smtplib

from fixtures.harness import SandboxFacade
from fixtures.messages import MessageFactory
from simulator.core import replies
from simulator.endpoints.mailbox import folder_name


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


def test_an_address_that_would_leave_the_mailbox_root_is_refused_or_kept_inside(
    tdc_sandbox: SandboxFacade
) -> None:
    """RFC 5321 syntax refuses `../../etc@`; a quoted local part may hold slashes, and its Maildir
    is a folder of the root like any other."""
    server = tdc_sandbox.sandbox.mailbox_server
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo("client.test")
        client.mail("a@outside.test")
        bad_syntax = client.rcpt("../../etc@outside.test")
        assert client.docmd('RCPT TO:<"../../etc"@outside.test>')[0] == 250  # smtplib would unquote
        assert client.data(b"Subject: inside\r\n\r\nbody\r\n")[0] == 250
    assert f"{bad_syntax[0]} {bad_syntax[1].decode()}" == replies.BAD_RECIPIENT_SYNTAX.line
    (delivery,) = tdc_sandbox.mailbox('"../../etc"@outside.test')
    root = tdc_sandbox.data_dir / "mailbox"
    assert delivery.path is not None and delivery.path.parent.parent.parent == root
    assert delivery.path.parent.parent.name == '"..%2F..%2Fetc"@outside.test'


def test_every_address_has_a_folder_name_inside_the_root() -> None:
    for address in ('"a\\b/c%d"@x.test', '".hidden"@x.test', f'"{"/" * 62}"@{"d" * 63}.test'):
        name = folder_name(address)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert 0 < len(name.encode()) <= 255
