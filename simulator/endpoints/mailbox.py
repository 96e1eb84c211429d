"""The mock mailbox host: the recipients' mail server, and the internet for outgoing mail.

Design rule: accepts any recipient and stores exactly the DATA bytes it received, one Maildir
file per recipient: `DATA/mailbox/<address>/new/<unique name>` (written in tmp/, then renamed;
`folder_name` escapes what a file name cannot hold, so every valid address has a mailbox).
A message is stored for all its recipients or for none: every file is written before any is
renamed, and storage trouble (in a write or a rename) removes what was written or renamed and
answers `452 4.3.1`, so the gateway's retry duplicates nothing. Scripted faults (BEHAVIOUR.md §8.7)
answer first, as at Threat Defense. The listener's files are written off the event loop (`receive`);
the records, and the remediations waiting for an original, change only on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import Envelope, Session

from simulator.core import replies
from simulator.core.clock import Clock
from simulator.core.mail.body import Body
from simulator.core.records import Records
from simulator.endpoints.common import EndpointHandler
from simulator.endpoints.faults import FaultPlan
from simulator.endpoints.kept import HEAD_READ, kept
from simulator.endpoints.refused import RefusedLog
from simulator.transport.smtp import ObservedSMTP, envelope_sender


@dataclass(frozen=True)
class MailboxDelivery:
    """One message as one recipient's mailbox received it."""

    recipient: str
    mail_from: str
    path: Path | None
    body: Body = field(repr=False)  # in memory, or its Maildir file when large (`kept.py`)

    @property
    def data(self) -> bytes:
        """The message exactly as received."""
        return self.body.read()


@dataclass(frozen=True)
class Remediation:
    """Threat Defense moved an original out of a recipient's inbox (read/write mode)."""

    recipient: str
    message_id: str
    folder: str  # Maildir++ folder: .Quarantine, .Trash, .Junk
    path: Path | None  # where the message is now (None: in memory only)


_MESSAGE_ID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> str:
    """The Message-ID in a message's header block ("" if none)."""
    found = _MESSAGE_ID_RE.search(data.partition(b"\r\n\r\n")[0])
    return found.group(1).decode("ascii", "replace") if found else ""


_FOLDER_ESCAPES = str.maketrans({"%": "%25", "/": "%2F", "\\": "%5C"})
NAME_MAX = 255  # octets in one file name (Linux)


def folder_name(address: str) -> str:
    """The Maildir folder of `address`: the address, lower-cased, with `%`, `/`, `\\` and a leading
    `.` written `%XX`, so that any address RFC 5321 allows has one and stays in the mailbox root."""
    name = address.lower().translate(_FOLDER_ESCAPES)
    name = "%2E" + name[1:] if name.startswith(".") else name
    return name if len(name.encode()) <= NAME_MAX else hashlib.sha256(name.encode()).hexdigest()


