"""What a fuzz run prints: replies by code and target, Critical lines, and each failure class with a
session that reproduces it alone.

Design rule: a failure is printed so that it can be acted on without the run's output around it: its
class, how many sightings, the command line that replays its smallest session, and that session's
steps and replies (long byte strings shortened in the middle; the replay sends them whole).
"""

from __future__ import annotations

from fuzz.campaign import FailureClass, Outcome
from fuzz.sessions import TARGETS, Session
from fuzz.wire import Transcript

SHOWN = 160


def shortened(data: bytes) -> str:
    """`repr(data)`, its middle elided past SHOWN characters."""
    text = repr(data)
    return text if len(text) <= SHOWN else f"{text[:100]}…({len(data)} bytes)…{text[-40:]}"


def replies_table(outcome: Outcome) -> str:
    codes = sorted({code for _, code in outcome.replies})
    lines = ["replies by code:", f"  {'code':<14}" + "".join(f"{t:>16}" for t in (*TARGETS, "total"))]
    for code in codes:
        counts = [outcome.replies[(target, code)] for target in TARGETS]
        lines.append(f"  {code:<14}" + "".join(f"{n:>16,}" for n in (*counts, sum(counts))))
    return "\n".join(lines)


def session_text(session: Session) -> list[str]:
    lines = [f"  session {session.index} of seed {session.seed}, to {session.target}:"]
    for step in session.steps:
        lines.append(f"    {step.action:<5} {shortened(step.data) if step.action == 'send' else ''}".rstrip())
    return lines


def transcript_text(transcript: Transcript) -> list[str]:
    lines = ["  what it got:"]
    for exchange in transcript.exchanges:
        reply = exchange.reply.decode("utf-8", "replace").replace("\r\n", " | ")
        lines.append(f"    {shortened(exchange.line) if exchange.line else '<banner>'}")
        note = f" ({exchange.note})" if exchange.note else ""
        lines.append(f"      -> {exchange.code} {reply[:SHOWN]}{note}")
    return lines


def failure_text(number: int, failure: FailureClass, seed: int) -> list[str]:
    shown = failure.smallest or failure.first
    assert shown is not None
    finding, transcript = shown
    lines = [f"[{number}] {failure.kind}: {failure.count} time(s)", f"  evidence: {finding.evidence[:600]}"]
    if transcript is not None:
        first = failure.first[1] if failure.first and failure.first[1] else transcript
        caveat = " (stderr names no connection: the cause may be earlier)" if failure.kind.startswith(
            "stderr") else ""
        lines.append(f"  first after session {first.session.index}{caveat}; replay the smallest alone with:")
        lines.append(f"  python -m fuzz.run --seed {seed} --only {transcript.session.index}")
        lines += session_text(transcript.session) + transcript_text(transcript)
    return lines


def shown_text(shown: FailureClass, seed: int) -> list[str]:
    lines = [f"  {shown.count:>6} x {shown.kind}"]
    if shown.smallest is not None:
        index = shown.smallest[1].session.index
        lines.append(f"           smallest session: python -m fuzz.run --seed {seed} --only {index}")
    return lines


def summary(outcome: Outcome) -> str:
    lines = [f"fuzz: {outcome.sessions:,} sessions (seed {outcome.seed}), {outcome.legit_sent:,} legitimate "
             f"messages, {outcome.seconds:.1f} s", replies_table(outcome)]
    if outcome.shown:
        lines.append("Bugs the sandbox reported and survived (shown, not failed): Critical mail-log lines, "
                     "endpoints' 4xx reports on stderr")
        lines += [line for shown in outcome.shown.values() for line in shown_text(shown, outcome.seed)]
    if not outcome.failures:
        lines.append("OK: no internal-error reply, no dead worker, every legitimate message delivered and "
                     "journaled, the sandbox alive and stopped cleanly")
        return "\n".join(lines)
    lines.append(f"FAILED: {len(outcome.failures)} failure class(es)")
    for number, failure in enumerate(outcome.failures.values(), 1):
        lines += failure_text(number, failure, outcome.seed)
    return "\n".join(lines)
