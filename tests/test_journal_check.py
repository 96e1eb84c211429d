"""The §3 conformance check: a built journal is valid, and each rule can be broken on its own."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes

import pytest

from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.mail.journal_check import (
    NEEDS_ORIGINAL,
    RULES,
    KnownOriginal,
    check_journal,
    described,
    report_fields,
)

SYSTEM = "tdc-journal@esa1.sandbox.test"
INTAKE = "sandbox-tenant@intake.threatdefense.test"
SECOND_TENANT = "second-tenant@intake.threatdefense.test"
TENANTS = (INTAKE, SECOND_TENANT)
DELIVERED = (
    b"X-IronPort-RemoteIP: 192.0.2.10\r\n"
    b"From: Alice <alice@sender.test>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: Quarterly report\r\n"
    b"Message-ID: <q3-report@sender.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"See attached.\r\n"
)


def journal(delivered: bytes = DELIVERED, intake: str = INTAKE) -> bytes:
    """A journal as the connector builds it for a splinter to bob and carol."""
    splinter = JournalSource(
        original_mid=3, envelope_sender="alice@sender.test",
        recipients=("bob@example.com", "carol@example.com"), subject="Quarterly report",
        message_id="<q3-report@sender.test>", delivered=delivered,
    )
    addressing = JournalAddressing(SYSTEM, intake, "esa1.sandbox.test")
    return build_journal(splinter, addressing, 4, datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC))


def check(raw: bytes, rcpt_tos: tuple[str, ...] = (INTAKE,), mail_from: str = SYSTEM,
          original: KnownOriginal | None = None) -> list[str]:
    return check_journal(raw, mail_from, rcpt_tos, TENANTS, original)


# --- hand mutations, each asserting that it really changed something -------------------------------

HEAD, REPORT, ORIGINAL = 0, 1, 2


def _sections(raw: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """(head, delimiter, chunks between delimiters); the boundary comes from a standard parser."""
    boundary = message_from_bytes(raw).get_boundary()
    assert boundary is not None
    head, sep, body = raw.partition(b"\r\n\r\n")
    delimiter = b"\r\n--" + boundary.encode()
    return head + sep, delimiter, (b"\r\n" + body).split(delimiter)


def edit(section: int, pattern: bytes, replacement: bytes, count: int = 1) -> Callable[[bytes], bytes]:
    """A mutation that substitutes `pattern` exactly `count` times in one section."""

    def mutate(raw: bytes) -> bytes:
        head, delimiter, chunks = _sections(raw)
        target = head if section == HEAD else chunks[section]
        changed, made = re.subn(pattern, replacement, target)
        assert made == count, f"{pattern!r} matched {made} times in section {section}, not {count}"
        if section == HEAD:
            return changed + delimiter.join(chunks).removeprefix(b"\r\n")
        chunks[section] = changed
        return head + delimiter.join(chunks).removeprefix(b"\r\n")

    return mutate


def add_third_part(raw: bytes) -> bytes:
    head, delimiter, chunks = _sections(raw)
    chunks.insert(-1, b"\r\nContent-Type: text/plain\r\n\r\nan extra part\r\n")
    return head + delimiter.join(chunks).removeprefix(b"\r\n")


def unchanged(raw: bytes) -> bytes:
    return raw


@dataclass(frozen=True)
class Breakage:
    """One way to break exactly one rule."""

    mutate: Callable[[bytes], bytes] = unchanged
    rcpt_tos: tuple[str, ...] = (INTAKE,)
    built_for: str = INTAKE


BREAKAGES: dict[str, Breakage] = {
    "envelope.one-recipient": Breakage(rcpt_tos=(INTAKE, SECOND_TENANT)),
    "envelope.intake-address": Breakage(
        rcpt_tos=("unknown@intake.threatdefense.test",), built_for="unknown@intake.threatdefense.test"
    ),
    "wrapper.multipart-mixed": Breakage(edit(HEAD, rb"multipart/mixed", b"multipart/related")),
    "wrapper.journal-marker": Breakage(edit(HEAD, rb"X-MS-Journal-Report:[^\r]*\r\n", b"")),
    "wrapper.from": Breakage(edit(HEAD, rb"From: [^\r]*", b"From: postmaster@esa1.sandbox.test")),
    "wrapper.to": Breakage(edit(HEAD, rb"To: [^\r]*", b"To: " + SECOND_TENANT.encode())),
    "wrapper.subject": Breakage(edit(HEAD, rb"Subject: [^\r]*", b"Subject: Something else")),
    "wrapper.message-id": Breakage(edit(HEAD, rb"Message-ID: [^\r]*\r\n", b"")),
    "wrapper.x-ironport-mid": Breakage(edit(HEAD, rb"X-IronPort-MID: 3", b"X-IronPort-MID: three")),
    "parts.two": Breakage(add_third_part),
    "report.text-plain": Breakage(edit(REPORT, rb"Content-Type: text/plain", b"Content-Type: text/html")),
    "report.fields": Breakage(edit(REPORT, rb"To: [^\r]*\r\n", b"", count=2)),
    "report.matches-original": Breakage(
        edit(REPORT, rb"Message-ID: <q3-report@sender.test>", b"Message-ID: <other@sender.test>")
    ),
    "original.rfc822": Breakage(
        edit(ORIGINAL, rb"Content-Type: message/rfc822", b"Content-Type: application/octet-stream")
    ),
    "original.remote-ip": Breakage(edit(ORIGINAL, rb"X-IronPort-RemoteIP: [^\r]*\r\n", b"")),
}


def broken(rule: str) -> list[str]:
    breakage = BREAKAGES[rule]
    return check(breakage.mutate(journal(intake=breakage.built_for)), breakage.rcpt_tos)


def test_the_mutation_helper_reassembles_a_journal_byte_for_byte() -> None:
    raw = journal()
    for section, count in ((HEAD, 1), (REPORT, 1), (ORIGINAL, 2)):
        assert edit(section, rb"(Content-Type: [^\r]*)", rb"\1", count)(raw) == raw


def test_a_built_journal_is_valid() -> None:
    assert check(journal()) == []


def test_every_rule_has_a_breakage() -> None:
    """Every rule in RULES is reachable by one of the cases below, and no case names an unknown rule."""
    assert set(BREAKAGES) == set(RULES)


#: What breaking a rule takes down with it: without an embedded original, nothing can be compared.
ALONG = {"original.rfc822": NEEDS_ORIGINAL}


@pytest.mark.parametrize("rule", BREAKAGES)
def test_breaking_one_rule_reports_exactly_that_rule(rule: str) -> None:
    """...and the rules that cannot be shown without what it broke (`ALONG`), never passed."""
    assert broken(rule) == [each for each in RULES if each in (rule, *ALONG.get(rule, ()))]


def test_a_copy_reusing_the_embedded_originals_message_id_has_none_of_its_own() -> None:
    raw = edit(HEAD, rb"Message-ID: [^\r]*", b"Message-ID: <q3-report@sender.test>")(journal())
    assert check(raw) == ["wrapper.message-id"]


KNOWN = KnownOriginal("alice@sender.test", "<q3-report@sender.test>")


def test_a_known_original_changes_nothing_for_a_journal_of_the_gateways_own() -> None:
    assert check(journal(), original=KNOWN) == []


def test_a_copy_from_the_known_originals_sender_breaks_wrapper_from() -> None:
    """A BCC: From: equals MAIL FROM, but both are the original's sender, not a system address."""
    raw = edit(HEAD, rb"From: [^\r]*", b"From: Alice <alice@sender.test>")(journal())
    assert check(raw, mail_from="alice@sender.test") == []
    assert check(raw, mail_from="Alice@Sender.test", original=KNOWN) == ["wrapper.from"]
    assert check(journal(), mail_from="alice@sender.test", original=KNOWN) == ["wrapper.from"]


