"""DSNs for senders RFC 5321 allows, and for what an older spool may still hold: built without raising,
no header taking a line break from input, SMTPUTF8 when an address is not ASCII."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import pytest

from simulator.core.errors import PermanentDeliveryError
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.dsn import build_dsn
from simulator.core.mail.messages import QueueEntry
from simulator.core.mail.retry import RetrySchedule

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
REFUSAL = PermanentDeliveryError("550 5.1.1 No such user", 550, "5.1.1")
INJECTING = PermanentDeliveryError("550 5.1.1 No such user\r\nX-Injected: yes", 550, "5.1.1")


def bounced(sender: str, recipients: tuple[str, ...] = ("bob@example.com",)) -> QueueEntry:
    return QueueEntry(
        mid=3, sender=sender, recipients=recipients, rids=tuple(range(len(recipients))),
        body=InMemoryBody(b"Subject: s\r\nMessage-ID: <m@x.test>\r\n\r\nbody\r\n"), destination="example.com",
        schedule=RetrySchedule.starting(NOW),
    )


def parsed(data: bytes) -> EmailMessage:
    message: Message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


SENDERS = [
    '"john doe"@outside.test', '"a,b<c>(d)"@outside.test', '"a\\"b"@outside.test', '""@outside.test',
    '"a..b"@outside.test', "alice@[192.0.2.1]",
    '"p\rq"@outside.test', '"x\r\nBcc: y@evil.test"@outside.test',  # what an older spool may hold
]


@pytest.mark.parametrize("sender", SENDERS)
def test_a_dsn_is_built_for_any_sender_and_no_header_takes_a_line_break(sender: str) -> None:
    dsn = build_dsn(bounced(sender), REFUSAL, "esa1.sandbox.test", 9, NOW)
    assert dsn.recipients == (sender,) and dsn.sender == ""
    lines = dsn.body.read().split(b"\r\n")
    assert not [line for line in lines if line.startswith((b"Bcc:", b"X-Injected:"))]
    message = parsed(dsn.body.read())
    assert message.get_content_type() == "multipart/report" and "Bcc" not in message


def test_a_non_ascii_sender_gets_an_smtputf8_dsn() -> None:
    dsn = build_dsn(bounced("jörg@outside.test", ("zoë@example.com",)), REFUSAL, "esa1.sandbox.test", 9, NOW)
    assert "To: jörg@outside.test".encode() in dsn.body.read()
    assert "Final-Recipient: rfc822; zoë@example.com".encode() in dsn.body.read()


def test_the_remote_reason_stays_on_its_line() -> None:
    dsn = build_dsn(bounced("alice@outside.test"), INJECTING, "esa1.sandbox.test", 9, NOW)
    (line,) = [line for line in dsn.body.read().split(b"\r\n") if line.startswith(b"Diagnostic-Code:")]
    assert line.startswith(b"Diagnostic-Code: smtp; 550 5.1.1 No such user") and b"X-Injected" in line
