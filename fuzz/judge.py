"""The pass criteria, as text checks: internal error text in a reply, on stderr, or in the mail log.

Design rule: a criterion names a failure *class* (what went wrong, normalised so that one bug is one
class however many sessions hit it) and never weighs how likely it is; the run fails if any class
has a member. Internal text is what only a program can say: aiosmtpd's `500 Error: (Name) ...`, a
Python exception name, a traceback, an errno. `Critical:` mail-log lines that do not say a worker
died are counted and shown, not failed: BEHAVIOUR.md §9.4 makes them the designed report of a bug met
in one entry or connection, which the gateway survives (a worker that silently stops shows as a
legitimate message not delivered, or as "Task exception was never retrieved" on stderr); so are
the mock endpoints' own reports on stderr of a bug they answered with a 4xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fuzz.wire import Exchange

INTERNAL_REPLY_RE = re.compile(
    rb"500 Error: \(|Traceback|\[Errno|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|"
    rb"\b(?:StopIteration|KeyboardInterrupt|SystemExit|GeneratorExit|RecursionError)\b"
)
EXCEPTION_NAME_RE = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception)|StopIteration)\b")
STDERR_ALARMS = ("Task exception was never retrieved", "Future exception was never retrieved",
                 "Exception in callback", "Unhandled error in exception handler",
                 "Traceback (most recent call last)")
ALARM_RE = re.compile("|".join(re.escape(alarm) for alarm in STDERR_ALARMS))
DEAD_WORKER_RE = re.compile(r"\bCritical: (?:.*\bworkers?\b.*\b(?:died|dead|stopped|ended|exited|lost)\b"
                            r"|.*Task exception|.*never retrieved)", re.IGNORECASE)
CRITICAL_RE = re.compile(r"\bCritical: (.*)")
ENDPOINT_BUG_RE = re.compile(r"^(\w+) answered (4\d\d)\b[^:]*: (.*)$", re.MULTILINE)  # an endpoint's report


@dataclass(frozen=True)
class Finding:
    """One failure class and what shows it (a reply, a log line, a stderr block)."""

    kind: str
    evidence: str


def internal_reply(exchange: Exchange) -> Finding | None:
    """A reply that carries internal error text, classed by code, exception name and command."""
    if not INTERNAL_REPLY_RE.search(exchange.reply):
        return None
    text = exchange.reply.decode("utf-8", "replace")
    named = EXCEPTION_NAME_RE.search(text)
    name = named.group(1) if named else "internal text"
    return Finding(f"internal-error reply: {exchange.code} {name} to {exchange.verb}", text[:300])


def stderr_findings(text: str) -> list[Finding]:
    """Alarms on the child's stderr, each classed by the alarm and the last exception line of its
    block (a traceback printed right after another alarm belongs to that alarm)."""
    starts = sorted({(m.start(), m.group()) for m in ALARM_RE.finditer(text)})
    heads = [(start, alarm) for number, (start, alarm) in enumerate(starts)
             if not (alarm.startswith("Traceback") and number and start - starts[number - 1][0] < 600)]
    findings: list[Finding] = []
    for number, (start, alarm) in enumerate(heads):
        end = heads[number + 1][0] if number + 1 < len(heads) else len(text)
        block = text[start: min(end, start + 4000)]
        findings.append(Finding(f"stderr: {alarm}: {_normalised(_last_exception_line(block))}", block[:1500]))
    return findings


def stderr_reports(text: str) -> list[Finding]:
    """The mock endpoints' reports of a bug they answered with a 4xx (they keep no mail log)."""
    return [Finding(f"stderr: {name} answered {code}: {_normalised(error)[:100]}", found.group())
            for found in ENDPOINT_BUG_RE.finditer(text) for name, code, error in [found.groups()]]


def _last_exception_line(block: str) -> str:
    lines = [line for line in block.splitlines() if EXCEPTION_NAME_RE.match(line.strip())]
    return lines[-1].strip()[:160] if lines else block.splitlines()[0][:160]


def _critical_kind(text: str) -> str:
    """A Critical line's text without its traceback, and the function that raised, if it names one."""
    head, _, traceback = text.partition("; Traceback")
    frames = re.findall(r", in (\w+)", traceback)
    return _normalised(head)[:120] + (f" (in {frames[-1]})" if frames else "")


def _normalised(text: str) -> str:
    """Numbers, addresses and quoted values folded, so one bug is one class."""
    text = re.sub(r"0x[0-9a-f]+|\d+", "N", text)
    return re.sub(r"'[^']*'|\"[^\"]*\"|<[^>]*>", "…", text)


def log_findings(lines: list[str]) -> tuple[list[Finding], list[Finding]]:
    """(dead-worker lines, which fail the run; other Critical lines, which are shown)."""
    dead, other = [], []
    for line in lines:
        if DEAD_WORKER_RE.search(line):
            text = line.split("Critical: ", 1)[1]
            dead.append(Finding("mail log: dead worker: " + _normalised(text)[:120], line))
        elif found := CRITICAL_RE.search(line):
            other.append(Finding("mail log: Critical: " + _critical_kind(found.group(1)), line))
    return dead, other
