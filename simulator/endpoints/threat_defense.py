"""The mock Threat Defense endpoint (BEHAVIOUR.md §8.1-8.4).

Design rule: the same aiosmtpd listener as the gateway's, with a handler that requires STARTTLS
(`530 5.7.0` before it), takes only its tenants' intake addresses (`550 5.1.1`), answers
`421 4.7.0` after the 10th message of a connection, and stores every journal exactly as received
with a JSON record beside it: envelope, TLS, connection, and the §3 conformance result (each broken
rule with its description).
Scripted faults (§8.7) answer first, before any of that. A journal is stored whole or not at all:
storage trouble removes what was written, gives its number back and answers `452 4.3.1` (§8.9).

Nothing of a journal's own work runs on the event loop: in one call to the endpoint's worker thread
the journal is read once (`ReadJournal`), analysed and checked, then numbered, written (both files)
and kept, and only then answered `250` (one thread: under the GIL more would only take turns). The
store numbers and writes under its own lock, so a number is given out, written and, on trouble,
given back as one step whatever runs beside it. The remediation of read/write mode is carried out
on the loop, where the mailbox host lives, stored or not (§8.9). The worker takes journals in
batches (`Batches`): under load one wakeup and one answer to the loop carry several. A journal's
record is built once, when it is numbered.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from pathlib import Path

from aiosmtpd.smtp import Envelope, Session

from simulator.core import replies
from simulator.core.clock import Clock
from simulator.core.mail.body import Body, InMemoryBody
from simulator.core.mail.journal_check import ReadJournal, check_journal, described
from simulator.core.mail.td_analysis import Analysis, Remediate, carry_out, findings
from simulator.core.records import Records
from simulator.endpoints.common import Batches, EndpointConnection, EndpointHandler
from simulator.endpoints.faults import FaultPlan
from simulator.endpoints.kept import kept_body
from simulator.endpoints.refused import RefusedLog
from simulator.transport.smtp import ObservedSMTP, envelope_sender


@dataclass(frozen=True)
class JournalRecord:
    """One journal as Threat Defense received it."""

    number: int
    intake_address: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    tls_protocol: str
    tls_cipher: str
    connection: int
    message_on_connection: int
    broken_rules: tuple[str, ...]
    body: Body = field(repr=False)  # in memory, or its .eml file when large (`kept.py`)
    verdict: str = ""
    sender_ip: str = ""
    remediation: str = ""  # what read/write mode did: quarantine, trash, junk, or "" (nothing)
    received_at: datetime | None = None  # by the sandbox's clock, when its DATA ended (None: no clock)

    @property
    def valid(self) -> bool:
        return not self.broken_rules

    @property
    def data(self) -> bytes:
        """The journal exactly as received."""
        return self.body.read()

    def summary(self) -> dict[str, object]:
        """The JSON record stored beside the .eml file: every field but the body, and the check."""
        fields: dict[str, object] = {name: getattr(self, name) for name in _SUMMARISED}
        fields["rcpt_tos"], fields["broken_rules"] = list(self.rcpt_tos), list(self.broken_rules)
        fields["received_at"] = self.received_at.isoformat() if self.received_at else None
        fields["broken_rules_described"] = described(self.broken_rules)
        fields["check"] = "valid" if self.valid else "invalid"
        fields["size"] = self.body.size
        return fields


#: The fields a record's summary copies (the body is stored as the .eml file): read once, not per journal.
_SUMMARISED = tuple(each.name for each in dataclass_fields(JournalRecord) if each.name != "body")


def record_json(record: JournalRecord) -> str:
    """`<n>.json`: the record's summary, indented, keys sorted, and a newline."""
    return json.dumps(record.summary(), indent=2, sort_keys=True) + "\n"


class JournalStore:
    """`DATA/threat-defense/<intake address>/<n>.eml` and `<n>.json`, and the same in memory."""

    def __init__(self, root: Path | None, kept: int | None = None) -> None:
        self.root = root
        self.records: Records[JournalRecord] = Records(kept)
        self._counts: dict[str, int] = {}
        self._numbering = threading.RLock()  # a number given out, written, or given back: one step

    def next_number(self, intake: str) -> int:
        """1 for the first journal of an address; continues after what is on disk."""
        with self._numbering:
            if intake not in self._counts:
                folder = self.root / intake if self.root else None
                self._counts[intake] = len(list(folder.glob("*.eml"))) if folder and folder.is_dir() else 0
            self._counts[intake] += 1
            return self._counts[intake]

    def save(self, record: JournalRecord) -> None:
        """Store `record` (the last number given out); raises OSError, having stored nothing."""
        with self._numbering:
            if self.root is not None:
                try:
                    eml = self._write(self.root / record.intake_address, record)
                except OSError:
                    self._counts[record.intake_address] = record.number - 1  # the next try reuses it
                    raise
                if (body := kept_body(record.body, eml)) is not record.body:
                    record = replace(record, body=body)
            self.records.append(record)

    def save_next(self, intake: str, numbered: Callable[[int], JournalRecord]) -> JournalRecord:
        """Give out `intake`'s next number, store `numbered(number)` and return it, as one step
        (from any thread); raises OSError, having stored nothing and given the number back."""
        with self._numbering:
            record = numbered(self.next_number(intake))
            self.save(record)
            return record

    @staticmethod
    def _write(folder: Path, record: JournalRecord) -> Path:
        """Write `<n>.eml` and `<n>.json` (both or neither); the .eml file's path. The folder is made
        only when the .eml cannot be created without it (an address's first journal, or one after
        the folder was removed): a mkdir per journal was a fifth of the store's profile samples."""
        files = (folder / f"{record.number}.eml", folder / f"{record.number}.json")
        try:
            try:
                _create(files[0], record.data)
            except FileNotFoundError:
                folder.mkdir(parents=True, exist_ok=True)
                _create(files[0], record.data)
            _create(files[1], record_json(record).encode("utf-8"))
        except OSError:
            for path in files:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            raise
        return files[0]