def test_a_plain_copy_of_the_original_breaks_every_wrapper_rule_the_kit_can_know() -> None:
    """What a BCC looks like: the delivered original itself, from its own sender, its own Message-ID."""
    assert check(DELIVERED, mail_from="alice@sender.test", original=KNOWN) == [
        rule for rule in RULES if rule.startswith(("wrapper.", "parts.", "report.", "original."))]


def test_rules_are_reported_in_rules_order() -> None:
    head_rules = ["wrapper.journal-marker", "wrapper.x-ironport-mid", "wrapper.from", "wrapper.message-id"]
    raw = journal()
    for rule in head_rules:
        raw = BREAKAGES[rule].mutate(raw)
    assert check(raw) == [rule for rule in RULES if rule in head_rules]


def test_independent_breakages_are_all_reported() -> None:
    """A report part that is not text/plain must not hide a problem with the original."""
    raw = BREAKAGES["original.remote-ip"].mutate(BREAKAGES["report.text-plain"].mutate(journal()))
    assert check(raw) == ["report.text-plain", "original.remote-ip"]


def test_no_recipient_at_all_breaks_the_envelope_rules() -> None:
    assert {"envelope.one-recipient", "envelope.intake-address"} <= set(check(journal(), rcpt_tos=()))


def test_intake_address_matches_case_insensitively() -> None:
    assert check(journal(), rcpt_tos=(INTAKE.upper(),)) == []


