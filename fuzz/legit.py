"""The legitimate messages sent between fuzzed sessions, and whether each one arrived.

Design rule: a legitimate message is what a well-behaved sender sends (smtplib, public listener,
a local recipient, a neutral body) with a Message-ID no fuzzed session can produce; it must get 250,
then reach the recipient's Maildir exactly once AND Threat Defense's journals, where the filesystem
is the oracle (each file is read once, incrementally), never the sandbox's own word.
"""

from __future__ import annotations

import re
import smtplib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fuzz.judge import Finding

RECIPIENT = "legit@example.com"
SENDER = "legit-sender@outside.test"
MESSAGE_ID_RE = re.compile(rb"<(legit\.[0-9a-f]+\.\d+)@fuzz\.test>")
#: How often `settle` looks again: the run's last message is usually stored within tens of ms (a
#: longer pause only makes the run wait), and a look globs two folders, small but for long runs.
SETTLE_POLL = 0.05


def message(run: str, number: int) -> tuple[str, bytes]:
    """The Message-ID of legitimate message `number` of `run`, and its bytes."""
    message_id = f"legit.{run}.{number}"
    data = (f"From: Legit Sender <{SENDER}>\r\nTo: <{RECIPIENT}>\r\nSubject: legitimate {number}\r\n"
            f"Message-ID: <{message_id}@fuzz.test>\r\n\r\nA legitimate message between fuzzed sessions.\r\n")
    return message_id, data.encode()


@dataclass
class Arrivals:
    """Which legitimate messages reached one place, and how often. A file found by `pattern` is read
    once; with `whole` it is a marker written after the file to read (a journal's `.json` follows its
    `.eml`), so a file still being written is never read."""

    root: Path
    pattern: str
    whole: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    _seen: set[Path] = field(default_factory=set)

    def scan(self) -> None:
        for found in self.root.glob(self.pattern):
            path = found.with_suffix(self.whole) if self.whole else found
            if path not in self._seen:
                self._seen.add(path)
                self.counts.update({m.decode() for m in MESSAGE_ID_RE.findall(path.read_bytes())})


@dataclass
class Legit:
    """Sends the legitimate messages of one run and checks them after it."""

    address: tuple[str, int]
    data_dir: Path
    intake: str
    run: str
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def send(self, number: int) -> bool:
        """Send legitimate message `number`; whether a connection was made."""
        message_id, data = message(self.run, number)
        connected = False
        try:
            with smtplib.SMTP(timeout=30) as client:
                client.connect(*self.address)
                connected = True
                client.sendmail(SENDER, [RECIPIENT], data)
            self.accepted.append(message_id)
        except (smtplib.SMTPException, OSError) as error:
            self.refused.append(f"{message_id}: {error!r}")
        return connected

    def settle(self, timeout: float) -> tuple[Arrivals, Arrivals]:
        """Wait (at most `timeout` seconds) until every accepted message is in both places."""
        mailbox = Arrivals(self.data_dir / "mailbox", f"{RECIPIENT}/**/new/*")
        journals = Arrivals(self.data_dir / "threat-defense" / self.intake, "*.json", whole=".eml")
        deadline = time.monotonic() + timeout
        while True:
            mailbox.scan()
            journals.scan()
            if all(mailbox.counts[m] and journals.counts[m] for m in self.accepted):
                return mailbox, journals
            if time.monotonic() > deadline:
                return mailbox, journals
            time.sleep(SETTLE_POLL)

    def findings(self, mailbox: Arrivals, journals: Arrivals) -> list[Finding]:
        """One per legitimate message refused, lost, not journaled, or stored twice."""
        found = [Finding("legitimate message refused", refusal) for refusal in self.refused]
        for message_id in self.accepted:
            for place, arrivals in (("delivered to the mailbox", mailbox),
                                    ("journaled at Threat Defense", journals)):
                if not arrivals.counts[message_id]:
                    found.append(Finding(f"legitimate message not {place}", message_id))
                elif arrivals.counts[message_id] > 1:
                    found.append(Finding(f"legitimate message {place} more than once", message_id))
        return found
