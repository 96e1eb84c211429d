"""What the gateway reads from a message: facts for decisions, never a failure on bad input."""

from __future__ import annotations

import base64
import random
from typing import NoReturn

import pytest

from simulator.core.mail import inspection
from simulator.core.mail.inspection import RememberingHeaders, inspect

MULTIPART = (
    b"From: Alice <alice@sender.test>\r\nTo: bob@example.com\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <m1@sender.test>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"H=C3=A4llo Bob\r\n"
    b'--b1\r\nContent-Type: application/octet-stream; name="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(b"\x00binary attachment\xff")
    + b"--b1--\r\n"
)


def test_subject_and_message_id() -> None:
    facts = inspect(MULTIPART)
    assert facts.subject == "Grüße"
    assert facts.message_id == "<m1@sender.test>"


def test_raw_bytes_are_kept() -> None:
    assert inspect(MULTIPART).raw == MULTIPART


def test_decoded_parts_are_decoded() -> None:
    parts = inspect(MULTIPART).decoded_parts
    assert "Hällo Bob".encode() in parts[0]
    assert parts[1] == b"\x00binary attachment\xff"
    assert len(parts) == 2, "the multipart container itself is not a part"


def test_a_forwarded_message_is_walked_into() -> None:
    raw = (
        b'Subject: Fwd\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\n'
        b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"inner secret") + b"--o--\r\n"
    )
    assert b"inner secret" in inspect(raw).decoded_parts
    assert inspect(raw).contains(b"inner secret")


def test_header_values_are_case_insensitive_and_complete() -> None:
    facts = inspect(b"Received: one\r\nreceived: two\r\nSubject: s\r\n\r\nbody")
    assert facts.header_values("RECEIVED") == ["one", "two"]
    assert facts.header_values("X-Missing") == []


def test_missing_subject_and_message_id_are_empty() -> None:
    facts = inspect(b"From: a@b.test\r\n\r\nbody\r\n")
    assert (facts.subject, facts.message_id) == ("", "")


