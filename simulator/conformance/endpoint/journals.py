"""The journals the kit's connector sends: built by the gateway's own code (BEHAVIOUR.md §3).

Design rule: the kit never writes a journal by hand. Each original is a small, plain message made
with `email.policy.SMTP`, unique per run (a vendor endpoint that removes duplicates must still see
new journals), given the gateway's trace lines as it delivers it (`with_trace_headers`) and wrapped
by `build_journal` exactly as our connector wraps a delivered message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from simulator.conformance.endpoint.smtp_probe import KIT_HOSTNAME, SYSTEM_ADDRESS
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.mail.messages import Direction, ReceivedMessage
from simulator.core.mail.processing import with_trace_headers

ORIGINAL_SENDER = "conformance-sender@sender.example"
ORIGINAL_RECIPIENT = "conformance-recipient@customer.example"
ORIGINAL_PEER_IP = "192.0.2.25"  # where the original came from (a documentation address)


@dataclass(frozen=True)
class Journal:
    """One journal copy to send: its number in the check and its bytes."""

    number: int
    data: bytes


def _original(number: int, count: int, run: str, now: datetime) -> tuple[str, bytes]:
    """(Message-ID, bytes as the gateway delivers them) of the `number`th original of a check."""
    message = EmailMessage(policy=policy.SMTP)
    message_id = f"<conformance.{run}.{number}@sender.example>"
    message["From"] = ORIGINAL_SENDER
    message["To"] = ORIGINAL_RECIPIENT
    message["Subject"] = f"tdc-simulator conformance kit: journal {number} of {count}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message.set_content(f"Journal {number} of {count} of conformance run {run}.\n")
    received = ReceivedMessage(number, number, Direction.INCOMING, ORIGINAL_PEER_IP, ORIGINAL_SENDER,
                               (ORIGINAL_RECIPIENT,), message.as_bytes())
    return message_id, with_trace_headers(received, KIT_HOSTNAME, now)


def journals_for(intake_address: str, count: int) -> list[Journal]:
    """`count` journals for `intake_address`, numbered from 1, as our connector builds them."""
    now, run = datetime.now(UTC), uuid.uuid4().hex[:12]
    addressing = JournalAddressing(SYSTEM_ADDRESS, intake_address, KIT_HOSTNAME)
    built = []
    for number in range(1, count + 1):
        message_id, delivered = _original(number, count, run, now)
        source = JournalSource(
            original_mid=number, envelope_sender=ORIGINAL_SENDER, recipients=(ORIGINAL_RECIPIENT,),
            subject=f"tdc-simulator conformance kit: journal {number} of {count}",
            message_id=message_id, delivered=delivered,
        )
        built.append(Journal(number, build_journal(source, addressing, 1000 + number, now)))
    return built
