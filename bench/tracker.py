"""The filesystem oracle: which messages reached the mailbox and Threat Defense, when, and how often.

Design rule: a message is complete when its original is in a Maildir (`DATA/mailbox/*/new/*`) AND
its journal is at Threat Defense (`DATA/threat-defense/<intake>/<n>.eml`); each file is mapped back
to a message by the Message-ID the corpus gave it, so a loss or a duplicate is seen, not guessed.
Times are the files' mtimes (ns; the journal's `<n>.json` is written just before Threat Defense
answers 250), so the poll interval does not blur throughput or latency; each journal's record also
gives its hops' times (`bench/hops.py`). Scans are incremental:
journals are numbered 1, 2, ...; Maildir names already seen are skipped.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.corpus import Corpus
from bench.hops import JournalTimes, journal_times


@dataclass
class Arrivals:
    """One side (mailbox or Threat Defense): first arrival time per message, and repeats."""

    first_ns: dict[int, int] = field(default_factory=dict)
    copies: Counter[int] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)  # files carrying none of this run's IDs

    def add(self, sequences: set[int], mtime_ns: int, name: str) -> list[int]:
        """Record a file; returns the messages that arrived here for the first time."""
        if not sequences:
            self.unmatched.append(name)
        new = [seq for seq in sequences if seq not in self.first_ns]
        for seq in sequences:
            self.copies[seq] += 1
            self.first_ns.setdefault(seq, mtime_ns)
        return new

    def duplicates(self) -> dict[int, int]:
        return {seq: count for seq, count in self.copies.items() if count > 1}


class Tracker:
    """Polls one sandbox's data dir."""

    def __init__(self, data_dir: Path, intake_address: str, corpus: Corpus) -> None:
        self.mailbox_root = data_dir / "mailbox"
        self.journal_dir = data_dir / "threat-defense" / intake_address.lower()
        self.corpus = corpus
        self.mailbox, self.journals = Arrivals(), Arrivals()
        self.completed_ns: dict[int, int] = {}  # both sides present: the later of the two times
        self.invalid_journals = 0
        self.journal_times: dict[int, JournalTimes] = {}  # what each journal's record says of its times
        self._seen_mail: set[str] = set()
        self._next_journal = 1
        self._journal_numbers: set[int] = set()

    def scan(self) -> int:
        """Pick up new files; returns how many messages are complete so far."""
        self._scan_mailbox()
        self._scan_journals()
        return len(self.completed_ns)

    def reconcile(self) -> int:
        """A last, full scan: journals whose numbers the incremental scan could not reach too."""
        self.scan()
        if self.journal_dir.is_dir():
            for entry in os.scandir(self.journal_dir):
                stem, _, suffix = entry.name.partition(".")
                if suffix == "json" and stem.isdecimal() and int(stem) not in self._journal_numbers:
                    self._read_journal(int(stem))
        return len(self.completed_ns)

    def _scan_mailbox(self) -> None:
        if not self.mailbox_root.is_dir():
            return
        for recipient in os.scandir(self.mailbox_root):
            new = os.path.join(recipient.path, "new")
            for entry in os.scandir(new) if os.path.isdir(new) else ():
                if entry.path not in self._seen_mail:
                    self._seen_mail.add(entry.path)
                    self._arrived(self.mailbox, self.journals, Path(entry.path), entry.path)

    def _scan_journals(self) -> None:
        while self._read_journal(self._next_journal):
            self._next_journal += 1

    def _read_journal(self, number: int) -> bool:
        """Take journal `number` once its record is whole (the .json is written in place, after the .eml)."""
        record = self.journal_dir / f"{number}.json"
        try:
            summary = record.read_bytes()
        except FileNotFoundError:
            return False
        try:
            fields = json.loads(summary)  # written in place: a record read half-written is not JSON yet
        except ValueError:
            return False
        self._journal_numbers.add(number)
        self.invalid_journals += fields.get("check") != "valid"
        stored_ns = record.stat().st_mtime_ns
        times = journal_times(fields, stored_ns)
        for seq in self._arrived(self.journals, self.mailbox, self.journal_dir / f"{number}.eml", str(record),
                                 stored_ns):
            self.journal_times[seq] = times
        return True

    def _arrived(self, side: Arrivals, other: Arrivals, content: Path, name: str,
                 mtime_ns: int | None = None) -> list[int]:
        """Record a file (its time: `mtime_ns`, else its own mtime); the messages new on `side`."""
        mtime_ns = content.stat().st_mtime_ns if mtime_ns is None else mtime_ns
        new = side.add(self.corpus.sequences_in(content.read_bytes()), mtime_ns, name)
        for seq in new:
            if seq in other.first_ns:
                self.completed_ns[seq] = max(mtime_ns, other.first_ns[seq])
        return new
