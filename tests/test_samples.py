"""The sample kinds of the Traffic Generator (issue 12), no sockets: each kind's content earns the verdict
it is named for (the Threat Defense rules of verdicts.py and the gateway's engines), the same seed gives
the same bytes, and the multi-policy split finds one recipient per policy a local recipient can reach."""

from __future__ import annotations

import hashlib
import random
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from simulator.core.config.values import DEFAULT_POLICY, MailPolicy, domain_of
from simulator.core.mail.inspection import inspect
from simulator.core.mail.policies import policy_for, split_by_policy
from simulator.core.mail.samples import (
    SAMPLE_KINDS,
    MessageFactory,
    SampleKind,
    accepted_mid,
    multipart_boundary,
    split_recipients,
)
from simulator.core.mail.scanning import Disposition, scan
from simulator.core.mail.verdicts import verdict_of

LOCAL = ("example.com", "sales.example.com")
SALES = MailPolicy("SALES", recipients=("@sales.example.com",))
EXECUTIVES = MailPolicy("EXECUTIVES", recipients=("ceo@example.com", "cfo@"))
#: What the gateway's own engines do with each kind (the rest are delivered, and so copied).
GATEWAY_DISPOSITION = {"spam": Disposition.QUARANTINE, "virus": Disposition.DROP}


@pytest.mark.parametrize("kind", SAMPLE_KINDS, ids=lambda kind: kind.name)
@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_each_kind_earns_its_verdict_and_the_gateways_disposition(kind: SampleKind, seed: int) -> None:
    sample = MessageFactory(seed).sample(kind.name)
    facts = inspect(sample.data)
    assert verdict_of(facts) == kind.verdict
    expected = GATEWAY_DISPOSITION.get(kind.name, Disposition.DELIVER)
    assert scan(1, facts, DEFAULT_POLICY).disposition is expected


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_ones() -> None:
    for kind in SAMPLE_KINDS:
        first, again = MessageFactory(5).sample(kind.name), MessageFactory(5).sample(kind.name)
        assert first == again
        assert MessageFactory(6).sample(kind.name).data != first.data, kind.name


#: SHA-256 of what seeds 1, 7 and 2024 give (every kind, the malformed message, a base64 one), taken
#: before faker was made lazy (faker 40.63.0: a faker release that draws otherwise changes it too).
SEEDED_BYTES_SHA256 = "20bf7dee5308ef637cb0b0718b8b12da32c99fe6a334b8fb1317525ec17f6863"


def test_a_seed_gives_the_envelopes_and_bytes_it_always_gave() -> None:
    digest = hashlib.sha256()
    for seed in (1, 7, 2024):
        factory = MessageFactory(seed)
        for kind in SAMPLE_KINDS:
            sample = factory.sample(kind.name)
            digest.update(repr((sample.mail_from, sample.rcpt_tos, sample.data)).encode())
        digest.update(factory.malformed().data)
        digest.update(factory.message(cte="base64").data)
    assert digest.hexdigest() == SEEDED_BYTES_SHA256


ATTACHMENTS = (("report.pdf", bytes(range(256)) * 8), ("notes.bin", b"\x00\x01" * 300))


def parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_message_with_attachments_has_the_same_bytes_whatever_the_global_random_holds() -> None:
    """The stdlib draws a multipart's boundary from `random`: ours comes from the message itself."""
    random.seed(1)
    first = MessageFactory(5).message(attachments=ATTACHMENTS)
    random.seed(2)
    random.random()
    assert MessageFactory(5).message(attachments=ATTACHMENTS) == first
    boundary = parsed(first.data).get_boundary()
    assert boundary is not None and boundary.startswith("=_")
    assert parsed(MessageFactory(6).message(attachments=ATTACHMENTS).data).get_boundary() != boundary


#: RFC 2046 §5.1.1: 1 to 70 of these characters, the last one not a space.
BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_messages_with_attachments_have_a_valid_boundary_and_parse_back_whole(seed: int) -> None:
    factory = MessageFactory(seed)
    for attachments in (ATTACHMENTS[:1], ATTACHMENTS):
        data = factory.message(body="Hello\n", attachments=attachments).data
        written = re.search(rb'boundary="(.*)"\r\n', data)  # as written: the parser strips spaces
        assert written is not None and BOUNDARY_RE.fullmatch(written.group(1).decode())
        message = parsed(data)
        body = message.get_body(("plain",))
        assert body is not None and body.get_content() == "Hello\r\n"  # as sent: CRLF
        got = [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]
        assert got == list(attachments)
        assert not message.defects


