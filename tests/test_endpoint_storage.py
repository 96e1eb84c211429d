"""The mock endpoints' storage trouble (BEHAVIOUR.md §8.9): `452 4.3.1`, never 5xx, nothing half-stored,
and the gateway retries until it is gone: zero loss.

The trouble is real filesystem trouble: a store's root is moved under a regular file, so every
`mkdir` fails (`NotADirectoryError`), and moved back to recover. ENOSPC is injected where a unit
test needs exactly a full disk.
"""

from __future__ import annotations

import errno
import smtplib
from datetime import timedelta
from pathlib import Path

import pytest

from simulator.core import replies
from simulator.core.clock import ManualClock
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.samples import MessageFactory
from simulator.endpoints.mailbox import MailboxHandler, MailboxStore
from simulator.endpoints.threat_defense import JournalRecord, JournalStore
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

INTAKE = "sandbox-tenant@intake.threatdefense.test"


def blocked(tmp_path: Path) -> Path:
    """A root no directory can be made under."""
    (tmp_path / "not-a-dir").write_bytes(b"")
    return tmp_path / "not-a-dir" / "root"


def reply_line(error: smtplib.SMTPResponseException) -> str:
    """The `code text` line smtplib raised (its text is the bytes read off the wire)."""
    assert isinstance(error.smtp_error, bytes)
    return f"{error.smtp_code} {error.smtp_error.decode()}"


def record(number: int) -> JournalRecord:
    return JournalRecord(number, INTAKE, "tdc@esa1.test", (INTAKE,), "TLSv1.3", "c", 1, 1, (),
                         InMemoryBody(b"x"))


def test_the_mailbox_answers_storage_trouble_with_452_and_stores_nothing(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, tmp_path: Path
) -> None:
    mailbox, server = tdc_sandbox.sandbox.mailbox, tdc_sandbox.sandbox.mailbox_server
    root, mailbox.root = mailbox.root, blocked(tmp_path)
    mail = tdc_messages.message(to=("a@outside.test", "b@outside.test"))
    with smtplib.SMTP(server.host, server.port, timeout=10) as client, \
            pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
    assert reply_line(refused.value) == replies.STORAGE_TROUBLE.line
    assert tdc_sandbox.mailbox() == []
    assert isinstance(server.handler, MailboxHandler)
    (failure,) = server.handler.failures.snapshot()
    assert "NotADirectoryError" in failure.error
    mailbox.root = root
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        assert client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data) == {}
    assert sorted(d.recipient for d in tdc_sandbox.mailbox()) == ["a@outside.test", "b@outside.test"]


def test_a_message_is_stored_for_all_its_recipients_or_for_none(tmp_path: Path) -> None:
    store = MailboxStore(tmp_path / "mailbox", ManualClock())
    (tmp_path / "mailbox").mkdir()
    (tmp_path / "mailbox" / "b@x.test").write_bytes(b"")  # b's Maildir cannot be made
    with pytest.raises(OSError):
        store.save(["a@x.test", "b@x.test"], "s@x.test", b"Subject: s\r\n\r\nbody\r\n")
    assert list((tmp_path / "mailbox" / "a@x.test").rglob("*.test")) == [], "a's file was removed too"
    assert store.deliveries.snapshot() == []


def test_a_full_disk_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MailboxStore(tmp_path / "mailbox", ManualClock())
    written: list[Path] = []

    def full_after_one(path: Path, data: bytes) -> int:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        with path.open("wb") as stream:
            return stream.write(data)

    monkeypatch.setattr(Path, "write_bytes", full_after_one)
    with pytest.raises(OSError, match="No space left"):
        store.save(["a@x.test", "b@x.test"], "s@x.test", b"body")
    assert not written[0].exists() and store.deliveries.snapshot() == []


