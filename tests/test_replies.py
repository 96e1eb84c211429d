"""The reply catalogue (STYLE.md: "a test checks the catalogue itself")."""

from __future__ import annotations

import re

import pytest

from simulator.core import replies
from simulator.core.replies import CATALOGUE, Reply

NAMED = {name: value for name, value in vars(replies).items() if isinstance(value, Reply)}


def test_every_named_reply_is_in_the_catalogue() -> None:
    assert NAMED, "the module defines replies"
    assert set(NAMED.values()) == set(CATALOGUE)


def test_the_catalogue_has_no_duplicates() -> None:
    assert len(set(CATALOGUE)) == len(CATALOGUE), "no reply listed twice"
    assert len(set(NAMED.values())) == len(NAMED), "no two names for the same reply"
    assert len({reply.text for reply in CATALOGUE}) == len(CATALOGUE), "no two replies with one text"


@pytest.mark.parametrize("name", NAMED)
def test_code_and_enhanced_status_agree(name: str) -> None:
    """RFC 3463: the class digit of the enhanced status is the first digit of the code."""
    reply = NAMED[name]
    assert 200 <= reply.code <= 599
    assert re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", reply.enhanced), reply.enhanced
    assert str(reply.code)[0] == reply.enhanced[0]


@pytest.mark.parametrize("name", NAMED)
def test_line_format(name: str) -> None:
    reply = NAMED[name]
    assert reply.line == f"{reply.code} {reply.enhanced} {reply.text}"
    assert re.fullmatch(r"\d{3} \d\.\d+\.\d+ \S.*", reply.line)
    assert "\r" not in reply.line and "\n" not in reply.line


def test_the_spec_replies() -> None:
    """The codes BEHAVIOUR.md names: 550 5.7.1 (no relay), 530 5.7.0, 550 5.1.1, 421 4.7.0."""
    assert (replies.RELAY_DENIED.code, replies.RELAY_DENIED.enhanced) == (550, "5.7.1")
    assert (replies.STARTTLS_REQUIRED.code, replies.STARTTLS_REQUIRED.enhanced) == (530, "5.7.0")
    assert (replies.UNKNOWN_INTAKE_ADDRESS.code, replies.UNKNOWN_INTAKE_ADDRESS.enhanced) == (550, "5.1.1")
    assert (replies.TOO_MANY_MESSAGES.code, replies.TOO_MANY_MESSAGES.enhanced) == (421, "4.7.0")


def test_with_text_keeps_code_and_status() -> None:
    reply = replies.MESSAGE_ACCEPTED.with_text("Ok: Message 3 accepted")
    assert (reply.code, reply.enhanced, reply.text) == (250, "2.0.0", "Ok: Message 3 accepted")
    assert replies.MESSAGE_ACCEPTED.text == "Ok: message accepted"


def test_the_robustness_replies() -> None:
    """BEHAVIOUR.md §8.9 and §9: 501 5.1.7 / 5.1.3 for address syntax, 553 5.6.7 without SMTPUTF8,
    451 4.3.0 for our bugs, 452 4.3.1 for the endpoints' storage, 421 4.7.0 past a connection limit."""
    named = {
        replies.BAD_SENDER_SYNTAX: (501, "5.1.7"), replies.BAD_RECIPIENT_SYNTAX: (501, "5.1.3"),
        replies.NEEDS_SMTPUTF8: (553, "5.6.7"), replies.INTERNAL_ERROR: (451, "4.3.0"),
        replies.STORAGE_TROUBLE: (452, "4.3.1"), replies.LISTENER_BUSY: (421, "4.7.0"),
        replies.HOST_BUSY: (421, "4.7.0"),
    }
    assert {reply: (reply.code, reply.enhanced) for reply in named} == named


def test_no_reply_of_ours_is_a_500_but_rfc_4954s_line_too_long() -> None:
    """500 is aiosmtpd's for what it cannot parse; ours only where RFC 4954 names it (§4: an AUTH
    exchange line that is too long), never for an internal error."""
    assert [reply for reply in CATALOGUE if reply.code == 500] == [replies.AUTH_LINE_TOO_LONG]