def test_a_boundary_the_content_holds_is_never_chosen() -> None:
    first = multipart_boundary("<1@outside.test>", b"")
    assert multipart_boundary("<1@outside.test>", b"") == first, "the same key: the same boundary"
    assert multipart_boundary("<2@outside.test>", b"") != first
    content = f"--{first}\r\n".encode()
    other = multipart_boundary("<1@outside.test>", content)
    assert other != first and other.encode() not in content


def test_a_body_holding_the_boundary_the_message_would_get_still_parses_back() -> None:
    """The same seed draws the same Message-ID, so the second message's body holds the boundary the
    first one got: the second gets another, and its body and attachment come back whole."""
    plain = MessageFactory(4).message(body="x\n", attachments=ATTACHMENTS[:1])
    taken = parsed(plain.data).get_boundary()
    body = f"--{taken}\n--{taken}--\n"
    message = parsed(MessageFactory(4).message(body=body, attachments=ATTACHMENTS[:1]).data)
    assert message.get_boundary() != taken
    text = message.get_body(("plain",))
    assert text is not None and text.get_content() == body.replace("\n", "\r\n")
    assert [part.get_content() for part in message.iter_attachments()] == [ATTACHMENTS[0][1]]


def test_incoming_kinds_go_to_a_local_recipient_and_the_outgoing_one_leaves_the_domain() -> None:
    for kind in SAMPLE_KINDS:
        sample = MessageFactory(3, "example.com").sample(kind.name)
        local = [domain_of(address) == "example.com" for address in sample.rcpt_tos]
        if kind.name == "outgoing":
            assert kind.listener == "relay" and domain_of(sample.mail_from) == "example.com"
            assert local == [False]
        else:
            assert kind.listener == "inbound" and local == [True]
            assert domain_of(sample.mail_from) != "example.com"


def test_a_sample_goes_to_the_recipients_it_is_given() -> None:
    sample = MessageFactory(3).sample("phishing", to=("a@example.com", "b@example.com"))
    assert sample.rcpt_tos == ("a@example.com", "b@example.com")
    assert b"To: a@example.com, b@example.com\r\n" in sample.data


def test_the_split_finds_one_recipient_for_each_policy_in_table_order() -> None:
    policies = (EXECUTIVES, SALES, DEFAULT_POLICY)
    recipients = split_recipients(policies, LOCAL, MessageFactory(9).faker.user_name)
    matched = [policy_for(address, policies).name for address in recipients]
    assert matched == ["EXECUTIVES", "SALES", "DEFAULT"]
    assert all(domain_of(address) in LOCAL for address in recipients)
    assert len(split_by_policy(recipients, policies)) == 3
    assert split_recipients(policies, LOCAL, MessageFactory(9).faker.user_name) == recipients  # seeded


@pytest.mark.parametrize("policies", [
    (DEFAULT_POLICY,),
    (MailPolicy("ELSEWHERE", recipients=("@elsewhere.test",)), DEFAULT_POLICY),  # no local recipient
    (MailPolicy("EVERYONE", recipients=("@example.com",)), DEFAULT_POLICY),  # takes every local one
], ids=["default-only", "not-local", "shadows-default"])
def test_no_split_is_possible_when_local_recipients_reach_one_policy(
    policies: tuple[MailPolicy, ...]
) -> None:
    assert len(split_recipients(policies, ("example.com",), MessageFactory(9).faker.user_name)) == 1


def test_user_and_subdomain_patterns_find_a_local_recipient() -> None:
    policies = (MailPolicy("BRANCHES", recipients=("@.example.com",)),
                MailPolicy("CFO", recipients=("cfo@",)), DEFAULT_POLICY)
    recipients = split_recipients(policies, LOCAL, MessageFactory(2).faker.user_name)
    assert domain_of(recipients[0]) == "sales.example.com" and recipients[1] == "cfo@example.com"
    assert policy_for(recipients[2], policies).name == "DEFAULT"


@pytest.mark.parametrize(("reply", "mid"), [("Ok: Message 17 accepted", 17), ("Ok: message accepted", None),
                                            ("Recipient address rejected: relaying denied", None)])
def test_the_mid_is_read_from_the_gateways_reply_to_data(reply: str, mid: int | None) -> None:
    assert accepted_mid(reply) == mid