def test_a_message_that_is_no_journal_breaks_many_rules_without_raising() -> None:
    """Nothing holds vacuously: with no original to compare with, the rules comparing with it break."""
    assert check(DELIVERED) == [
        "wrapper.multipart-mixed", "wrapper.journal-marker", "wrapper.from", "wrapper.to",
        "wrapper.subject", "wrapper.x-ironport-mid", "parts.two", "report.text-plain", "report.fields",
        "report.matches-original", "original.rfc822", "original.remote-ip",
    ]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("From", b'"ESA journal" <tdc-journal@esa1.sandbox.test>'),
        ("From", b"<tdc-journal@esa1.sandbox.test>"),
        ("To", b"Threat Defense <sandbox-tenant@intake.threatdefense.test>"),
    ],
)
def test_a_display_name_or_angle_brackets_still_name_the_right_address(header: str, value: bytes) -> None:
    """A vendor gateway may write `From: Name <addr>`; the address is what the rule is about."""
    raw = edit(HEAD, header.encode() + rb": [^\r]*", header.encode() + b": " + value)(journal())
    assert check(raw) == []


@pytest.mark.bad_input
def test_an_unknown_charset_in_the_report_part_is_reported_not_raised() -> None:
    """A report that cannot be read has no fields, so none can match the original."""
    raw = edit(REPORT, rb'charset="utf-8"', b'charset="x-no-such-charset"')(journal())
    assert check(raw) == ["report.fields", "report.matches-original"]


@pytest.mark.bad_input
def test_check_never_raises_on_a_damaged_journal() -> None:
    """Seeded damage (truncation, byte flips): the endpoint must always get a report."""
    valid, rng = journal(), random.Random(20220817)
    damaged = [valid[:cut] for cut in range(0, len(valid), 7)]
    for _ in range(500):
        flipped = bytearray(valid)
        for _ in range(3):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        damaged.append(bytes(flipped))
    failures = []
    for raw in damaged:
        try:
            result = check(raw)
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
        else:
            assert set(result) <= set(RULES)
    assert failures == [], f"{len(failures)} damaged journals raised, e.g. {failures[:3]}"


@pytest.mark.parametrize("spelling", [b"Message-Id", b"MESSAGE-ID", b"message-id"])
def test_report_field_names_are_matched_in_any_case(spelling: bytes) -> None:
    """Another product may write `Message-Id:` in the report part: the same field, still valid."""
    raw = edit(REPORT, rb"Message-ID: <q3", spelling + b": <q3")(journal())
    assert check(raw) == []
    assert report_fields(raw)["Message-ID"] == ["<q3-report@sender.test>"]


def test_sender_and_to_are_matched_in_any_case_too() -> None:
    raw = edit(REPORT, rb"Sender: ", b"SENDER: ")(edit(REPORT, rb"\nTo: ", b"\nto: ", count=2)(journal()))
    assert check(raw) == []
    assert report_fields(raw)["To"] == ["bob@example.com", "carol@example.com"]


def test_a_broken_rule_is_described_by_what_it_requires() -> None:
    rules = broken("wrapper.from")
    assert described(rules) == [{"rule": "wrapper.from", "description": RULES["wrapper.from"]}]
    assert "envelope sender" in described(rules)[0]["description"]
