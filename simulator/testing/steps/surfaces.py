"""The operator's two surfaces, the admin HTTP API and `tdcsim`, behind one call for the steps.

Design rule: an administrator action is written once, as the API request and the `tdcsim` command
that sends that same request; a surface runs it and says what the operator saw: the answer, or the
refusal (the API's message, or tdcsim's one line on stderr and its exit status).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from simulator.core.errors import Refused
from simulator.testing.harness import SandboxFacade


@dataclass(frozen=True)
class Action:
    """One administrator action: the API request and the equivalent `tdcsim` command."""

    method: str
    path: str
    body: dict[str, Any]
    command: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What the operator saw: the answer's text, or the refusal; tdcsim's exit status (None: API)."""

    text: str = ""
    refusal: str = ""
    status: int | None = None


class Surface(Protocol):
    """Where the administrator works: the admin API or the command line."""

    def run(self, action: Action) -> Answer: ...


@dataclass(frozen=True)
class ApiSurface:
    """The admin HTTP API, through the client `tdcsim` uses."""

    sandbox: SandboxFacade

    def run(self, action: Action) -> Answer:
        try:
            reply = self.sandbox.admin_client().call(action.method, action.path, action.body)
        except Refused as refusal:
            return Answer(refusal=str(refusal))
        return Answer(text=str(reply["message"]))


@dataclass(frozen=True)
class CliSurface:
    """`tdcsim`, finding the sandbox through `--data-dir` and its `sandbox.json`."""

    sandbox: SandboxFacade

    def run(self, action: Action) -> Answer:
        done = self.sandbox.tdcsim(*action.command)
        if done.status == 0:
            assert done.stderr == "", done.stderr
            return Answer(text=done.stdout.rstrip("\n"), status=0)
        assert done.stdout == "" and "Traceback" not in done.stderr, (done.stdout, done.stderr)
        return Answer(refusal=done.stderr.rstrip("\n"), status=done.status)


SURFACES: dict[str, Callable[[SandboxFacade], Surface]] = {"API": ApiSurface, "CLI": CliSurface}


def done(sandbox: SandboxFacade, *actions: Action) -> list[str]:
    """Set-up through the admin API: every action must be accepted; their answers."""
    answers = [ApiSurface(sandbox).run(action) for action in actions]
    assert all(answer.refusal == "" for answer in answers), answers
    return [answer.text for answer in answers]


def enable(address: str, level: str) -> Action:
    return Action("POST", "/tdc/enable", {"address": address, "level": level},
                  ("tdc", "enable", "--address", address, "--level", level))


def disable(level: str) -> Action:
    return Action("POST", "/tdc/disable", {"level": level}, ("tdc", "disable", "--level", level))


def commit(comment: str) -> Action:
    return Action("POST", "/commit", {"comment": comment}, ("commit", "--comment", comment))


def clear() -> Action:
    return Action("POST", "/clear", {}, ("clear",))


def set_policy(policy: str, mode: str, address: str = "", level: str = "cluster") -> Action:
    return Action("POST", "/policies", {"policy": policy, "mode": mode, "address": address, "level": level},
                  ("policy", "set", policy, "--mode", mode, "--address", address, "--level", level))


def add_route(domain: str, destination: str, level: str = "cluster") -> Action:
    return Action("POST", "/routes", {"domain": domain, "destination": destination, "level": level},
                  ("routes", "add", domain, destination, "--level", level))


def release(mid: int) -> Action:
    return Action("POST", "/quarantine/release", {"mid": mid, "machine": ""},
                  ("quarantine", "release", str(mid)))