def _create(path: Path, data: bytes) -> None:
    """`path` with exactly `data`, by the os module's calls: a third of the Python time pathlib's
    `write_bytes` takes (its file object, and three syscalls: fstat, ioctl, lseek), left out."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        written = 0
        while written < len(data):  # a regular file takes it all at once, save on a full disk
            if not (taken := os.write(descriptor, memoryview(data)[written:])):
                raise OSError(errno.ENOSPC, "the disk took none of the rest of the journal", str(path))
            written += taken
    finally:
        os.close(descriptor)


#: The name of Threat Defense's worker thread (with `_0` after it).
WORKER_NAME = "threat-defense"


class ThreatDefenseHandler(EndpointHandler):
    """aiosmtpd handler of the mock Threat Defense intake."""

    def __init__(
        self, store: JournalStore, intake_addresses: Sequence[str], messages_per_connection: int = 10,
        faults: FaultPlan | None = None, remediate: Remediate | None = None,
        refused: RefusedLog | None = None, clock: Clock | None = None,
    ) -> None:
        super().__init__(faults, refused)
        self.store, self.clock = store, clock
        self.intake_addresses = tuple(intake_addresses)
        self._intakes = frozenset(address.lower() for address in self.intake_addresses)  # as compared
        self._limit = messages_per_connection
        self.remediate = remediate  # None: read mode (verdicts only); set: read/write mode
        # One worker thread: under the GIL more would only take turns (and queue on the store's lock)
        self._worker: Batches[tuple[Analysis, JournalRecord | OSError]] = Batches(WORKER_NAME)

    def refuse_sender(self, server: ObservedSMTP, session: Session) -> str | None:
        """`530 5.7.0` before STARTTLS; `421 4.7.0` (then close) after the 10th message."""
        if not session.ssl:
            return replies.STARTTLS_REQUIRED.line
        if server.connection.messages >= self._limit:
            return replies.TOO_MANY_MESSAGES.line  # `refuse` closes the connection after it
        return None

    def refuse_recipient(self, address: str) -> str | None:
        """Only the tenants' intake addresses: `550 5.1.1` for any other."""
        if address.lower() not in self._intakes:
            return replies.UNKNOWN_INTAKE_ADDRESS.line
        return None

    def examine(self, journal: ReadJournal, mail_from: str, rcpt_tos: tuple[str, ...],
                connecting_ip: str) -> tuple[Analysis, tuple[str, ...]]:
        """What Threat Defense finds in a journal and the §3 rules it breaks (pure); the journal is
        parsed once for both."""
        analysis = findings(journal, connecting_ip, remediating=self.remediate is not None)
        return analysis, tuple(check_journal(journal, mail_from, rcpt_tos, self._intakes))

    def _receive(self, draft: JournalRecord, connecting_ip: str) -> tuple[Analysis, JournalRecord | OSError]:
        """Examine the journal, then number and store it (on the worker thread); the stored record,
        or the storage trouble that left nothing stored."""
        analysis, broken_rules = self.examine(ReadJournal(draft.data), draft.mail_from, draft.rcpt_tos,
                                              connecting_ip)

        def numbered(number: int) -> JournalRecord:
            return replace(draft, number=number, broken_rules=broken_rules, verdict=analysis.verdict,
                           sender_ip=analysis.sender_ip, remediation=analysis.remediation)

        try:
            return analysis, self.store.save_next(draft.intake_address, numbered)
        except OSError as trouble:
            return analysis, trouble

    async def handle_DATA(self, server: ObservedSMTP, session: Session, envelope: Envelope) -> str:
        if (fault := await self.fault_reply(server, "END")) is not None:
            return fault
        connection: EndpointConnection = server.connection
        connection.messages += 1
        protocol, cipher = self.tls_of(session)
        mail_from, rcpt_tos = envelope_sender(envelope.mail_from or ""), tuple(envelope.rcpt_tos)
        draft = JournalRecord(
            number=0,  # given out by the store as it stores the journal
            intake_address=rcpt_tos[0].lower(),
            mail_from=mail_from,
            rcpt_tos=rcpt_tos,
            tls_protocol=protocol,
            tls_cipher=cipher,
            connection=connection.number,
            message_on_connection=connection.messages,
            broken_rules=(),  # what `examine` finds, as the verdict and the rest below
            body=InMemoryBody(envelope.original_content or b""),
            received_at=self.clock.now() if self.clock else None,
        )
        peer_ip = server.peer_ip
        analysis, stored = await self._worker.run(lambda: self._receive(draft, peer_ip))
        carry_out(analysis, self.remediate)  # on the loop, where the mailbox host lives
        if isinstance(stored, OSError):
            return self.failed(server, stored, replies.STORAGE_TROUBLE, "END")
        return replies.OK.with_text(f"Ok: journal {stored.number} received").line
