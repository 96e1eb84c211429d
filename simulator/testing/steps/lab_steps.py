"""Steps of the trainee: the training labs (BEHAVIOUR.md §11.2), checked and started through the
operator's surfaces.

Design rule: a lab's result is read where a trainee reads it, the admin API (`GET /labs/NAME`) or
`tdcsim labs check NAME` (exit 0 done, 1 not done), and both must agree; what makes a lab done is
always done by other steps, through the same surfaces, never on the lab's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pytest_bdd import parsers, then, when

from simulator.core.errors import Refused
from simulator.testing.harness import SandboxFacade


@dataclass
class LabResult:
    """A lab as the trainee last saw it: done or not, and each check's one-line reason."""

    name: str = ""
    done: bool = False
    reasons: tuple[str, ...] = ()
    refusal: str = ""


@pytest.fixture
def lab() -> LabResult:
    return LabResult()


@when(parsers.parse('the trainee checks the lab "{name}"'))
def check_lab(sandbox: SandboxFacade, lab: LabResult, name: str) -> None:
    """Through the admin API, then `tdcsim labs check`: the same verdict and the same reasons."""
    lab.name, lab.refusal = name, ""
    try:
        answer = sandbox.admin_client().get(f"/labs/{name}")
    except Refused as refusal:
        lab.refusal = str(refusal)
        return
    lab.done = bool(answer["done"])
    lab.reasons = tuple(str(check["reason"]) for check in answer["checks"])
    run = sandbox.tdcsim("labs", "check", name)
    assert run.status == (0 if lab.done else 1) and run.stderr == "", (run.status, run.stderr)
    assert all(reason in run.stdout for reason in lab.reasons), run.stdout


@when(parsers.parse('the trainee starts the lab "{name}"'))
def start_lab(sandbox: SandboxFacade, name: str) -> None:
    run = sandbox.tdcsim("labs", "start", name)
    assert run.status == 0 and run.stderr == "", (run.status, run.stderr)


@then("the lab is done")
def lab_done(lab: LabResult) -> None:
    assert lab.refusal == "" and lab.done, lab


@then(parsers.parse('the lab is not done, saying "{reason}"'))
def lab_not_done(lab: LabResult, reason: str) -> None:
    assert lab.refusal == "" and not lab.done, lab
    assert any(reason in each for each in lab.reasons), lab.reasons


@then(parsers.parse('the lab is unknown, the answer suggesting "{name}"'))
def lab_unknown(lab: LabResult, name: str) -> None:
    assert f"did you mean '{name}'?" in lab.refusal, lab.refusal
