"""The `td_alone` phase's journals: built before anything is timed, and found again afterwards.

Design rule: each journal is what the gateway would send for one of the corpus's originals (seeded
`MessageFactory` templates, each with its own `Message-ID: <bench.<run>.<seq>@bench.test>`): the
gateway's trace headers (`processing.with_trace_headers`) and then the gateway's own builder
(`journal.build_journal`), addressed as a default gateway addresses them. So Threat Defense gets
valid §3 journals and does all its work on each. Afterwards every `<n>.eml` Threat Defense stored is
mapped back to its sequence number by that Message-ID: losses and duplicates are counted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

from bench.corpus import Corpus
from simulator.core.config.values import GatewayConfig
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.mail.messages import Direction, ReceivedMessage
from simulator.core.mail.processing import with_trace_headers
from simulator.core.mail.samples import Outgoing

SENDER_IP = "198.51.100.25"  # the original's client, as the gateway saw it


class Journals:
    """`count` journals to `intake`, number `seq` the journal of the corpus's message `seq`."""

    def __init__(self, corpus: Corpus, count: int, intake: str) -> None:
        self.corpus, self.intake = corpus, intake
        gateway, now = GatewayConfig(), datetime.now(UTC)
        addressing = JournalAddressing(gateway.system_address, intake, gateway.hostname)
        subjects: dict[int, str] = {}  # per template: the subject is all that is parsed

        def journal(seq: int) -> bytes:
            original = corpus.mail(seq)
            template = seq % len(corpus.templates)
            if template not in subjects:
                head = BytesParser(policy=policy.default).parsebytes(original.data, headersonly=True)
                subjects[template] = str(head["Subject"])
            received = ReceivedMessage(seq + 1, seq + 1, Direction.INCOMING, SENDER_IP, original.mail_from,
                                       original.rcpt_tos, original.data)
            source = JournalSource(seq + 1, original.mail_from, original.rcpt_tos, subjects[template],
                                   f"<{corpus.message_id(seq).decode()}@bench.test>",
                                   with_trace_headers(received, gateway.hostname, now))
            return build_journal(source, addressing, 1_000_000 + seq, now)

        self._mails = [Outgoing(gateway.system_address, (intake,), journal(seq)) for seq in range(count)]

    def mail(self, seq: int) -> Outgoing:
        return self._mails[seq]

    @property
    def count(self) -> int:
        return len(self._mails)

    @property
    def mean_size(self) -> float:
        return sum(len(mail.data) for mail in self._mails) / max(len(self._mails), 1)

    def reconcile(self, folder: Path, accepted: int, refused: int) -> StoredJournals:
        """What Threat Defense stored in `folder` (`DATA/threat-defense/<intake>`), against what was sent."""
        found: Counter[int] = Counter()
        unmatched = invalid = 0
        for eml in folder.glob("*.eml") if folder.is_dir() else ():
            numbers = self.corpus.sequences_in(eml.read_bytes())
            if len(numbers) != 1:
                unmatched += 1
                continue
            found[numbers.pop()] += 1
            record = eml.with_suffix(".json")
            if not record.exists() or json.loads(record.read_text())["check"] != "valid":
                invalid += 1
        wanted = set(range(self.count))
        return StoredJournals(
            sent=self.count, accepted=accepted, refused=refused, stored=sum(found.values()),
            lost=len(wanted - found.keys()), duplicated=sum(n - 1 for n in found.values()),
            unmatched=unmatched, invalid=invalid)


@dataclass(frozen=True)
class StoredJournals:
    """Was every journal stored exactly once, with its record, and found valid?"""

    sent: int
    accepted: int
    refused: int
    stored: int
    lost: int
    duplicated: int
    unmatched: int  # an .eml file with none, or several, of this run's Message-IDs
    invalid: int  # no .json beside the .eml file, or one that says the journal broke a §3 rule

    @property
    def problems(self) -> list[str]:
        """What makes the run a failure, in words (nothing: a clean run)."""
        counts = {"refused by Threat Defense": self.refused, "lost (not stored)": self.lost,
                  "duplicated (stored twice)": self.duplicated,
                  "stored files not of this run": self.unmatched,
                  "stored without a record, or found invalid": self.invalid}
        return [f"{count} of {self.sent} {what}" for what, count in counts.items() if count]

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": not self.problems, "problems": self.problems}
