"""The mock mailbox host: the recipients' mail server, and the internet for outgoing mail.

Design rule: accepts any recipient and stores exactly the DATA bytes it received, one Maildir
file per recipient: `DATA/mailbox/<address>/new/<unique name>` (written in tmp/, then renamed).
Scripted faults (BEHAVIOUR.md §8.7) answer first, as at the Threat Defense endpoint.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import Envelope, Session

from simulator import replies
from simulator.clock import Clock
from simulator.endpoint import EndpointHandler
from simulator.faults import FaultPlan
from simulator.records import Records
from simulator.server import ObservedSMTP, envelope_sender


@dataclass(frozen=True)
class MailboxDelivery:
    """One message as one recipient's mailbox received it."""

    recipient: str
    mail_from: str
    path: Path | None
    data: bytes = field(repr=False)


class MailboxStore:
    """Maildirs under `root` (or memory only when `root` is None)."""

    def __init__(
        self, root: Path | None, clock: Clock, hostname: str = "mailbox.sandbox.test",
        kept: int | None = None,
    ):
        self.root = root
        self._clock = clock
        self._hostname = hostname
        self._sequence = itertools.count(1)
        self.deliveries: Records[MailboxDelivery] = Records(kept)

    def save(self, recipient: str, mail_from: str, data: bytes) -> MailboxDelivery:
        path = None
        if self.root is not None:
            maildir = self.root / recipient.lower()
            for sub in ("tmp", "new", "cur"):
                (maildir / sub).mkdir(parents=True, exist_ok=True)
            # Maildir's unique name: time, sequence and process id (a restarted sandbox must never
            # reuse a name in the same second, which would replace a delivered message)
            name = (f"{int(self._clock.now().timestamp())}.M{next(self._sequence)}P{os.getpid()}."
                    f"{self._hostname}")
            (maildir / "tmp" / name).write_bytes(data)
            path = (maildir / "tmp" / name).rename(maildir / "new" / name)
        delivery = MailboxDelivery(recipient.lower(), mail_from, path, data)
        self.deliveries.append(delivery)
        return delivery

    def for_recipient(self, recipient: str) -> list[MailboxDelivery]:
        return [d for d in self.deliveries.snapshot() if d.recipient == recipient.lower()]


def is_safe_folder_name(address: str) -> bool:
    """Can `address` name a Maildir folder without leaving the mailbox root?"""
    return bool(address) and "/" not in address and "\\" not in address and not address.startswith(".")


class MailboxHandler(EndpointHandler):
    """aiosmtpd handler of the mock mailbox host."""

    def __init__(self, store: MailboxStore, faults: FaultPlan | None = None) -> None:
        super().__init__(faults)
        self.store = store

    def refuse_recipient(self, address: str) -> str | None:
        return None if is_safe_folder_name(address) else replies.BAD_MAILBOX_ADDRESS.line

    async def handle_DATA(self, server: ObservedSMTP, session: Session, envelope: Envelope) -> str:
        if (fault := await self.fault_reply(server, "END")) is not None:
            return fault
        for recipient in envelope.rcpt_tos:
            self.store.save(recipient, envelope_sender(envelope.mail_from or ""),
                            envelope.original_content or b"")
        return replies.OK.with_text("Ok: delivered to mailbox").line
