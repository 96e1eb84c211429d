"""Steps about the journal copies that the mock Threat Defense endpoint received."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from pytest_bdd import parsers, then

from simulator.endpoints.threat_defense import JournalRecord
from simulator.testing.harness import SandboxFacade
from simulator.testing.steps.sending_steps import Sent

JOURNAL_MARKER = "X-MS-Journal-Report"  # BEHAVIOUR.md §3, written out, not imported from the code under test


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def report_lines(record: JournalRecord) -> list[tuple[str, str]]:
    """Part 1 of a journal as (field, value) pairs, in order."""
    report = next(parse(record.data).iter_parts())
    assert isinstance(report, EmailMessage) and report.get_content_type() == "text/plain"
    text = report.get_content()
    return [(name, value.strip()) for name, _, value in
            (line.partition(":") for line in text.splitlines()) if value]


def wire_parts(journal: bytes) -> list[tuple[EmailMessage, bytes]]:
    """Each top-level part's headers and its body bytes, cut at the boundary (RFC 2046 §5.1.1)."""
    boundary = parse(journal).get_boundary()
    assert boundary is not None, "the journal has no MIME boundary"
    body = journal.partition(b"\r\n\r\n")[2]
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode())[1:]  # [0] is the preamble
    cut = [chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
           for chunk in chunks if not chunk.startswith(b"--")]  # "--" ends the close delimiter
    return [(parse(head + b"\r\n\r\n"), part_body) for head, _, part_body in cut]


def only_journal(sandbox: SandboxFacade) -> JournalRecord:
    (record,) = sandbox.journals()
    return record


@then(parsers.re(r"Threat Defense receives (?P<count>\d+) journals?"))
def receives_journals(sandbox: SandboxFacade, count: str) -> None:
    sandbox.settle()
    assert len(sandbox.journals()) == int(count), sandbox.journals()


@then("Threat Defense receives no journal")
def receives_no_journal(sandbox: SandboxFacade) -> None:
    sandbox.settle()
    assert sandbox.journals() == []


@then("the journal's envelope has one recipient, the intake address")
def envelope_recipient(sandbox: SandboxFacade) -> None:
    assert only_journal(sandbox).rcpt_tos == (sandbox.config.connector.intake_address,)


@then("the journal's envelope sender is the gateway's system address")
def envelope_sender(sandbox: SandboxFacade) -> None:
    assert only_journal(sandbox).mail_from == sandbox.config.system_address


@then("the journal arrived over TLS 1.2 or better")
def arrived_over_tls(sandbox: SandboxFacade) -> None:
    assert only_journal(sandbox).tls_protocol in {"TLSv1.2", "TLSv1.3"}


@then("the journal is multipart/mixed with the journal marker")
def wrapper_is_journal(sandbox: SandboxFacade) -> None:
    top = parse(only_journal(sandbox).data)
    assert top.get_content_type() == "multipart/mixed"
    assert JOURNAL_MARKER in top
    assert [p.get_content_type() for p in top.iter_parts()] == ["text/plain", "message/rfc822"]


@then("the journal's From is the system address and its To is the intake address")
def wrapper_addresses(sandbox: SandboxFacade) -> None:
    top = parse(only_journal(sandbox).data)
    assert (top["From"], top["To"]) == (sandbox.config.system_address,
                                        sandbox.config.connector.intake_address)


@then("the journal's subject is the original's subject")
def wrapper_subject(sandbox: SandboxFacade, sent: Sent) -> None:
    assert parse(only_journal(sandbox).data)["Subject"] == parse(sent.mail.data)["Subject"]


@then("the journal's report gives the sender, subject and Message-ID and one To line per envelope recipient")
def report_fields(sandbox: SandboxFacade, sent: Sent) -> None:
    original = parse(sent.mail.data)
    expected = [("Sender", sent.mail.mail_from), ("Subject", original["Subject"]),
                ("Message-ID", original["Message-ID"])]
    expected += [("To", address) for address in sent.mail.rcpt_tos]
    assert report_lines(only_journal(sandbox)) == expected


@then(parsers.re(r'the journal\'s report has (?P<count>\d+) "To:" lines'))
def report_to_lines(sandbox: SandboxFacade, count: str) -> None:
    lines = report_lines(only_journal(sandbox))
    assert len([value for name, value in lines if name == "To"]) == int(count)


@then("the journal has a MID of its own and names the original's MID")
def journal_mids(sandbox: SandboxFacade, sent: Sent) -> None:
    assert sent.outcome is not None and sent.outcome.mid is not None
    original_mid = sent.outcome.mid
    assert parse(only_journal(sandbox).data)["X-IronPort-MID"] == str(original_mid)
    (line,) = sandbox.mail_log.matching(rf"TDC: Message \d+ created from message {original_mid} ")
    copy_mid = int(re.search(r"Message (\d+)", line.text).group(1))  # type: ignore[union-attr]
    assert copy_mid != original_mid


@then("Threat Defense found the journal valid")
def journal_valid(sandbox: SandboxFacade) -> None:
    record = only_journal(sandbox)
    assert record.valid, record.broken_rules


@then("the journal's message/rfc822 part is byte-identical to what the mailbox received")
def embedded_identical(sandbox: SandboxFacade, sent: Sent) -> None:
    (delivery,) = sandbox.mailbox(sent.mail.rcpt_tos[0])
    (embedded,) = [body for head, body in wire_parts(only_journal(sandbox).data)
                   if head.get_content_type() == "message/rfc822"]
    assert embedded == delivery.data


@then("each journal lists only the recipients of its own splinter")
def journals_per_splinter(sandbox: SandboxFacade, sent: Sent) -> None:
    listed = [sorted(v for n, v in report_lines(record) if n == "To") for record in sandbox.journals()]
    assert sorted(listed) == sorted([[address] for address in sent.mail.rcpt_tos])