PLAIN = (b"Received: from [198.51.100.25] by esa1.sandbox.test with ESMTP id 4;\r\n Mon, 30 Nov 2026\r\n"
         b"X-IronPort-RemoteIP: 198.51.100.25\r\nFrom: hkim@foster.com\r\nTo: yoneill@example.com\r\n"
         b"Subject: Fire particularly leader change yes.\r\nMessage-ID: <bench.d9f8d47b.3@bench.test>\r\n"
         b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\n\r\nBody.\r\n')


def _refuse(*args: object) -> NoReturn:
    raise AssertionError("parsed with the policy")


def test_a_plain_message_is_read_without_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: plain ASCII headers and one text part, the common message, cost no feed parser and
    no header parse tree; the answers are the policy's (tests/test_reading_equivalence.py)."""
    monkeypatch.setattr(inspection, "_parse", _refuse)
    monkeypatch.setattr(RememberingHeaders, "__call__", _refuse)
    facts = inspect(PLAIN)
    assert (facts.subject, facts.message_id) == ("Fire particularly leader change yes.",
                                                 "<bench.d9f8d47b.3@bench.test>")
    assert facts.header_values("x-ironport-remoteip") == ["198.51.100.25"]
    assert facts.header_values("Received")[0].endswith("id 4; Mon, 30 Nov 2026"), "unfolded"
    assert facts.decoded_parts == (b"Body.\r\n",)


@pytest.mark.parametrize("change", [
    (b"text/plain", b"multipart/mixed"), (b"text/plain", b"message/rfc822"), (b"7bit", b"base64"),
    (b"\r\nBody", b"\nBody"), (b"Fire", b"F\xc3\xafre"), (b"Fire", b"Fi\rre"), (b"To:", b"To :"),
])
def test_a_message_that_is_not_plain_is_read_by_the_parser(change: tuple[bytes, bytes]) -> None:
    assert inspection._plain_facts(PLAIN) is not None
    assert inspection._plain_facts(PLAIN.replace(*change)) is None


def test_a_value_that_is_not_plain_is_read_by_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    asked, real = [], RememberingHeaders.__call__

    def counting(registry: RememberingHeaders, name: str, value: object) -> object:
        asked.append(name)
        return real(registry, name, value)

    monkeypatch.setattr(RememberingHeaders, "__call__", counting)
    raw = PLAIN.replace(b"Subject: Fire", b"Subject: =?utf-8?q?Fire?=")
    assert inspect(raw).subject == "Fire particularly leader change yes."
    assert asked == ["Subject"], "only the encoded word is parsed"


def test_lower_body_joins_the_decoded_parts_lower_cased() -> None:
    """Quoted-printable and base64 parts decoded, the text lower-cased, for the content rules."""
    text = inspect(MULTIPART).lower_body
    assert "hällo bob" in text and "binary attachment" in text
    assert "h=c3=a4llo" not in text, "parts are decoded, not scanned as transferred"


#: Headers and bodies a sender can get wrong; inspecting them must not raise.
MALFORMED = {
    "bad-encoded-word": b"Subject: =?utf-8?b?!!!invalid?=\r\n\r\nbody",
    "unknown-charset-word": b"Subject: =?x-no-such-charset?q?abc?=\r\n\r\nbody",
    "unterminated-message-id": b"Message-ID: <unterminated\r\n\r\nbody",
    "garbage-addresses": b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nDate: not a date\r\n\r\nbody",
    "8bit-header-bytes": b"Subject: \xff\xfe bad bytes\r\nMessage-ID: <\xff@x>\r\n\r\n\xff\xfe",
    "multipart-without-boundary": b"Content-Type: multipart/mixed\r\n\r\nno boundary",
    "invalid-base64": b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64===\r\n",
    "unknown-transfer-encoding": b"Content-Transfer-Encoding: x-unknown\r\n\r\nhello\r\n",
    "unknown-charset": b"Content-Type: text/plain; charset=bogus\r\n\r\nhi",
    "bad-rfc2231": b"Content-Disposition: attachment; filename*=bogus''%ff%ff\r\n\r\nhi",
    "unterminated-quote": b'To: "unterminated <a@b.c>\r\nCc: a@b.c (comment\r\n\r\n',
    "to-without-domain": b"Subject: hi\r\nTo: bob@\r\n\r\nbody\r\n",
    "from-open-angle": b"From: Alice <\r\nSubject: hi\r\n\r\nbody\r\n",
    "message-id-open-angle": b"Message-ID: <\r\nSubject: hi\r\n\r\nbody\r\n",
    "message-id-without-domain": b"Message-ID: <m1@\r\nSubject: hi\r\n\r\nbody\r\n",
    "empty": b"",
    "no-headers": b"\r\n\r\n",
}


@pytest.mark.bad_input
@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_yields_facts(raw: bytes) -> None:
    facts = inspect(raw)
    assert facts.raw == raw
    assert isinstance(facts.subject, str) and isinstance(facts.message_id, str)


@pytest.mark.bad_input
def test_an_unreadable_header_falls_back_to_its_raw_text() -> None:
    """The module's promise: a header the policy cannot parse is kept as it was written."""
    facts = inspect(MALFORMED["to-without-domain"])
    assert facts.subject == "hi"
    assert facts.header_values("To") == ["bob@"]


@pytest.mark.bad_input
def test_inspect_never_raises_on_damaged_messages() -> None:
    """Seeded damage to a good message (truncations, byte flips) never stops the pipeline."""
    rng = random.Random(7)
    damaged = [MULTIPART[:cut] for cut in range(len(MULTIPART))]
    for _ in range(300):
        flipped = bytearray(MULTIPART)
        for _ in range(4):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        damaged.append(bytes(flipped))
    failures = []
    for raw in damaged:
        try:
            inspect(raw)
        except Exception as error:
            failures.append(f"{raw[:60]!r}: {type(error).__name__}: {error}")
    assert failures == [], f"{len(failures)} messages raised, e.g. {failures[:3]}"
