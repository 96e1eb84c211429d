"""RFC 5321 address syntax at MAIL and RCPT (core/mail/addresses.py), without sockets; the same rules
over the wire are in test_hostile_smtp.py."""

from __future__ import annotations

import unicodedata

import pytest

from simulator.core import replies
from simulator.core.mail.addresses import (
    REFUSED_RE,
    has_refused_character,
    recipient_refusal,
    sender_refusal,
)

GOOD_SENDERS = [
    "FROM:<alice@outside.test>",
    "FROM:<>",
    "from: <alice@outside.test> SIZE=100 BODY=8BITMIME",
    'FROM:<"john doe"@example.com>',
    'FROM:<"a\\"b"@outside.test>',  # a quoted-pair
    'FROM:<"x@y,z<>"@outside.test>',  # specials are fine inside quotes
    "FROM:<o'brien+tag@outside.test>",
    "FROM:<alice@[127.0.0.1]>",
    "FROM:<alice@[IPv6:2001:db8::1]>",
    "FROM:<@relay.test,@other.test:alice@outside.test>",  # an obsolete source route
    "FROM:alice@outside.test",  # no angle brackets: tolerated, like Postfix
    "FROM:<jörg@exämple.test> SMTPUTF8",
    "FROM:<jörg@exämple.test> smtputf8",
    f"FROM:<{'l' * 64}@outside.test>",
    f"FROM:<alice@{'d' * 63}.test>",
]

BAD_SENDERS = [
    ('FROM:<"p\rq"@outside.test>', "a CR in a quoted local part"),
    ("FROM:<alice\n@outside.test>", "a LF"),
    ("FROM:<ali\x00ce@outside.test>", "a NUL"),
    ("FROM:<ali\x1bce@outside.test>", "an ESC"),
    ("FROM:<alice@outside.test>\tSIZE=1", "a tab"),
    ("FROM:<ali\x85ce@outside.test>", "a C1 control (NEL)"),
    ("FROM:<alice@out\u2028side.test> SMTPUTF8", "a Unicode line separator"),
    ("FROM:<ali\u00a0ce@outside.test> SMTPUTF8", "a no-break space"),
    ("FROM:<\udcffalice@outside.test>", "a byte that is not UTF-8 (aiosmtpd's surrogate escape)"),
    ("FROM:<", "an angle bracket that never closes"),
    ("FROM:<alice@outside.test", "no closing bracket"),
    ("FROM:<alice@outside.test>junk", "junk after the path"),
    ("FROM:<alice@outside.test><bob@outside.test>", "two paths"),
    ("FROM:<alice>", "no domain"),
    ("FROM:<a..b@outside.test>", "an empty atom"),
    ("FROM:<alice@outside..test>", "an empty label"),
    ("FROM:<alice@outside.test.>", "a trailing dot"),
    ("FROM:<alice@-outside.test>", "a label starting with a hyphen"),
    ('FROM:<"a"b"@outside.test>', "a bare quote in a quoted string"),
    ("FROM:<al ice@outside.test>", "a space outside quotes"),
    ("FROM:<(comment)alice@outside.test>", "an RFC 5322 comment"),
    ("FROM:<alice@[999.1.1.1]>", "an address literal that is no address"),
    ("FROM:<alice@[IPv6:1.2.3.4]>", "an IPv6 tag on an IPv4 address"),
    ("FROM:<alice@[tag:general]>", "an unregistered general literal"),
    (f"FROM:<{'l' * 65}@outside.test>", "a local part over 64 octets"),
    (f"FROM:<{'l' * 64}@{'.'.join(['d' * 49] * 4)}.test>", "a path over 256 octets"),
    (f"FROM:<alice@{'.'.join(['d' * 50] * 5)}.test>", "a domain over 255 octets"),
    (f"FROM:<alice@{'d' * 64}.test>", "a label over 63 octets"),
]


@pytest.mark.parametrize("argument", GOOD_SENDERS)
def test_good_senders_are_left_to_aiosmtpd(argument: str) -> None:
    assert sender_refusal(argument) is None


@pytest.mark.parametrize(("argument", "why"), BAD_SENDERS, ids=[why for _, why in BAD_SENDERS])
def test_bad_senders_get_501_5_1_7(argument: str, why: str) -> None:
    assert sender_refusal(argument) is replies.BAD_SENDER_SYNTAX, why


@pytest.mark.parametrize(("argument", "why"), BAD_SENDERS, ids=[why for _, why in BAD_SENDERS])
def test_bad_recipients_get_501_5_1_3(argument: str, why: str) -> None:
    recipient = "TO:" + argument.removeprefix("FROM:")
    assert recipient_refusal(recipient, smtputf8=True) is replies.BAD_RECIPIENT_SYNTAX, why


def test_a_non_ascii_sender_needs_the_smtputf8_parameter() -> None:
    assert sender_refusal("FROM:<jörg@outside.test>") is replies.NEEDS_SMTPUTF8
    assert sender_refusal("FROM:<alice@exämple.test> SIZE=10") is replies.NEEDS_SMTPUTF8
    assert sender_refusal("FROM:<jörg@outside.test> SIZE=10 SMTPUTF8") is None


def test_a_non_ascii_recipient_needs_a_transaction_with_smtputf8() -> None:
    assert recipient_refusal("TO:<zoë@example.com>", smtputf8=False) is replies.NEEDS_SMTPUTF8
    assert recipient_refusal("TO:<zoë@example.com>", smtputf8=True) is None
    assert recipient_refusal("TO:<bob@example.com>", smtputf8=False) is None


def test_the_null_path_is_a_sender_only() -> None:
    assert sender_refusal("FROM:<>") is None
    assert recipient_refusal("TO:<>", smtputf8=False) is replies.BAD_RECIPIENT_SYNTAX


@pytest.mark.parametrize("argument", [None, "", "alice@outside.test", "TO:<bob@example.com>"])
def test_without_its_keyword_aiosmtpd_answers_with_its_own_syntax_error(argument: str | None) -> None:
    assert sender_refusal(argument) is None


def test_the_refused_characters_are_exactly_white_space_controls_separators_and_undecodable_bytes() -> None:
    """`REFUSED_RE` is one compiled class; it agrees with the rule on every code point of the BMP,
    and above it (where Unicode has no white space, control or separator) refuses nothing."""
    def rule(char: str) -> bool:
        return char != " " and (char.isspace() or unicodedata.category(char) in {"Cc", "Cs", "Zl", "Zp"})

    plane = "".join(map(chr, range(0x10000)))
    refused = {found.start() for found in REFUSED_RE.finditer(plane)}
    assert refused == {code for code, char in enumerate(plane) if rule(char)}
    assert REFUSED_RE.search("".join(map(chr, range(0x10000, 0x110000)))) is None
    assert has_refused_character("a\u3000b") and not has_refused_character("a b")
