"""A fuzzed SMTP session: a target and a list of steps, drawn from `(seed, index)` alone.

Design rule: `session(seed, index)` is a pure function, so `--seed S --only K` replays session K
byte for byte without the other K-1 (the seed string goes through `random.Random`'s SHA-512
seeding, stable across runs and Python versions). A step sends bytes (any number of lines,
pipelined or cut mid-line) or ends the connection; what the server answers is the runner's business.
An own generator, not hypothesis: the sessions run against a long-lived child whose state carries
over from one session to the next, which hypothesis's shrinking and replay cannot account for, and a
plain `(seed, index)` is what a long `make fuzz` run must print for a failure to replay alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from fuzz import content, words

TARGETS = ("inbound", "relay", "threat_defense", "mailbox")
WEIGHTS = (4, 2, 2, 2)
Action = Literal["send", "close", "abort"]


@dataclass(frozen=True)
class Step:
    """Send `data`, or hang up ("close": FIN) or reset ("abort": RST) the connection."""

    action: Action
    data: bytes = b""


@dataclass(frozen=True)
class Session:
    """Session `index` of the run seeded `seed`."""

    seed: int
    index: int
    target: str
    steps: tuple[Step, ...]

    @property
    def size(self) -> int:
        """Bytes sent plus steps taken: how a smaller reproduction is told from a larger one."""
        return sum(len(step.data) + 1 for step in self.steps)


def session(seed: int, index: int) -> Session:
    """The session `index` of the run seeded `seed`."""
    rng = random.Random(f"tdcsim-fuzz/{seed}/{index}")
    target = rng.choices(TARGETS, WEIGHTS)[0]
    lines = Lines(rng, target)
    steps = [*lines.greeting(), *lines.security()]
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        steps += lines.noise()
        steps += lines.transaction()
        if steps[-1].action != "send":
            break
    else:
        steps += lines.ending()
    return Session(seed, index, target, tuple(steps))


class Lines:
    """The command lines of one session, for one target."""

    def __init__(self, rng: random.Random, target: str) -> None:
        self.rng = rng
        self.domain = words.domain_for(rng, target)
        self.tls_first = {"threat_defense": 0.85}.get(target, 0.2)
        # how often a choice takes a hostile form: some sessions are nearly clean, so that
        # one odd address or parameter gets past the others to DATA and delivery
        self.hostile = rng.choice([0.02, 0.1, 0.25, 0.6])

    def odd(self) -> bool:
        """Whether this choice takes a hostile form."""
        return self.rng.random() < self.hostile

    def command(self, verb: str, argument: bytes = b"", end: bytes = b"\r\n") -> bytes:
        space = b" " if argument else b""
        return words.mixed_case(self.rng, verb) + space + argument + end

    def greeting(self) -> list[Step]:
        if not self.odd():
            return [Step("send", self.command(self.rng.choice(["EHLO", "EHLO", "HELO"]), b"client.test"))]
        verb = self.rng.choice(["EHLO", "HELO", "", "NOOP", "MAIL"])
        name = self.rng.choice([b"client.test", b"", b"[127.0.0.1]", b"\xff\x00", "ünï.test".encode(),
                                b"x" * 600, b"a b c"])
        return [Step("send", self.command(verb, name))] if verb else []

    def security(self) -> list[Step]:
        steps = [Step("send", self.command("STARTTLS"))] if self.rng.random() < self.tls_first else []
        if steps and self.rng.random() < 0.8:
            steps.append(Step("send", self.command("EHLO", b"client.test")))
        if self.rng.random() < 0.2:
            steps.append(Step("send", self.auth()))
        return steps

    def auth(self) -> bytes:
        """AUTH, valid (sandbox/sandbox), junk, or a LOGIN dialogue's lines pipelined."""
        return self.rng.choice([
            self.command("AUTH", b"PLAIN AHNhbmRib3gAc2FuZGJveA=="), self.command("AUTH", b"PLAIN"),
            self.command("AUTH", b"PLAIN !!!notbase64"), self.command("AUTH", b"PLAIN ="),
            self.command("AUTH", b"PLAIN AP8A/w=="),
            self.command("AUTH", b"LOGIN") + b"c2FuZGJveA==\r\n*\r\n",
            self.command("AUTH", b"LOGIN") + b"\xff\xfe\r\n\r\n", self.command("AUTH", b"CRAM-MD5"),
            self.command("AUTH"), self.command("AUTH", b"XOAUTH2 " + b"A" * 3000),
        ])

    def mail(self) -> bytes:
        null = self.rng.random() < 0.1
        sender = b"" if null else words.address(self.rng, words.OUTSIDE_DOMAIN, self.hostile)
        wanted = (b"SMTPUTF8",) if self.rng.random() < 0.3 else ()
        argument = b"FROM:" + words.path(self.rng, sender, self.hostile)
        if self.odd() and self.odd():
            argument = self.rng.choice([b"FROM:<", b"FROM:", b"FROM", b"TO:<bob@example.com>", b""])
        return self.command("MAIL", argument + words.parameters(self.rng, wanted, self.hostile))

    def rcpt(self) -> bytes:
        recipient = words.address(self.rng, self.domain, self.hostile)
        argument = b"TO:" + words.path(self.rng, recipient, self.hostile)
        if self.odd() and self.odd():
            argument = self.rng.choice([b"TO:<", b"TO:", b"TO", b"FROM:<bob@example.com>", b""])
        return self.command("RCPT", argument + words.parameters(self.rng, (), self.hostile))

    def transaction(self) -> list[Step]:
        """MAIL, RCPTs and DATA one by one or pipelined, then the message and its ending."""
        recipients = self.rng.choice([0, 1, 1, 1, 2, 5]) if self.odd() else self.rng.choice([1, 1, 2])
        commands = [self.mail(), *(self.rcpt() for _ in range(recipients)),
                    self.command("DATA", b"now" if self.odd() and self.odd() else b"")]
        if self.odd() and self.odd():  # STARTTLS at an odd time: in the middle of a transaction
            commands.insert(self.rng.randrange(len(commands)), self.command("STARTTLS"))
        if self.rng.random() < 0.3:
            commands = [b"".join(commands)]
        chunks, then = content.data_chunks(self.rng, self.hostile)
        steps = [Step("send", chunk) for chunk in commands + chunks if chunk]
        return steps if then == "go_on" else [*steps, Step(then)]

    def noise(self) -> list[Step]:
        """Zero to three commands from the whole vocabulary, malformed on purpose."""
        count = self.rng.choice([1, 2, 3]) if self.odd() else self.rng.choice([0, 0, 0, 1])
        return [Step("send", self.odd_line() if self.odd() else self.harmless()) for _ in range(count)]

    def harmless(self) -> bytes:
        return self.command(self.rng.choice(["NOOP", "RSET", "HELP", "VRFY", "EHLO"]), b"")

    def odd_line(self) -> bytes:
        rng = self.rng
        verb = rng.choice(words.VERBS)
        argument = rng.choice([b"", b"x", words.address(rng, self.domain, 0.5), b"\x00\x1b\x07", b"\xff\xfe",
                               b"a" * rng.choice([400, 513, 1100, 70_000]), "ü".encode(), b"\r"])
        end = rng.choice([b"\r\n", b"\r\n", b"\n", b"\r\r\n", b"\r\n\r\n"])
        line = self.command(verb, argument, end)
        return rng.choice([line, line, line, b"\r\n", b"\x16\x03\x01\x02\x00\x01\x00\r\n", self.auth()])

    def ending(self) -> list[Step]:
        """QUIT, hang up, reset, or cut a command in half and then hang up or reset."""
        style = self.rng.choice(["quit", "quit", "close", "abort", "cut_close", "cut_abort"])
        if style == "quit":
            return [Step("send", self.command("QUIT"))]
        if style.startswith("cut"):
            line = self.rng.choice([self.mail(), self.rcpt(), self.command("EHLO", b"client.test")])
            cut = Step("send", line[: self.rng.randint(1, max(1, len(line) - 2))])
            return [cut, Step("close" if style == "cut_close" else "abort")]
        return [Step("close" if style == "close" else "abort")]
