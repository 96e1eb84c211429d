"""The kit run's collector: one raw record per scenario (rule, title, outcome, duration, detail,
transcript), a JSON line each, written as soon as the scenario is over so a run cut short keeps what
it judged.

Design rule: the outcome comes from what was raised, and only from that: `HookMissing` (or a skip:
the configuration lacks what the check needs) -> not run, `DriverError` -> error, any other
exception in the check -> failed, anything going wrong around it (a fixture, a teardown, a kit bug
such as a step without a definition) -> error. A passed check's detail is what it noted (`NOTE`,
e.g. that a limit was not exercised). The rule id is the scenario's name
(`outcomes.rule_of`); the transcript is the check's captured stdout.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_bdd.exceptions import ScenarioValidationError, StepDefinitionNotFoundError

from simulator.conformance.bundle import RuleResult
from simulator.conformance.outcomes import NOTE, DriverError, HookMissing, Outcome, rule_of

RECORDS = ".records.jsonl"  # in the bundle directory until the runner has read them
PROBLEMS = ".problems.jsonl"  # the run's problems outside any check (a driver's `finish` that raised)
SCENARIO_NAME = pytest.StashKey[str]()
_KIT_BUGS = (StepDefinitionNotFoundError, ScenarioValidationError)


@dataclass
class _Verdict:
    """What a scenario has come to so far: its phases add their durations, the first problem wins."""

    outcome: Outcome = Outcome.PASSED
    detail: str = ""
    duration: float = 0.0


_VERDICT = pytest.StashKey[_Verdict]()


def judged(excinfo: pytest.ExceptionInfo[BaseException], when: str) -> tuple[Outcome, str]:
    """The outcome and detail an exception raised in phase `when` stands for."""
    error = excinfo.value
    if isinstance(error, HookMissing):
        return Outcome.NOT_RUN, str(error)
    if isinstance(error, pytest.skip.Exception):
        return Outcome.NOT_RUN, str(error.msg)
    if isinstance(error, DriverError):
        return Outcome.ERROR, str(error)
    if isinstance(error, AssertionError) and when == "call":
        return Outcome.FAILED, str(error) or "the check's assertion failed"
    outcome = Outcome.FAILED if when == "call" and not isinstance(error, _KIT_BUGS) else Outcome.ERROR
    return outcome, excinfo.exconly()


def scenario_name(item: pytest.Item) -> str:
    """The scenario `item` runs: as pytest-bdd announced it, else from the test's docstring."""
    if name := item.stash.get(SCENARIO_NAME, ""):
        return name
    doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""  # "<feature name>: <scenario name>"
    parts = doc.split(": ")
    return next((": ".join(parts[start:]) for start in range(1, len(parts))
                 if rule_of(": ".join(parts[start:]))), "")


class Collector:
    """A pytest plugin writing each kit scenario's raw record to `records` (JSON lines)."""

    def __init__(self, records: Path) -> None:
        self.records = records

    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest, scenario: object) -> None:
        request.node.stash[SCENARIO_NAME] = str(getattr(scenario, "name", ""))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report: pytest.TestReport = yield
        verdict = item.stash.setdefault(_VERDICT, _Verdict())
        verdict.duration += call.duration
        if call.excinfo is not None and verdict.outcome == Outcome.PASSED:
            verdict.outcome, verdict.detail = judged(call.excinfo, call.when)
        if call.when == "teardown":
            notes = [str(value) for name, value in item.user_properties if name == NOTE]
            if verdict.outcome == Outcome.PASSED and notes:
                verdict.detail = "\n".join(notes)
            self.write(item, verdict, report.capstdout)
        return report

    def write(self, item: pytest.Item, verdict: _Verdict, transcript: str) -> None:
        declared = rule_of(scenario_name(item))
        if declared is None:
            return  # not a kit scenario
        result = RuleResult(rule=declared[0], title=declared[1], outcome=verdict.outcome,
                            duration=verdict.duration, detail=verdict.detail, transcript=transcript)
        with self.records.open("a", encoding="utf-8") as records:
            records.write(json.dumps(result.to_json()) + "\n")


def read_records(path: Path) -> list[RuleResult]:
    """The records a run's collector wrote (none if it wrote none)."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [RuleResult.from_json(json.loads(line)) for line in lines if line.strip()]


def write_problem(path: Path, problem: str) -> None:
    """Add a problem of the run (outside any check) to `path` (JSON lines)."""
    with path.open("a", encoding="utf-8") as problems:
        problems.write(json.dumps(problem) + "\n")


def read_problems(path: Path) -> list[str]:
    """The problems a run wrote (none if it wrote none)."""
    if not path.exists():
        return []
    return [str(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
