"""One fuzz run: sessions one after another against the child, legitimate mail in between, then the
verdict on everything the criteria (`judge`, `legit`) found.

Design rule: sessions run one at a time, so whatever shows up on stderr or in the mail log right
after a session is pinned to it (the session is printed with the failure and replays alone with
`--only`); a failure class keeps its count, its first session and its smallest one. The child is
checked after every session; once it has died, the run stops.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from fuzz import judge
from fuzz.child import Child
from fuzz.judge import Finding
from fuzz.legit import Legit
from fuzz.sessions import Session, session
from fuzz.wire import Transcript, Wire


@dataclass
class FailureClass:
    """Every sighting of one kind of failure: how many, the first, and the smallest session."""

    kind: str
    count: int = 0
    first: tuple[Finding, Transcript | None] | None = None
    smallest: tuple[Finding, Transcript] | None = None

    def add(self, finding: Finding, transcript: Transcript | None) -> None:
        self.count += 1
        self.first = self.first or (finding, transcript)
        if transcript and (self.smallest is None or transcript.session.size < self.smallest[1].session.size):
            self.smallest = (finding, transcript)


@dataclass
class Outcome:
    """What a run saw: replies by (target, code), failure classes, and Critical lines shown only."""

    seed: int
    sessions: int = 0
    legit_sent: int = 0
    seconds: float = 0.0
    replies: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: dict[str, FailureClass] = field(default_factory=dict)
    criticals: Counter[str] = field(default_factory=Counter)

    def fail(self, finding: Finding, transcript: Transcript | None = None) -> None:
        self.failures.setdefault(finding.kind, FailureClass(finding.kind)).add(finding, transcript)


@dataclass
class Campaign:
    """Plays `indices` of the run seeded `seed` against `child`."""

    child: Child
    seed: int
    legit_every: int = 10
    reply_timeout: float = 10.0
    settle_timeout: float = 30.0

    def run(self, indices: list[int]) -> Outcome:
        outcome, started = Outcome(self.seed), time.monotonic()
        legit = Legit(self.child.address("inbound"), self.child.data_dir,
                      str(self.child.description["intake_address"]), secrets.token_hex(4))
        for number, index in enumerate(indices, 1):
            transcript = self.play(session(self.seed, index), outcome)
            if not self.look(outcome, transcript):
                break  # its death is the failure: the messages it lost with it are not counted
            if number % self.legit_every == 0 or number == len(indices):
                legit.send(outcome.legit_sent)
                outcome.legit_sent += 1
        else:
            for finding in legit.findings(*legit.settle(self.settle_timeout)):
                outcome.fail(finding)
            self.finish(outcome)
        outcome.seconds = time.monotonic() - started
        return outcome

    def play(self, fuzzed: Session, outcome: Outcome) -> Transcript:
        wire = Wire(self.child.address(fuzzed.target), self.child.tls(), self.reply_timeout)
        transcript = wire.play(fuzzed)
        outcome.sessions += 1
        for exchange in transcript.exchanges:
            outcome.replies[(fuzzed.target, exchange.code)] += 1
            if finding := judge.internal_reply(exchange):
                outcome.fail(finding, transcript)
        return transcript

    def look(self, outcome: Outcome, transcript: Transcript | None) -> bool:
        """Pin what stderr and the mail log gained to `transcript`; False if the child has died."""
        for finding in judge.stderr_findings(self.child.stderr.new()):
            outcome.fail(finding, transcript)
        dead, other = judge.log_findings(self.child.mail_log.new().splitlines())
        for finding in dead:
            outcome.fail(finding, transcript)
        outcome.criticals.update(finding.kind for finding in other)
        status = self.child.exit_status()
        if status is not None:
            outcome.fail(Finding("the sandbox died", f"exit status {status}"), transcript)
        return status is None

    def finish(self, outcome: Outcome) -> None:
        """The last lines, then SIGTERM: the sandbox must stop cleanly (exit 0)."""
        if not self.look(outcome, None):
            return
        status = self.child.stop()
        self.look_after_stop(outcome)
        if status != 0:
            outcome.fail(Finding("the sandbox did not stop cleanly on SIGTERM", f"exit status {status}"))

    def look_after_stop(self, outcome: Outcome) -> None:
        for finding in judge.stderr_findings(self.child.stderr.new()):
            outcome.fail(finding)
