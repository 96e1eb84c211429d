"""No forged journal report (BEHAVIOUR.md §9.2): no text from a client can add a line to the report, so
no remote sender can have Threat Defense (read/write mode) remediate someone else's message.

The attack: a victim holds a legitimate message with Message-ID M; the attacker sends a phishing
message with the same Message-ID whose envelope carries `CR To: victim@example.com CR`. Were that
written into the report as is, Threat Defense would read the victim as a recipient and move M out
of the victim's inbox.
"""

from __future__ import annotations

import base64
import dataclasses
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from simulator.core import replies
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal, report_text
from simulator.core.mail.journal_check import check_journal, report_fields
from simulator.core.mail.messages import Direction, ReceivedMessage
from simulator.core.mail.processing import with_trace_headers
from simulator.core.mail.td_analysis import analyse
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

VICTIM, BOB = "victim@example.com", "bob@example.com"
THREAD_ID = "<thread-1@partner.test>"
INTAKE = "sandbox-tenant@intake.threatdefense.test"
ADDRESSING = JournalAddressing("tdc-journal@esa1.sandbox.test", INTAKE, "esa1.sandbox.test")
NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
PHISH = (f"X-IronPort-RemoteIP: 192.0.2.66\r\nSubject: Account notice\r\nMessage-ID: {THREAD_ID}\r\n\r\n"
         "Please verify your account today.\r\n").encode()
#: Every character `str.splitlines` breaks a line at, in front of a forged field.
BREAKS = ["\r\n", "\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def forged(line_break: str) -> str:
    return f"{line_break}To: {VICTIM}{line_break}"


def source(**changes: object) -> JournalSource:
    fields: dict[str, object] = {
        "original_mid": 3, "envelope_sender": "attacker@outside.test", "recipients": (BOB,),
        "subject": "Account notice", "message_id": THREAD_ID, "delivered": PHISH,
    }
    fields.update(changes)
    return JournalSource(**fields)  # type: ignore[arg-type]


def injected(field: str, line_break: str) -> JournalSource:
    if field == "envelope_sender":
        return source(envelope_sender=f'"a{forged(line_break)}"@outside.test')
    if field == "recipients":
        return source(recipients=(BOB, f'"x{forged(line_break)}"@example.com'))
    return source(**{field: f"x{forged(line_break)}"})


@pytest.mark.parametrize("line_break", BREAKS, ids=[repr(b) for b in BREAKS])
@pytest.mark.parametrize("field", ["envelope_sender", "recipients", "subject", "message_id"])
def test_no_field_adds_a_line_to_the_report(field: str, line_break: str) -> None:
    splinter = injected(field, line_break)
    text = report_text(splinter)
    assert len(text.splitlines()) == 3 + len(splinter.recipients)
    fields = report_fields(build_journal(splinter, ADDRESSING, 4, NOW))
    assert len(fields["To"]) == len(splinter.recipients) and fields["To"][0] == BOB
    assert VICTIM not in fields["To"]


def test_control_characters_in_a_field_are_written_as_escapes() -> None:
    text = report_text(source(envelope_sender='"a\x00b\x1b"@outside.test', message_id="<a\x07b@x>"))
    assert 'Sender: "a\\x00b\\x1b"@outside.test' in text.splitlines()
    assert "Message-ID: <a\\x07b@x>" in text.splitlines()


def test_a_forged_report_makes_threat_defense_remediate_only_the_real_recipients() -> None:
    """ThreatDefenseHandler's read/write semantics: `analyse` with a remediate callback."""
    moved: list[tuple[str, str, str]] = []
    for line_break in BREAKS:
        journal = build_journal(injected("envelope_sender", line_break), ADDRESSING, 4, NOW)
        analysis = analyse(journal, "127.0.0.1", lambda *move: moved.append(move))
        assert analysis.verdict == "Phishing" and analysis.remediated == (BOB,)
        assert check_journal(journal, ADDRESSING.system_address, (INTAKE,), (INTAKE,)) == []
    assert {recipient for recipient, _, _ in moved} == {BOB}


def test_control_characters_in_the_original_s_headers_still_check_valid() -> None:
    """The report repeats Subject and Message-ID escaped; the checker compares them the same way."""
    delivered = PHISH.replace(b"Subject: Account notice", b"Subject: a\x00b\x1bc")
    splinter = source(subject="a\x00b\x1bc", delivered=delivered)
    journal = build_journal(splinter, ADDRESSING, 4, NOW)
    assert b"a\\x00b\\x1bc" in journal and b"a\x00b" not in journal.partition(delivered)[0]
    assert check_journal(journal, ADDRESSING.system_address, (INTAKE,), (INTAKE,)) == []


def test_the_trace_headers_hold_no_text_from_the_client() -> None:
    """Received and X-IronPort-RemoteIP name the socket's address and the gateway, nothing the client said."""
    message = ReceivedMessage(7, 1, Direction.INCOMING, "192.0.2.1", '"a\rb"@outside.test', (BOB,),
                              b"Subject: s\r\n\r\nx\r\n")
    trace = with_trace_headers(message, "esa1.sandbox.test", NOW).partition(b"Subject:")[0]
    assert trace.split(b"\r\n") == [
        b"Received: from [192.0.2.1] by esa1.sandbox.test with ESMTP id 7;",
        b" Wed, 17 Aug 2022 05:52:04 +0000", b"X-IronPort-RemoteIP: 192.0.2.1", b""]


@pytest.fixture
def read_write_sandbox(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_sandbox_settings: SandboxSettings
) -> SandboxFacade:
    return tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, td_mode="read-write"))


