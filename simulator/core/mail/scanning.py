"""The scanning engines: deterministic fakes run in the documented order.

Design rule: pure. `scan` takes the message's facts and its policy and returns a `Verdict` with the
disposition and the log lines to write; it never touches queues or the log itself. Every engine
runs and logs; the most severe disposition wins (drop > quarantine > deliver).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from simulator.core.config.values import ContentFilter, MailPolicy
from simulator.core.mail.inspection import MessageFacts

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


class Disposition(Enum):
    """What the gateway does with a scanned message, least to most severe."""

    DELIVER = 0
    QUARANTINE = 1
    DROP = 2


@dataclass(frozen=True)
class Verdict:
    """The outcome of scanning one message."""

    disposition: Disposition
    log_lines: tuple[str, ...]
    quarantine: str = ""


def _anti_spam(mid: int, facts: MessageFacts) -> Verdict:
    if facts.contains(GTUBE):
        return Verdict(
            Disposition.QUARANTINE,
            (f"MID {mid} using engine: CASE spam positive",
             f'MID {mid} quarantined to "Spam Quarantine" (CASE spam positive)'),
            quarantine="Spam Quarantine",
        )
    return Verdict(Disposition.DELIVER, (f"MID {mid} using engine: CASE spam negative",))


def _anti_virus(mid: int, facts: MessageFacts) -> Verdict:
    if facts.contains(EICAR):
        return Verdict(
            Disposition.DROP,
            (f"MID {mid} antivirus positive 'EICAR-AV-Test'",
             f"Message aborted MID {mid} Dropped by antivirus"),
        )
    return Verdict(Disposition.DELIVER, (f"MID {mid} antivirus negative",))


def _matches(rule: ContentFilter, facts: MessageFacts) -> bool:
    needle = rule.contains.lower()
    if rule.header is None:
        return needle in facts.lower_body
    return any(needle in value.lower() for value in facts.header_values(rule.header))


def _content_filter(mid: int, rule: ContentFilter, facts: MessageFacts) -> Verdict:
    if not _matches(rule, facts):
        return Verdict(Disposition.DELIVER, ())
    if rule.action == "drop":
        line = f"Message aborted MID {mid} Dropped by content filter '{rule.name}' in the inbound table"
        return Verdict(Disposition.DROP, (line,))
    line = f"MID {mid} quarantined to \"Policy\" (content filter:{rule.name})"
    return Verdict(Disposition.QUARANTINE, (line,), quarantine="Policy")


def scan(mid: int, facts: MessageFacts, mail_policy: MailPolicy) -> Verdict:
    """Run anti-spam, anti-virus and the content filters of `mail_policy`, in that order."""
    verdicts: list[Verdict] = []
    if mail_policy.anti_spam:
        verdicts.append(_anti_spam(mid, facts))
    if mail_policy.anti_virus:
        verdicts.append(_anti_virus(mid, facts))
    verdicts.extend(_content_filter(mid, rule, facts) for rule in mail_policy.content_filters)
    worst = max(verdicts, key=lambda v: v.disposition.value, default=Verdict(Disposition.DELIVER, ()))
    lines = tuple(line for verdict in verdicts for line in verdict.log_lines)
    return Verdict(worst.disposition, lines, worst.quarantine)
