"""What Threat Defense makes of a journal: the original's verdict, its true sender, and, in
read/write mode, the remediation of the original in its recipients' mailboxes (BEHAVIOUR.md §8.5-8.6).

Design rule: decisions are pure (`verdicts.py`, `findings`); the only effect, moving the original,
goes through the `remediate` callback the sandbox wires to the mock mailbox (None in read mode),
called by `carry_out`. Threat Defense works out the findings in a worker thread and carries them
out on its event loop, where the mailbox lives; `analyse` does both at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulator.core.mail.journal_check import ReadJournal
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
    message_id: str = ""  # the original's Message-ID, by which its copies in the mailboxes are found


def findings(
    journal: bytes | ReadJournal, connecting_ip: str, remediating: bool = False,
    sender_header: str = SENDER_IP_HEADER,
) -> Analysis:
    """Verdict and true sender of the journal's original, and, when `remediating` (read/write
    mode), what to do with the original where (pure: nothing is moved).
    `journal`: its bytes, or a `ReadJournal` the §3 check reads too (the original is parsed once)."""
    read = journal if isinstance(journal, ReadJournal) else ReadJournal(journal)
    facts = read.original_facts
    if facts is None:
        return Analysis("", connecting_ip)
    verdict = verdict_of(facts)
    sender_ip = true_sender_ip(facts, sender_header, connecting_ip)
    action = REMEDIATION[verdict] if remediating else ""
    if not action:
        return Analysis(verdict, sender_ip)
    recipients = tuple(read.report_fields.get("To", []))
    return Analysis(verdict, sender_ip, action, recipients, facts.message_id)


def carry_out(analysis: Analysis, remediate: Remediate | None) -> None:
    """Move the original as `analysis` says, in each recipient's mailbox (nothing in read mode)."""
    if analysis.remediation and remediate is not None:
        for recipient in analysis.remediated:
            remediate(recipient, analysis.message_id, MAILDIR_FOLDERS[analysis.remediation])


def analyse(
    journal: bytes | ReadJournal, connecting_ip: str, remediate: Remediate | None = None,
    sender_header: str = SENDER_IP_HEADER,
) -> Analysis:
    """Verdict and true sender of the journal's original; remediate it if `remediate` is given."""
    analysis = findings(journal, connecting_ip, remediate is not None, sender_header)
    carry_out(analysis, remediate)
    return analysis