def _remove(paths: Iterable[Path]) -> None:
    """Unlink each of `paths`, going on past any that cannot be (cleanup after storage trouble)."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


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
        self.remediations: Records[Remediation] = Records(kept)
        self._pending: dict[tuple[str, str], str] = {}  # remediations of originals not yet arrived
        self._made: set[Path] = set()  # Maildirs known to exist (their tmp/, new/ and cur/)

    def _maildir(self, recipient: str, folder: str = "") -> Path:
        assert self.root is not None
        inbox = self.root / folder_name(recipient)
        maildir = inbox / folder
        if maildir not in self._made:  # made once per run (a write that fails forgets them all)
            # a Maildir++ folder lives in the recipient's Maildir, which is one too (a remediated
            # original may be filed in its folder before anything reaches the inbox)
            for each in dict.fromkeys((inbox, maildir)):
                for sub in ("tmp", "new", "cur"):
                    (each / sub).mkdir(parents=True, exist_ok=True)
            self._made.add(maildir)
        return maildir

    def _unique_name(self) -> str:
        # Maildir's unique name: time, sequence and process id (a restarted sandbox must never
        # reuse a name in the same second, which would replace a delivered message)
        return (f"{int(self._clock.now().timestamp())}.M{next(self._sequence)}P{os.getpid()}."
                f"{self._hostname}")

    def _folders(self, recipients: Sequence[str], data: bytes) -> list[str]:
        """Where a remediation that overtook this original sends it, per recipient ("": the inbox)."""
        if not self._pending:
            return [""] * len(recipients)
        message_id = message_id_of(data)
        return [self._pending.get((recipient.lower(), message_id), "") for recipient in recipients]

    def _write(
        self, recipients: Sequence[str], folders: Sequence[str], data: bytes,
    ) -> list[tuple[Path, Path]]:
        """Each recipient's file written in its tmp/: (written, destination in new/); all or none."""
        written: list[tuple[Path, Path]] = []
        try:
            for recipient, folder in zip(recipients, folders, strict=True):
                maildir, name = self._maildir(recipient, folder), self._unique_name()
                (maildir / "tmp" / name).write_bytes(data)
                written.append((maildir / "tmp" / name, maildir / "new" / name))
        except OSError:
            _remove(temporary for temporary, _ in written)
            raise
        return written

    @staticmethod
    def _publish(written: Sequence[tuple[Path, Path]]) -> list[Path]:
        """Rename each written file into new/; on trouble none stays, in new/ or in tmp/."""
        finals: list[Path] = []
        try:
            for temporary, final in written:
                finals.append(temporary.rename(final))
        except OSError:
            _remove([*finals, *(temporary for temporary, _ in written[len(finals):])])
            raise
        return finals

    def save(self, recipients: Sequence[str], mail_from: str, data: bytes) -> list[MailboxDelivery]:
        """One message for all its recipients; raises OSError, having stored nothing, on trouble."""
        folders = self._folders(recipients, data)
        paths = self._files(recipients, folders, data)
        return self._recorded(recipients, mail_from, data, folders, paths)

    async def receive(self, recipients: Sequence[str], mail_from: str, data: bytes) -> list[MailboxDelivery]:
        """`save`, its files written off the event loop; a remediation that came in meanwhile
        still finds the original (it is moved where the remediation says once written)."""
        folders = self._folders(recipients, data)
        paths: list[Path | None] = [None] * len(recipients)
        if self.root is not None:
            paths = await asyncio.to_thread(self._files, recipients, folders, data)
            folders = self._overtaken(recipients, data, folders, paths)
        return self._recorded(recipients, mail_from, data, folders, paths)

    def _overtaken(
        self, recipients: Sequence[str], data: bytes, folders: Sequence[str], paths: list[Path | None],
    ) -> list[str]:
        """Where the files of a message are once each remediation that came in while they were
        written has moved it (rare: a rename here; one that fails leaves the file where it is)."""
        now = self._folders(recipients, data)
        for index, (path, recipient) in enumerate(zip(paths, recipients, strict=True)):
            if now[index] != folders[index] and path is not None:
                try:
                    paths[index] = self._move(path, recipient, now[index])
                except OSError:
                    now[index] = folders[index]
        return now

    def _files(self, recipients: Sequence[str], folders: Sequence[str], data: bytes) -> list[Path | None]:
        """Each recipient's file in its Maildir's new/ (None each without a root); all or none."""
        if self.root is None:
            return [None] * len(recipients)
        try:
            return [*self._publish(self._write(recipients, folders, data))]
        except OSError:
            self._made.clear()  # a Maildir may have gone: the next write makes it again
            raise

    def _recorded(
        self, recipients: Sequence[str], mail_from: str, data: bytes, folders: Sequence[str],
        paths: Sequence[Path | None],
    ) -> list[MailboxDelivery]:
        """The deliveries of a message stored as `paths`, in the records (and the remediations of
        those a remediation sent to a folder)."""
        deliveries = [MailboxDelivery(recipient.lower(), mail_from, path, kept(data, path))
                      for recipient, path in zip(recipients, paths, strict=True)]
        for delivery, folder in zip(deliveries, folders, strict=True):
            self.deliveries.append(delivery)
            if folder:
                message_id = message_id_of(data)
                self._pending.pop((delivery.recipient, message_id), None)  # done: it arrived
                self.remediations.append(Remediation(delivery.recipient, message_id, folder, delivery.path))
        return deliveries

    def remediate(self, recipient: str, message_id: str, folder: str) -> None:
        """Move the original with `message_id` out of `recipient`'s inbox into `folder`; if it has
        not arrived yet (the copy may overtake it), it goes straight there when it does (and the
        remediation waiting for it is forgotten then: nothing is kept per message for long)."""
        found = False
        for delivery in self.for_recipient(recipient):
            if delivery.path is not None and not delivery.path.exists():
                continue  # moved already
            if message_id_of(delivery.body.head(HEAD_READ)) == message_id:
                found = True
                moved = self._move(delivery.path, recipient, folder) if delivery.path else None
                self.remediations.append(Remediation(recipient.lower(), message_id, folder, moved))
        if not found:
            self._pending[(recipient.lower(), message_id)] = folder

    def _move(self, path: Path, recipient: str, folder: str) -> Path:
        return path.rename(self._maildir(recipient, folder) / "new" / path.name)

    def for_recipient(self, recipient: str) -> list[MailboxDelivery]:
        return [d for d in self.deliveries.snapshot() if d.recipient == recipient.lower()]


class MailboxHandler(EndpointHandler):
    """aiosmtpd handler of the mock mailbox host."""

    def __init__(
        self, store: MailboxStore, faults: FaultPlan | None = None, refused: RefusedLog | None = None,
    ) -> None:
        super().__init__(faults, refused)
        self.store = store

    async def handle_DATA(self, server: ObservedSMTP, session: Session, envelope: Envelope) -> str:
        if (fault := await self.fault_reply(server, "END")) is not None:
            return fault
        try:
            await self.store.receive(envelope.rcpt_tos, envelope_sender(envelope.mail_from or ""),
                                     envelope.original_content or b"")
        except OSError as trouble:
            return self.failed(server, trouble, replies.STORAGE_TROUBLE, "END")
        return replies.OK.with_text("Ok: delivered to mailbox").line
