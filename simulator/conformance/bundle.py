"""One kit run, one bundle: a directory (JUnit XML, results.json, summary.md, the configuration used,
the kit's versions, the checks' artifacts and transcripts, pytest's output) and a `.tar.gz` of it.

Design rule: a run's results are a value (`Run`); each file of the bundle is a pure rendering of it,
and `write_bundle` is the only writer. One JUnit test case per rule: an expected failure is a passed
case with an `expected_failure` property, an unexpected pass carries `unexpected_pass`, a check not
run is skipped. Exit status: 1 for any unexpected failure or error, or a problem outside the checks
(the driver's `finish` raised), else 0 (2 is the runner's: usage).
"""

from __future__ import annotations

import json
import re
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from simulator.conformance.outcomes import Outcome

_FAILING = (Outcome.FAILED, Outcome.ERROR)
_ELEMENTS = {Outcome.FAILED: "failure", Outcome.ERROR: "error", Outcome.NOT_RUN: "skipped"}  # JUnit's words
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0 cannot say these


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict in a run, with what explains it."""

    rule: str
    title: str
    outcome: Outcome
    duration: float = 0.0
    detail: str = ""  # the failure's message, the missing hook, the driver's exception; a pass's note
    transcript: str = ""  # what the check printed (its SMTP transcript)
    expected_reason: str | None = None  # listed in the expected-failures file, with this reason

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleResult:
        return cls(**(data | {"outcome": Outcome(data["outcome"])}))


@dataclass(frozen=True)
class Run:
    """A finished run of one direction, as the bundle reports it."""

    direction: str
    target: str
    started: datetime
    finished: datetime
    results: tuple[RuleResult, ...]
    versions: dict[str, str]  # kit_version, python, pytest, pytest_bdd
    command: Sequence[str] = ()
    pytest_command: Sequence[str] = ()
    settings_toml: str = ""
    pytest_output: str = ""
    stopped: str = ""  # why no check ran (the target is unreachable): the run is a usage error
    problems: tuple[str, ...] = ()  # what went wrong outside any check: the driver's `finish` raised

    @property
    def status(self) -> int:
        """The run's exit status: 2 if it stopped before any check, else from the results (and 1 if
        the run had a problem outside its checks)."""
        if self.stopped:
            return 2
        return max(exit_status(self.results), 1 if self.problems else 0)


def exit_status(results: Iterable[RuleResult]) -> int:
    """1 if any rule failed unexpectedly or errored, else 0."""
    return 1 if any(result.outcome in _FAILING for result in results) else 0


def counts(results: Iterable[RuleResult]) -> dict[str, int]:
    """How many rules came to each outcome (every outcome named, zeros too)."""
    outcomes = [result.outcome for result in results]
    return {outcome.value: outcomes.count(outcome) for outcome in Outcome}


def count_line(results: Sequence[RuleResult]) -> str:
    """`11 rules: 9 passed, 1 failed, 1 expected-failure`."""
    named = [f"{number} {outcome}" for outcome, number in counts(results).items() if number]
    return f"{len(results)} rules: {', '.join(named) or 'none run'}"


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def results_json(run: Run) -> dict[str, Any]:
    """results.json: the run and each rule's verdict."""
    rules = [{"rule": result.rule, "title": result.title, "outcome": result.outcome.value,
              "duration": round(result.duration, 3), "detail": result.detail,
              "expected_reason": result.expected_reason} for result in run.results]
    return {"kit_version": run.versions["kit_version"], "direction": run.direction, "target": run.target,
            "started": _time(run.started), "finished": _time(run.finished), "exit_status": run.status,
            "counts": counts(run.results), "problems": list(run.problems), "rules": rules}


def kit_json(run: Run) -> dict[str, Any]:
    """kit.json: what ran the checks, how it was called, and when."""
    return {**run.versions, "command": list(run.command), "pytest_command": list(run.pytest_command),
            "started": _time(run.started), "finished": _time(run.finished)}


def _xml(text: str) -> str:
    return _NOT_XML.sub(lambda char: f"\\x{ord(char[0]):02x}", text)


