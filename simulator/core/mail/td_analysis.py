"""What Threat Defense makes of a journal: the original's verdict, its true sender, and, in
read/write mode, the remediation of the original in its recipients' mailboxes (BEHAVIOUR.md §8.5-8.6).

Design rule: decisions are pure (`verdicts.py`); the only effect, moving the original, goes through
the `remediate` callback the sandbox wires to the mock mailbox (None in read mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.core.mail.inspection import inspect
from simulator.core.mail.journal import embedded_original
from simulator.core.mail.journal_check import report_fields
from simulator.core.mail.verdicts import MAILDIR_FOLDERS, REMEDIATION, true_sender_ip, verdict_of

SENDER_IP_HEADER = "X-IronPort-RemoteIP"

#: Move the original with this Message-ID in this recipient's mailbox into this Maildir folder.
Remediate = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Analysis:
    """Threat Defense's findings about one journal."""

    verdict: str  # "" when the journal carries no original
    sender_ip: str
    remediation: str = ""  # quarantine, trash, junk; "" for none (or read mode)
    remediated: tuple[str, ...] = ()  # the recipients whose mailbox it applies to


def analyse(
    journal: bytes, connecting_ip: str, remediate: Remediate | None = None,
    sender_header: str = SENDER_IP_HEADER,
) -> Analysis:
    """Verdict and true sender of the journal's original; remediate it if `remediate` is given."""
    original = embedded_original(journal)
    if original is None:
        return Analysis("", connecting_ip)
    facts = inspect(original)
    verdict = verdict_of(facts)
    sender_ip = true_sender_ip(facts, sender_header, connecting_ip)
    action = REMEDIATION[verdict] if remediate is not None else ""
    if not action or remediate is None:
        return Analysis(verdict, sender_ip)
    recipients = tuple(report_fields(journal).get("To", []))
    for recipient in recipients:
        remediate(recipient, facts.message_id, MAILDIR_FOLDERS[action])
    return Analysis(verdict, sender_ip, action, recipients)
