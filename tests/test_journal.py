"""The journal copy's builder (BEHAVIOUR.md §3): the delivered bytes are embedded untouched."""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from types import SimpleNamespace

import pytest

from simulator.core.mail import journal
from simulator.core.mail.journal import (
    JOURNAL_MARKER,
    JournalAddressing,
    JournalSource,
    build_journal,
    embedded_original,
    report_text,
    split_parts,
)
from simulator.core.mail.journal_check import check_journal

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
ADDRESSING = JournalAddressing(
    system_address="tdc-journal@esa1.sandbox.test",
    intake_address="sandbox-tenant@intake.threatdefense.test",
    hostname="esa1.sandbox.test",
)
HEAD = b"X-IronPort-RemoteIP: 192.0.2.10\r\nFrom: Alice <alice@sender.test>\r\nTo: Bob <bob@example.com>\r\n"

#: Delivered messages, well-formed and not; each must come back out of the journal byte for byte.
DELIVERED: dict[str, bytes] = {
    "plain": HEAD + b"Subject: Hello\r\nMessage-ID: <m1@sender.test>\r\n\r\nHi Bob.\r\n",
    "utf8-subject-and-body": HEAD + "Subject: Grüße aus Köln\r\nMessage-ID: <m2@sender.test>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    "Hällo, wie geht's? ✓\r\n".encode(),
    "latin1-bytes": HEAD + b"Subject: Gr\xfc\xdfe\r\nMessage-ID: <m3@sender.test>\r\n\r\n\xe9t\xe9\r\n",
    "no-final-newline": HEAD + b"Subject: s\r\nMessage-ID: <m4@sender.test>\r\n\r\nno newline",
    "trailing-blank-lines": HEAD + b"Subject: s\r\nMessage-ID: <m5@sender.test>\r\n\r\nbody\r\n\r\n\r\n",
    "bare-lf": b"X-IronPort-RemoteIP: 192.0.2.10\nSubject: s\nMessage-ID: <m6@sender.test>\n\nbody\n",
    "unterminated-multipart": HEAD + b"Subject: s\r\nMessage-ID: <m7@sender.test>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="inner"\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\n'
    b"part one, never closed\r\n",
    "multipart-without-boundary": HEAD + b"Subject: s\r\nContent-Type: multipart/mixed\r\n\r\nnone\r\n",
    "invalid-base64": HEAD + b"Subject: s\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64===\r\n",
    "dot-lines": HEAD + b"Subject: s\r\n\r\n.\r\n..\r\n.leading dot\r\n",
    "headers-only": b"X-IronPort-RemoteIP: 192.0.2.10\r\n",
    "empty": b"",
}


def source(delivered: bytes = DELIVERED["plain"], **changes: object) -> JournalSource:
    """A splinter of message 3 to two recipients, with `changes` applied."""
    fields: dict[str, object] = {
        "original_mid": 3,
        "envelope_sender": "alice@sender.test",
        "recipients": ("bob@example.com", "carol@example.com"),
        "subject": "Hello",
        "message_id": "<m1@sender.test>",
        "delivered": delivered,
    }
    fields.update(changes)
    return JournalSource(**fields)  # type: ignore[arg-type]


def build(splinter: JournalSource | None = None, copy_mid: int = 4) -> bytes:
    return build_journal(splinter or source(), ADDRESSING, copy_mid, NOW)


def parse(raw: bytes) -> EmailMessage:
    parsed: Message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def inner_message(rfc822_part: Message) -> Message:
    """The message a standard parser finds inside a message/rfc822 part."""
    payload = rfc822_part.get_payload()
    assert isinstance(payload, list) and len(payload) == 1
    inner = payload[0]
    assert isinstance(inner, Message)
    return inner


def head_of(raw: bytes) -> bytes:
    return raw.partition(b"\r\n\r\n")[0] + b"\r\n"


@pytest.mark.parametrize("delivered", DELIVERED.values(), ids=DELIVERED.keys())
def test_embedded_original_is_exactly_the_delivered_bytes(delivered: bytes) -> None:
    assert embedded_original(build(source(delivered))) == delivered


@pytest.mark.parametrize("delivered", DELIVERED.values(), ids=DELIVERED.keys())
def test_the_delimiter_never_occurs_inside_the_original(delivered: bytes) -> None:
    """RFC 2046 §5.1.1: the boundary must not appear in the encapsulated part."""
    raw = build(source(delivered))
    boundary = parse(raw).get_boundary()
    assert boundary is not None
    assert b"--" + boundary.encode() not in delivered
    # the preamble line, the delimiter before part 2, and the close delimiter: nothing else
    assert raw.count(b"\r\n--" + boundary.encode()) == 3
    assert raw.endswith(b"\r\n--" + boundary.encode() + b"--\r\n")


@pytest.mark.parametrize("delivered", DELIVERED.values(), ids=DELIVERED.keys())
def test_a_standard_parser_sees_report_then_the_original(delivered: bytes) -> None:
    top = parse(build(source(delivered)))
    parts = list(top.iter_parts())
    assert top.get_content_type() == "multipart/mixed"
    assert [part.get_content_type() for part in parts] == ["text/plain", "message/rfc822"]
    assert inner_message(parts[1]).items() == parse(delivered).items()


@pytest.mark.parametrize("name", ["plain", "utf8-subject-and-body", "latin1-bytes", "trailing-blank-lines"])
def test_a_standard_parser_regenerates_a_well_formed_original_byte_for_byte(name: str) -> None:
    top = message_from_bytes(build(source(DELIVERED[name])), policy=policy.compat32)
    payload = top.get_payload()
    assert isinstance(payload, list)
    parts = [part for part in payload if isinstance(part, Message)]  # a str part would shorten the list
    assert [part.get_content_type() for part in parts] == ["text/plain", "message/rfc822"]
    inner = inner_message(parts[1])
    assert inner.as_bytes(policy=policy.compat32.clone(linesep="\r\n")) == DELIVERED[name]


