"""One fuzz run: sessions one after another against the child, legitimate mail in between, then the
verdict on everything the criteria (`judge`, `legit`) found.

Design rule: sessions run one at a time, so whatever shows up on stderr or in the mail log right
after a session is pinned to it (the session is printed with the failure and replays alone with
`--only`); a failure class keeps its count, its first session and its smallest one. The child is
checked after every session; once it has died, the run stops.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from fuzz import judge
from fuzz.child import Child
from fuzz.judge import Finding
from fuzz.legit import Legit
from fuzz.owners import Owners
from fuzz.sessions import Session, session
from fuzz.wire import Transcript, Wire

#: After a session to an endpoint hangs up, how long to wait before pinning what shows up to it: the
#: server's side of a hang-up runs once the FIN/RST is read, and the endpoints log nothing to wait for.
HANG_UP_GRACE = 0.005
#: A gateway listener logs `ICID n close` once it has handled a hang-up (the last thing it does with
#: the connection): `look` waits for that line instead, up to this bound for a loaded machine.
HANG_UP_WAIT = 5.0
GATEWAY_TARGETS = ("inbound", "relay")
ICID_CLOSE_RE = re.compile(r"\bICID \d+ close$")


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
    """What a run saw: replies by (target, code), failure classes, and classes shown only."""

    seed: int
    sessions: int = 0
    legit_sent: int = 0
    seconds: float = 0.0
    replies: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: dict[str, FailureClass] = field(default_factory=dict)
    shown: dict[str, FailureClass] = field(default_factory=dict)

    def fail(self, finding: Finding, transcript: Transcript | None = None) -> None:
        self.failures.setdefault(finding.kind, FailureClass(finding.kind)).add(finding, transcript)

    def show(self, finding: Finding, transcript: Transcript | None = None) -> None:
        self.shown.setdefault(finding.kind, FailureClass(finding.kind)).add(finding, transcript)


@dataclass
class Campaign:
    """Plays `indices` of the run seeded `seed` against `child`."""

    child: Child
    seed: int
    legit_every: int = 10
    reply_timeout: float = 10.0
    settle_timeout: float = 30.0
    watch: Callable[[Transcript], None] | None = None  # told of every session played (--only)
    owners: Owners = field(default_factory=Owners)

    def run(self, indices: list[int]) -> Outcome:
        outcome, started = Outcome(self.seed), time.monotonic()
        legit = Legit(self.child.address("inbound"), self.child.data_dir,
                      str(self.child.description["intake_address"]), secrets.token_hex(4))
        for number, index in enumerate(indices, 1):
            transcript = self.play(session(self.seed, index), outcome)
            if not self.look(outcome, transcript):
                break  # its death is the failure: the messages it lost with it are not counted
            if number % self.legit_every == 0 or number == len(indices):
                if legit.send(outcome.legit_sent):
                    self.owners.connected(None)
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
        if self.watch:
            self.watch(transcript)
        if transcript.connected and fuzzed.target in GATEWAY_TARGETS:
            self.owners.connected(transcript)
        for exchange in transcript.exchanges:
            outcome.replies[(fuzzed.target, exchange.code)] += 1
            if finding := judge.internal_reply(exchange):
                outcome.fail(finding, transcript)
        return transcript

    def look(self, outcome: Outcome, transcript: Transcript | None) -> bool:
        """Pin what stderr and the mail log gained to `transcript`; False if the child has died."""
        lines = self.hang_up_handled(transcript)
        stderr = self.child.stderr.new()
        for finding in judge.stderr_findings(stderr):
            outcome.fail(finding, transcript)
        for finding in judge.stderr_reports(stderr):
            outcome.show(finding, transcript)
        lines += self.new_log_lines()
        dead, other = judge.log_findings(lines)
        for finding in dead:
            outcome.fail(finding, self._owner(finding, transcript))
        for finding in other:
            outcome.show(finding, self._owner(finding, transcript))
        status = self.child.exit_status()
        if status is not None:
            outcome.fail(Finding("the sandbox died", f"exit status {status}"), transcript)
        return status is None

    def new_log_lines(self) -> list[str]:
        """The mail-log lines since the last look, once the owners have read them."""
        lines = self.child.mail_log.new().splitlines()
        self.owners.read(lines)
        return lines

    def hang_up_handled(self, transcript: Transcript | None) -> list[str]:
        """If `transcript` hung up, return once the server has handled it: the mail-log lines read
        meanwhile (a gateway's `ICID n close` for this session ends the wait; an endpoint gets
        `HANG_UP_GRACE`)."""
        if not (transcript and transcript.session.steps and transcript.session.steps[-1].action != "send"):
            return []
        if not (transcript.connected and transcript.session.target in GATEWAY_TARGETS):
            time.sleep(HANG_UP_GRACE)
            return []
        lines: list[str] = []
        deadline = time.monotonic() + HANG_UP_WAIT
        while time.monotonic() < deadline and self.child.exit_status() is None:
            fresh = self.new_log_lines()
            lines += fresh
            if any(ICID_CLOSE_RE.search(line) and self.owners.owner(line) == (True, transcript)
                   for line in fresh):
                break
            time.sleep(0.001)
        return lines

    def _owner(self, finding: Finding, latest: Transcript | None) -> Transcript | None:
        """The session whose connection a log line names, else the one that has just run."""
        known, owner = self.owners.owner(finding.evidence)
        return owner if known else latest

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
