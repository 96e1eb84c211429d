"""The mock mailbox host over real sockets: Maildir per recipient, exact bytes."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest

from simulator.core import replies
from simulator.core.mail.samples import MessageFactory
from simulator.endpoints.mailbox import folder_name
from simulator.testing.harness import SandboxFacade


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


def test_the_mailbox_records_storage_trouble_and_dropped_connections(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, tmp_path: Path
) -> None:
    """§8.9: storage trouble (`452 4.3.1` at the end of data) and a scripted drop are refused attempts,
    in memory and in `DATA/mailbox/refused.jsonl`."""
    mailbox, server = tdc_sandbox.sandbox.mailbox, tdc_sandbox.sandbox.mailbox_server
    (tmp_path / "not-a-dir").write_bytes(b"")
    root, mailbox.root = mailbox.root, tmp_path / "not-a-dir" / "root"
    mail = tdc_messages.message(to=("a@outside.test",))
    with smtplib.SMTP(server.host, server.port, timeout=10) as client, pytest.raises(smtplib.SMTPDataError):
        client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
    mailbox.root = root
    tdc_sandbox.set_faults("mailbox", "drop:MAIL")
    with smtplib.SMTP(server.host, server.port, timeout=10) as client, \
            pytest.raises(smtplib.SMTPServerDisconnected):
        client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
    attempts = tdc_sandbox.sandbox.refused_logs["mailbox"].records.wait_until(
        lambda items: len(items) == 2, 10, "two refused attempts")
    assert [(a.connection, a.command, a.reply) for a in attempts] == [
        (1, "END", replies.STORAGE_TROUBLE.line), (2, "MAIL", "(connection dropped without a reply)")]
    lines = (tdc_sandbox.data_dir / "mailbox" / "refused.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["reply"] for line in lines] == [a.reply for a in attempts]


def test_a_rename_that_fails_midway_leaves_no_recipient_stored(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All or none: when the second rename into new/ fails, the first is undone and every written
    file removed, so the `452 4.3.1` retry stores each recipient exactly once."""
    server, root = tdc_sandbox.sandbox.mailbox_server, tdc_sandbox.data_dir / "mailbox"
    recipients = ("a@outside.test", "b@outside.test", "c@outside.test")
    mail = tdc_messages.message(to=recipients)
    rename, calls = Path.rename, []

    def failing_second_rename(path: Path, target: str | Path) -> Path:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return rename(path, target)

    monkeypatch.setattr(Path, "rename", failing_second_rename)
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo("client.test")
        client.mail(mail.mail_from)
        for recipient in recipients:
            client.rcpt(recipient)
        code, text = client.data(mail.data)
    assert f"{code} {text.decode()}" == replies.STORAGE_TROUBLE.line
    for recipient in recipients:
        assert not tdc_sandbox.mailbox(recipient)
        assert not [*(root / recipient / "new").iterdir(), *(root / recipient / "tmp").iterdir()]
    monkeypatch.setattr(Path, "rename", rename)
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.sendmail(mail.mail_from, list(recipients), mail.data)
    for recipient in recipients:
        (delivery,) = tdc_sandbox.mailbox(recipient)
        assert [*(root / recipient / "new").iterdir()] == [delivery.path]
        assert not [*(root / recipient / "tmp").iterdir()]