def _testcase(suite: ET.Element, direction: str, result: RuleResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=direction, name=result.rule,
                         time=f"{result.duration:.3f}")
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", name="title", value=_xml(result.title))
    if result.outcome in (Outcome.EXPECTED_FAILURE, Outcome.UNEXPECTED_PASS):
        name = result.outcome.value.replace("-", "_")
        ET.SubElement(properties, "property", name=name, value=_xml(result.expected_reason or ""))
    message = _xml(result.detail.strip().partition("\n")[0])
    if element := _ELEMENTS.get(result.outcome):
        ET.SubElement(case, element, message=message, type=result.outcome.value).text = _xml(result.detail)
    output = result.detail if result.outcome == Outcome.EXPECTED_FAILURE else ""
    if output or result.transcript:
        ET.SubElement(case, "system-out").text = _xml("\n\n".join(filter(None, [output, result.transcript])))


def junit_xml(run: Run) -> bytes:
    """junit.xml: one test suite (the direction), one test case per rule."""
    numbers = counts(run.results)
    totals = {"tests": str(len(run.results)), "failures": str(numbers[Outcome.FAILED]),
              "errors": str(numbers[Outcome.ERROR]), "skipped": str(numbers[Outcome.NOT_RUN]),
              "time": f"{sum(result.duration for result in run.results):.3f}"}
    suites = ET.Element("testsuites", {"name": "tdc-simulator conformance", **totals})
    suite = ET.SubElement(suites, "testsuite",
                          {"name": run.direction, "timestamp": _time(run.started), **totals})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("kit_version", run.versions["kit_version"]), ("target", run.target)):
        ET.SubElement(properties, "property", name=name, value=_xml(value))
    for result in run.results:
        _testcase(suite, run.direction, result)
    ET.indent(suites)
    document: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return document


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def summary_md(run: Run) -> str:
    """summary.md: the verdict, the failures with their detail first, then every rule in a table."""
    lines = [f"# Conformance: {run.direction} under test at {run.target}", "",
             f"tdc-simulator kit {run.versions['kit_version']}, {_time(run.started)} to "
             f"{_time(run.finished)}, exit status {run.status}", "", f"**{count_line(run.results)}**", ""]
    if run.stopped:
        lines += [f"No check ran: {run.stopped}.", ""]
    if run.problems:
        lines += ["## Problems outside the checks", "",
                  "The rules' outcomes stand; the product under test may not be as the run found it.", "",
                  *(f"- {_cell(problem)}" for problem in run.problems), ""]
    failing = [result for result in run.results if result.outcome in _FAILING]
    if failing:
        lines += ["## Failures", ""]
    for result in failing:
        lines += [f"### {result.rule} ({result.outcome}): {result.title}", "", "```",
                  result.detail.strip() or "(no message)", "```", ""]
    lines += ["## Rules", "", "| Rule | Outcome | Seconds | Title | Note |", "|---|---|---:|---|---|"]
    for result in run.results:
        shown = (Outcome.NOT_RUN, Outcome.PASSED)  # why it was not run; what a passed check noted
        note = result.expected_reason or (result.detail if result.outcome in shown else "")
        lines.append(f"| {result.rule} | {result.outcome} | {result.duration:.1f} | {_cell(result.title)} "
                     f"| {_cell(note)} |")
    return "\n".join(lines) + "\n"


def write_bundle(directory: Path, run: Run) -> Path:
    """Write `run`'s files into `directory` (where the checks left their artifacts) and archive it
    beside as `<directory>.tar.gz`; the archive's path."""
    for result in run.results:
        if result.transcript:
            folder = directory / "artifacts" / result.rule
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "transcript.txt").write_text(result.transcript, encoding="utf-8")
    (directory / "artifacts").mkdir(exist_ok=True)
    (directory / "junit.xml").write_bytes(junit_xml(run))
    for name, document in (("results.json", results_json(run)), ("kit.json", kit_json(run))):
        (directory / name).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for name, text in (("summary.md", summary_md(run)), ("config.toml", run.settings_toml),
                       ("pytest-output.txt", run.pytest_output)):
        (directory / name).write_text(text, encoding="utf-8")
    archive = directory.with_name(directory.name + ".tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(directory, arcname=directory.name)
    return archive