def test_the_boundary_changes_when_the_original_contains_the_would_be_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The boundary depends on a digest of the original; fix the digest to force a collision."""
    digest = SimpleNamespace(hexdigest=lambda: "0" * 64)
    monkeypatch.setattr(journal, "hashlib", SimpleNamespace(sha256=lambda data: digest))
    would_be = parse(build(source(DELIVERED["plain"]))).get_boundary()
    assert would_be is not None
    hostile = DELIVERED["plain"] + b"--" + would_be.encode() + b"--\r\n"

    raw = build(source(hostile))

    boundary = parse(raw).get_boundary()
    assert boundary is not None and boundary != would_be
    assert boundary.encode() not in hostile
    assert embedded_original(raw) == hostile
    assert len(list(parse(raw).iter_parts())) == 2


@pytest.mark.parametrize("delivered", DELIVERED.values(), ids=DELIVERED.keys())
def test_the_original_is_declared_8bit_exactly_when_it_has_8bit_bytes(delivered: bytes) -> None:
    original_part = list(parse(build(source(delivered))).iter_parts())[1]
    expected = "8bit" if re.search(rb"[\x80-\xff]", delivered) else "7bit"
    assert original_part["Content-Transfer-Encoding"] == expected


def test_utf8_subject_survives_in_wrapper_and_report() -> None:
    subject = "Grüße aus Köln ✓"
    raw = build(source(DELIVERED["utf8-subject-and-body"], subject=subject, message_id="<m2@sender.test>"))
    top = parse(raw)
    assert top["Subject"] == subject
    report_part = next(top.iter_parts())
    assert f"Subject: {subject}" in report_part.get_content().splitlines()
    assert not any(byte > 0x7F for byte in head_of(raw)), "the wrapper header must be 7-bit (RFC 2047)"


def test_a_built_journal_passes_the_conformance_check() -> None:
    delivered = DELIVERED["utf8-subject-and-body"]
    raw = build(source(delivered, subject="Grüße aus Köln", message_id="<m2@sender.test>"))
    intake = ADDRESSING.intake_address
    assert check_journal(raw, ADDRESSING.system_address, [intake], [intake]) == []


def test_wrapper_headers() -> None:
    top = parse(build())
    assert JOURNAL_MARKER in top and str(top[JOURNAL_MARKER]) == ""
    assert top["From"] == ADDRESSING.system_address
    assert top["To"] == ADDRESSING.intake_address
    assert top["Subject"] == "Hello"
    assert top["X-IronPort-MID"] == "3"
    assert top["Message-ID"] == "<tdc.4.20220817055204@esa1.sandbox.test>", "the copy's own"


def test_each_copy_gets_its_own_message_id() -> None:
    assert parse(build(copy_mid=4))["Message-ID"] != parse(build(copy_mid=5))["Message-ID"]


def test_building_is_pure() -> None:
    assert build() == build()


def test_every_generated_line_ends_in_crlf_and_fits_smtp() -> None:
    """Outside the embedded original, no bare LF and no line over 998 octets (RFC 5322 §2.1.1)."""
    raw = build(source(subject="word " * 400))
    generated = raw.replace(DELIVERED["plain"], b"")
    assert re.search(rb"(?<!\r)\n", generated) is None
    assert max(len(line) for line in generated.split(b"\r\n")) <= 998


def test_report_has_one_to_line_per_recipient_in_order() -> None:
    recipients = ("bob@example.com", "carol@example.com", "bcc-dave@example.com")
    lines = report_text(source(recipients=recipients)).splitlines()
    assert [line for line in lines if line.startswith("To:")] == [f"To: {r}" for r in recipients]


def test_report_fields_in_order() -> None:
    lines = report_text(source(recipients=("bob@example.com",))).splitlines()
    assert lines == [
        "Sender: alice@sender.test",
        "Subject: Hello",
        "Message-ID: <m1@sender.test>",
        "To: bob@example.com",
    ]


def test_null_sender_shows_angle_brackets() -> None:
    assert "Sender: <>" in report_text(source(envelope_sender="")).splitlines()


@pytest.mark.parametrize(
    "subject", ["first\r\nsecond", "first\n second", "first\r\n\tsecond", " first  second "]
)
def test_subject_with_line_breaks_becomes_one_line(subject: str) -> None:
    text = report_text(source(subject=subject))
    assert "Subject: first second" in text.splitlines()
    assert parse(build(source(subject=subject)))["Subject"] == "first second"


def test_subject_cannot_inject_report_fields() -> None:
    text = report_text(source(subject="hi\r\nTo: evil@attacker.test", recipients=("bob@example.com",)))
    assert [line for line in text.splitlines() if line.startswith("To:")] == ["To: bob@example.com"]


def test_split_parts_of_a_message_without_boundary_is_empty() -> None:
    assert split_parts(DELIVERED["plain"]) == []
    assert embedded_original(DELIVERED["plain"]) is None


def test_a_short_plain_header_is_written_as_the_email_policy_would_fold_it() -> None:
    """The fast path for short printable ASCII values (it saves a parse per copy) writes exactly what
    `email.policy.SMTP` writes, on seeded random values that take it and that do not."""
    def folded_by_policy(name: str, value: str) -> str:
        header = policy.SMTP.header_store_parse(name, value)[1]
        return policy.SMTP.fold_binary(name, header).decode("ascii").rstrip("\r\n")

    rng = random.Random(2022)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " \té"
    for _ in range(3000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        assert journal._folded("Subject", value) == folded_by_policy("Subject", value), repr(value)
