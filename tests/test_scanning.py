"""The deterministic scanning engines (BEHAVIOUR.md §2.3): anti-spam, anti-virus, content filters."""

from __future__ import annotations

import base64

import pytest

from simulator.core.config.values import ContentFilter, MailPolicy
from simulator.core.mail.inspection import inspect
from simulator.core.mail.scanning import EICAR, GTUBE, Disposition, Verdict, scan

MID = 7
SPAM_POSITIVE = f"MID {MID} using engine: CASE spam positive"
SPAM_NEGATIVE = f"MID {MID} using engine: CASE spam negative"
VIRUS_POSITIVE = f"MID {MID} antivirus positive 'EICAR-AV-Test'"
VIRUS_NEGATIVE = f"MID {MID} antivirus negative"
DROPPED_BY_AV = f"Message aborted MID {MID} Dropped by antivirus"


def message(body: bytes = b"Hello Bob, lunch on Friday?\r\n", subject: str = "Lunch") -> bytes:
    return (
        b"From: Alice <alice@sender.test>\r\nTo: bob@example.com\r\n"
        + f"Subject: {subject}\r\n".encode()
        + b"Message-ID: <m@sender.test>\r\n\r\n" + body
    )


def with_attachment(payload: bytes) -> bytes:
    encoded = base64.encodebytes(payload)
    return (
        b"From: alice@sender.test\r\nTo: bob@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        b'--b1\r\nContent-Type: application/octet-stream; name="test.com"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b1--\r\n"
    )


def run(raw: bytes, policy: MailPolicy | None = None) -> Verdict:
    return scan(MID, inspect(raw), policy or MailPolicy("DEFAULT"))


def test_clean_message_is_delivered_with_negative_verdicts_in_engine_order() -> None:
    verdict = run(message())
    assert verdict.disposition is Disposition.DELIVER
    assert verdict.log_lines == (SPAM_NEGATIVE, VIRUS_NEGATIVE)
    assert verdict.quarantine == ""


def test_eicar_is_dropped_with_the_antivirus_lines() -> None:
    verdict = run(message(EICAR + b"\r\n"))
    assert verdict.disposition is Disposition.DROP
    assert verdict.log_lines == (SPAM_NEGATIVE, VIRUS_POSITIVE, DROPPED_BY_AV)


def test_gtube_is_quarantined_as_spam() -> None:
    verdict = run(message(GTUBE + b"\r\n"))
    assert verdict.disposition is Disposition.QUARANTINE
    assert verdict.quarantine == "Spam Quarantine"
    assert verdict.log_lines[0] == SPAM_POSITIVE
    assert VIRUS_NEGATIVE in verdict.log_lines


def test_eicar_inside_a_base64_attachment_is_found() -> None:
    raw = with_attachment(EICAR)
    assert EICAR not in raw, "the test string must only be visible after decoding"
    verdict = run(raw)
    assert verdict.disposition is Disposition.DROP
    assert VIRUS_POSITIVE in verdict.log_lines


def test_drop_beats_quarantine_and_every_engine_still_logs() -> None:
    verdict = run(message(GTUBE + b"\r\n" + EICAR + b"\r\n"))
    assert verdict.disposition is Disposition.DROP
    assert SPAM_POSITIVE in verdict.log_lines and VIRUS_POSITIVE in verdict.log_lines


def test_disabled_engines_do_not_log_or_decide() -> None:
    policy = MailPolicy("DEFAULT", anti_spam=False, anti_virus=False)
    verdict = run(message(GTUBE + b"\r\n" + EICAR + b"\r\n"), policy)
    assert verdict == Verdict(Disposition.DELIVER, ())


@pytest.mark.parametrize(("anti_spam", "anti_virus"), [(True, False), (False, True)])
def test_only_enabled_engines_log(anti_spam: bool, anti_virus: bool) -> None:
    verdict = run(message(), MailPolicy("DEFAULT", anti_spam=anti_spam, anti_virus=anti_virus))
    assert (SPAM_NEGATIVE in verdict.log_lines) is anti_spam
    assert (VIRUS_NEGATIVE in verdict.log_lines) is anti_virus


def filters(*rules: ContentFilter) -> MailPolicy:
    return MailPolicy("DEFAULT", anti_spam=False, anti_virus=False, content_filters=rules)


def test_header_rule_drops() -> None:
    rule = ContentFilter("no_invoices", "INVOICE", "drop", header="Subject")
    verdict = run(message(subject="Your invoice is overdue"), filters(rule))
    assert verdict.disposition is Disposition.DROP
    assert verdict.log_lines == (
        f"Message aborted MID {MID} Dropped by content filter 'no_invoices' in the inbound table",
    )


def test_body_rule_quarantines_to_policy() -> None:
    rule = ContentFilter("wire_transfer", "wire transfer", "quarantine")
    verdict = run(message(b"Please make the Wire Transfer today.\r\n"), filters(rule))
    assert verdict.disposition is Disposition.QUARANTINE
    assert verdict.quarantine == "Policy"
    assert verdict.log_lines == (f'MID {MID} quarantined to "Policy" (content filter:wire_transfer)',)


def test_body_rule_reads_decoded_parts() -> None:
    rule = ContentFilter("secret", "top secret", "quarantine")
    raw = with_attachment(b"this file is TOP SECRET")
    assert b"TOP SECRET" not in raw
    assert run(raw, filters(rule)).disposition is Disposition.QUARANTINE


def test_header_rule_does_not_read_the_body_and_body_rule_does_not_read_headers() -> None:
    header_rule = ContentFilter("subject_lunch", "friday", "drop", header="Subject")
    body_rule = ContentFilter("body_lunch", "Lunch", "drop")
    raw = message(body=b"Hello Bob, lunch on Friday?\r\n".replace(b"lunch", b"dinner"), subject="Lunch")
    assert run(raw, filters(header_rule)).disposition is Disposition.DELIVER
    assert run(raw, filters(body_rule)).disposition is Disposition.DELIVER


def test_rule_on_a_missing_header_does_not_match() -> None:
    rule = ContentFilter("tagged", "yes", "drop", header="X-Campaign")
    assert run(message(), filters(rule)).disposition is Disposition.DELIVER


@pytest.mark.parametrize("order", ["quarantine-first", "drop-first"])
def test_drop_beats_quarantine_whatever_the_filter_order(order: str) -> None:
    quarantine = ContentFilter("q", "lunch", "quarantine")
    drop = ContentFilter("d", "friday", "drop")
    rules = (quarantine, drop) if order == "quarantine-first" else (drop, quarantine)
    verdict = run(message(), filters(*rules))
    assert verdict.disposition is Disposition.DROP
    assert len(verdict.log_lines) == 2, "both filters matched, both are logged"


def test_disposition_severity_order() -> None:
    assert Disposition.DELIVER.value < Disposition.QUARANTINE.value < Disposition.DROP.value


def test_header_rule_sees_every_occurrence_of_a_repeated_header() -> None:
    rule = ContentFilter("relayed_by_bad_host", "bad.relay.test", "drop", header="Received")
    raw = (
        b"Received: from good.relay.test by esa1.sandbox.test\r\n"
        b"Received: from bad.relay.test by good.relay.test\r\n" + message()
    )
    assert run(raw, filters(rule)).disposition is Disposition.DROP