def test_threat_defense_gives_back_the_number_of_a_journal_it_could_not_store(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "td")
    assert store.next_number(INTAKE) == 1
    (tmp_path / "td" / INTAKE / "1.json").mkdir(parents=True)  # the record beside it cannot be written
    with pytest.raises(OSError):
        store.save(record(1))
    assert not (tmp_path / "td" / INTAKE / "1.eml").exists(), "no journal without its record"
    (tmp_path / "td" / INTAKE / "1.json").rmdir()
    assert store.next_number(INTAKE) == 1, "the number is given out again"
    store.save(record(1))
    assert [r.number for r in store.records.snapshot()] == [1]
    assert JournalStore(tmp_path / "td").next_number(INTAKE) == 2, "a restart continues after it"


def test_threat_defense_answers_storage_trouble_with_452_and_the_copy_is_retried(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, tmp_path: Path
) -> None:
    journals = tdc_sandbox.sandbox.journals_store
    root, journals.root = journals.root, blocked(tmp_path)
    assert root is not None, "the sandbox keeps its journals on disk"
    assert send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message()).accepted
    tdc_sandbox.mail_log.wait_for(r"TDC: Message \d+ delivery failed to Cisco Secure Email Threat "
                                  r"Defense: 452 4\.3\.1 Insufficient system storage")
    journals.root = root
    tdc_sandbox.advance(tdc_sandbox.until_next_retry())
    (journal,) = tdc_sandbox.journals()
    assert journal.number == 1 and journal.valid
    assert (root / INTAKE / "1.eml").read_bytes() == journal.data


def test_endpoints_that_cannot_store_for_hours_lose_nothing(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, tmp_path: Path
) -> None:
    """Both endpoints' storage fails; messages keep coming; it recovers: every original is in its
    mailbox and every journal at Threat Defense, each exactly once."""
    mailbox, journals = tdc_sandbox.sandbox.mailbox, tdc_sandbox.sandbox.journals_store
    roots = mailbox.root, journals.root
    mailbox.root = journals.root = blocked(tmp_path)
    inbound = tdc_sandbox.listener_address("inbound")
    sent = [tdc_messages.message() for _ in range(6)]
    for number, mail in enumerate(sent):
        assert send(*inbound, mail).accepted
        tdc_sandbox.advance(timedelta(minutes=10 * number))
    assert tdc_sandbox.mailbox() == [] and tdc_sandbox.journals() == []
    assert tdc_sandbox.mail_log.matching(r"Bounced:|hard bounced") == []
    mailbox.root, journals.root = roots
    tdc_sandbox.advance(timedelta(hours=2))
    expected = sorted((mail.rcpt_tos, mail.data) for mail in sent)
    delivered = sorted(((d.recipient,), d.data.partition(b"X-IronPort-RemoteIP: 127.0.0.1\r\n")[2])
                       for d in tdc_sandbox.mailbox())
    assert delivered == [(tuple(r.lower() for r in to), data) for to, data in expected]
    assert len(tdc_sandbox.journals()) == len(sent)
    assert all(journal.valid for journal in tdc_sandbox.journals())
    assert tdc_sandbox.queued("the.tdc.queue") == []


def test_a_refused_attempt_that_cannot_be_written_is_kept_and_changes_no_reply(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """§8.9: a full disk under `refused.jsonl` too: the endpoint still answers `452 4.3.1`, and the
    record stays in memory."""
    mailbox, server = tdc_sandbox.sandbox.mailbox, tdc_sandbox.sandbox.mailbox_server
    opened = Path.open

    def full_for_refused(path: Path, *args: object, **kwargs: object) -> object:
        if path.name == "refused.jsonl":
            raise OSError(errno.ENOSPC, "No space left on device")
        return opened(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", full_for_refused)
    root, mailbox.root = mailbox.root, blocked(tmp_path)
    mail = tdc_messages.message(to=("a@outside.test",))
    with smtplib.SMTP(server.host, server.port, timeout=10) as client, \
            pytest.raises(smtplib.SMTPDataError) as refused:
        client.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
    mailbox.root = root
    assert reply_line(refused.value) == replies.STORAGE_TROUBLE.line
    (attempt,) = tdc_sandbox.refused("mailbox")
    assert (attempt.command, attempt.reply) == ("END", replies.STORAGE_TROUBLE.line)
    assert not (tdc_sandbox.data_dir / "mailbox" / "refused.jsonl").exists()
