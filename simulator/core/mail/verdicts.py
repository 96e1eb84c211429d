"""Threat Defense's verdicts, remediation choices and the true sender (BEHAVIOUR.md §8.5-8.6).

Design rule: pure and deterministic: the same original always gets the same verdict, from its
content alone, so a scenario can aim for one. The rules are the simulator's own (documented in
the README), checked from the most to the least severe; the first that matches decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from simulator.core.mail.inspection import MessageFacts
from simulator.core.mail.scanning import EICAR, GTUBE

Verdict = Literal["BEC", "Scam", "Phishing", "Malicious", "Spam", "Graymail", "Neutral"]
Remediation = Literal["quarantine", "trash", "junk", ""]
MAILDIR_FOLDERS: dict[str, str] = {"quarantine": ".Quarantine", "trash": ".Trash", "junk": ".Junk"}

EXECUTABLE = re.compile(r'filename="?[^"\r\n]*\.(exe|scr|js|vbs|bat|cmd|jar|ps1)"?', re.IGNORECASE)


def _names_an_executable(facts: MessageFacts) -> bool:
    """`EXECUTABLE` found in the raw message read as latin-1. Its match starts with `filename` in any
    case, and no latin-1 character but an ASCII letter matches those letters, so a message without
    it in ASCII is not searched (most are not: a case-insensitive search reads every character)."""
    return b"filename" in facts.raw.lower() and bool(EXECUTABLE.search(facts.raw.decode("latin-1")))


def _says(*phrases: str) -> Callable[[MessageFacts], bool]:
    def matches(facts: MessageFacts) -> bool:
        subject = facts.subject.lower()
        return any(phrase in subject or phrase in facts.lower_body for phrase in phrases)

    return matches


RULES: tuple[tuple[Verdict, Callable[[MessageFacts], bool]], ...] = (
    ("Malicious", lambda f: f.contains(EICAR) or _names_an_executable(f)),
    ("Phishing", _says("verify your account", "confirm your password", "your mailbox is full")),
    ("BEC", _says("wire transfer", "gift cards", "change of bank details")),
    ("Scam", _says("you have won", "lottery", "inheritance")),
    ("Spam", lambda f: f.contains(GTUBE) or _says("limited time offer", "buy now")(f)),
    ("Graymail", lambda f: bool(f.header_values("List-Unsubscribe")) or _says("newsletter")(f)),
)

#: What read/write mode does with the original, by verdict (the simulator's default policy).
REMEDIATION: dict[Verdict, Remediation] = {
    "Malicious": "quarantine", "Phishing": "quarantine", "BEC": "trash", "Scam": "trash",
    "Spam": "junk", "Graymail": "", "Neutral": "",
}


def verdict_of(facts: MessageFacts) -> Verdict:
    """The verdict of the original these facts describe."""
    return next((verdict for verdict, rule in RULES if rule(facts)), "Neutral")


def true_sender_ip(facts: MessageFacts, header: str, connecting_ip: str) -> str:
    """The sender's IP as the gateway saw it (`header`, X-IronPort-RemoteIP), else the gateway's."""
    values = facts.header_values(header)
    return values[0].strip() if values and values[0].strip() else connecting_ip