def attack(sandbox: SandboxFacade, sender: bytes, recipient: bytes) -> list[str]:
    """The attacker's session: raw MAIL and RCPT, then the phishing message if a transaction is open."""
    subject = base64.b64encode(f"Notice\r\nTo: {VICTIM}".encode()).decode()
    data = PHISH.replace(b"Subject: Account notice", f"Subject: =?utf-8?b?{subject}?=".encode())
    answers = []
    with smtplib.SMTP(*sandbox.listener_address("inbound"), timeout=10) as client:
        client.ehlo("attacker.test")
        for command in (b"MAIL FROM:<" + sender + b">", b"RCPT TO:<bob@example.com>",
                        b"RCPT TO:<" + recipient + b">"):
            client.send(command + b"\r\n")
            code, text = client.getreply()
            answers.append(f"{code} {text.decode()}")
        if answers[1].startswith("250"):
            answers.append(str(client.data(data.removeprefix(b"X-IronPort-RemoteIP: 192.0.2.66\r\n"))[0]))
    return answers


def test_a_remote_sender_cannot_have_a_victim_s_message_remediated(read_write_sandbox: SandboxFacade) -> None:
    sandbox = read_write_sandbox
    with smtplib.SMTP(*sandbox.listener_address("inbound"), timeout=10) as client:
        client.sendmail("partner@partner.test", [VICTIM],
                        f"Subject: Q3 figures\r\nMessage-ID: {THREAD_ID}\r\n\r\nAs agreed.\r\n".encode())
    sandbox.settle()
    (legitimate,) = sandbox.mailbox(VICTIM)
    for sender, recipient in ((f'"a\rTo: {VICTIM}\r"@outside.test'.encode(), b"carol@example.com"),
                              (b"attacker@outside.test", f'"x\rTo: {VICTIM}\r"@example.com'.encode())):
        answers = attack(sandbox, sender, recipient)
        sandbox.settle()
        assert legitimate.path is not None and legitimate.path.exists(), "the victim's message stayed"
        assert [r.recipient for r in sandbox.sandbox.mailbox.remediations.snapshot()] in ([], [BOB])
        assert replies.BAD_SENDER_SYNTAX.line in answers or replies.BAD_RECIPIENT_SYNTAX.line in answers
    (journal,) = [j for j in sandbox.journals() if j.verdict == "Phishing"]
    assert report_fields(journal.data)["To"] == [BOB] and journal.remediation == "quarantine"
    assert journal.valid, "the conformance check reports the journal as what it is"
