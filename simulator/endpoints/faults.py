"""Scripted, deterministic faults for the mock endpoints (BEHAVIOUR.md §8.7): values, parser and plan.

Design rule: pure. A `Fault` is a frozen value that checks itself; `parse_fault` reads the CLI syntax
`KIND[:ARG]`; a `FaultPlan` belongs to one endpoint instance (never module state, so parallel
scenarios never see each other's faults) and answers the questions its handler and server ask.
Later faults override earlier ones of the same kind and command.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from simulator.core import replies
from simulator.core.replies import Reply

Command = Literal["CONNECT", "MAIL", "RCPT", "DATA", "END"]
REPLY_COMMANDS = ("MAIL", "RCPT", "DATA", "END")
DROP_COMMANDS = ("CONNECT", *REPLY_COMMANDS)
DELAYED_COMMANDS = ("MAIL", "RCPT", "END")
TLS_KINDS = ("no-starttls", "untrusted-cert", "wrong-host-cert", "expired-cert", "tls1.1-only")

#: (syntax, meaning) of every kind: the source of the CLI help and of the error messages.
KIND_TABLE: tuple[tuple[str, str], ...] = (
    ("no-starttls", "EHLO does not offer STARTTLS"),
    ("untrusted-cert", "certificate from a CA nobody trusts"),
    ("wrong-host-cert", "certificate from the sandbox CA, for another host name"),
    ("expired-cert", "certificate from the sandbox CA, expired"),
    ("tls1.1-only", "TLS 1.1 at most: a TLS 1.2 client's handshake fails"),
    ("reply:COMMAND=CODE", "answer CODE (400-599) at MAIL, RCPT, DATA (before 354) or END (end of data)"),
    ("drop:COMMAND", "close the connection without a reply at CONNECT, MAIL, RCPT, DATA or END"),
    ("delay:SECONDS", "delay every reply to MAIL, RCPT and END by SECONDS"),
    ("fail-next:N", "answer 451 4.3.0 to the next N transactions (at MAIL), then accept"),
    ("down", "the endpoint is not listening (connection refused)"),
)
KINDS = tuple(syntax.partition(":")[0] for syntax, _ in KIND_TABLE)
ARGUMENT_KINDS = tuple(syntax.partition(":")[0] for syntax, _ in KIND_TABLE if ":" in syntax)
VALID_KINDS = ", ".join(syntax for syntax, _ in KIND_TABLE)
FAULT_HELP = "fault kinds (KIND[:ARG]; repeat the option to combine faults):\n" + "\n".join(
    f"  {syntax:<20} {meaning}" for syntax, meaning in KIND_TABLE
)


@dataclass(frozen=True)
class Fault:
    """One scripted fault; only the fields its kind uses are set."""

    kind: str
    command: str = ""
    code: int = 0
    seconds: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ValueError(f"{problem}; valid kinds: {VALID_KINDS}")

    def __str__(self) -> str:
        """The CLI syntax that parses back to this fault."""
        argument = {
            "reply": f"{self.command}={self.code}", "drop": self.command,
            "delay": f"{self.seconds:g}", "fail-next": str(self.count),
        }.get(self.kind)
        return self.kind if argument is None else f"{self.kind}:{argument}"


def _problem(fault: Fault) -> str:
    """What is wrong with `fault`, or "" if nothing is."""
    if fault.kind not in KINDS:
        return f"unknown fault kind {fault.kind!r}"
    if fault.kind == "reply" and fault.command not in REPLY_COMMANDS:
        return f"COMMAND must be one of {', '.join(REPLY_COMMANDS)}"
    if fault.kind == "reply" and not 400 <= fault.code <= 599:
        return "CODE must be a number from 400 to 599"
    if fault.kind == "drop" and fault.command not in DROP_COMMANDS:
        return f"COMMAND must be one of {', '.join(DROP_COMMANDS)}"
    if fault.kind == "delay" and not (math.isfinite(fault.seconds) and fault.seconds >= 0):
        return "SECONDS must be a number of at least 0"
    if fault.kind == "fail-next" and fault.count < 1:
        return "N must be a whole number of at least 1"
    return ""


def parse_fault(text: str) -> Fault:
    """Read `KIND[:ARG]`; a one-line `ValueError` names the valid kinds."""
    kind, colon, argument = text.strip().partition(":")
    kind = kind.lower()
    try:
        if kind in KINDS and (kind in ARGUMENT_KINDS) != bool(colon):
            need = "takes no argument" if colon else "needs an argument"
            raise ValueError(f"{kind} {need}; valid kinds: {VALID_KINDS}")
        return Fault(kind, **_arguments(kind, argument))
    except ValueError as error:
        raise ValueError(f"bad fault {text!r}: {error}") from None


def _arguments(kind: str, argument: str) -> dict[str, Any]:
    """The fields of a `kind` fault read from its argument (a malformed number reads as invalid)."""
    command, _, code = argument.strip().upper().partition("=")
    if kind == "reply":
        return {"command": command, "code": int(code) if code.isdecimal() else 0}
    if kind == "drop":
        return {"command": argument.strip().upper()}
    if kind == "delay":
        return {"seconds": _number(argument)}
    if kind == "fail-next":
        return {"count": int(argument) if argument.isdecimal() else 0}
    return {}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


class FaultPlan:
    """The faults one endpoint is scripted with; used only from its event loop's thread."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults: tuple[Fault, ...] = ()
        self.failures_left = 0
        self.set(faults)

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self._faults

    def set(self, faults: Iterable[Fault]) -> None:
        """Replace the plan; a `fail-next:N` in it starts counting afresh."""
        self._faults = tuple(faults)
        self.failures_left = sum(fault.count for fault in self._faults if fault.kind == "fail-next")

    def add(self, fault: Fault) -> None:
        self._faults += (fault,)
        self.failures_left += fault.count if fault.kind == "fail-next" else 0

    def clear(self) -> None:
        self.set(())

    def _last(self, kind: str, command: str = "") -> Fault | None:
        matches = [f for f in self._faults if f.kind == kind and f.command == command]
        return matches[-1] if matches else None

    @property
    def down(self) -> bool:
        return self._last("down") is not None

    @property
    def tls_fault(self) -> str | None:
        """The TLS fault kind in force (the last one set), or None for the endpoint's own TLS."""
        kinds = [f.kind for f in self._faults if f.kind in TLS_KINDS]
        return kinds[-1] if kinds else None

    def drops(self, command: Command) -> bool:
        return self._last("drop", command) is not None

    def delay(self, command: Command) -> float:
        """Seconds to wait before answering `command`."""
        delay = self._last("delay")
        return delay.seconds if delay is not None and command in DELAYED_COMMANDS else 0.0

    def take_reply(self, command: Command) -> Reply | None:
        """The scripted answer to `command`, or None; a MAIL without one may use up a `fail-next`."""
        scripted = self._last("reply", command)
        if scripted is not None:
            return replies.scripted_fault(scripted.code, command)
        if command == "MAIL" and self.failures_left > 0:
            self.failures_left -= 1
            return replies.SCRIPTED_FAILURE
        return None
