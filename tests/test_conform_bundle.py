"""The conformance kit's bundle and expected-failures file, as pure values: JUnit XML parsed back, the
results.json schema, the summary, the archive, and how a listing changes an outcome."""

from __future__ import annotations

import json
import tarfile
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_bdd.exceptions import StepDefinitionNotFoundError

from simulator.conformance.bundle import (
    RuleResult,
    Run,
    count_line,
    exit_status,
    junit_xml,
    results_json,
    summary_md,
    write_bundle,
)
from simulator.conformance.collector import judged
from simulator.conformance.expected import apply_expected, kit_rules, read_expected, scenario_names
from simulator.conformance.outcomes import SCENARIO_NAME_RE, DriverError, HookMissing, Outcome
from simulator.core.errors import ConfigError

STARTED = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
FINISHED = datetime(2026, 11, 30, 9, 1, 30, tzinfo=UTC)
VERSIONS = {"kit_version": "0.1.0", "python": "3.11.7", "pytest": "9", "pytest_bdd": "9", "platform": "x"}
RESULTS = (
    RuleResult("8.1-starttls-offered", "STARTTLS is offered", Outcome.PASSED, 0.25,
               transcript="S: 250-STARTTLS"),
    RuleResult("8.1-tls10-refused", "TLS 1.0 | 1.1 refused", Outcome.FAILED, 1.5,
               detail="the endpoint accepted TLS 1.0\nS: 220 ready", transcript="C: EHLO kit\n\x00\x1b[0m"),
    RuleResult("8.3-eleventh-message", "the 11th message", Outcome.EXPECTED_FAILURE, 2.0,
               detail="554 at the 11th", expected_reason="ticket ENG-1"),
    RuleResult("8.9-temporary-is-4xx", "4xx is temporary", Outcome.UNEXPECTED_PASS, 0.5,
               expected_reason="old"),
    RuleResult("1-intake-address-followed", "intake followed", Outcome.NOT_RUN,
               detail="the driver has no 'set_intake_address' hook"),
    RuleResult("4.2-tls-error-logged", "logged", Outcome.ERROR, 0.1,
               detail="driver hook 'read_log_lines' raised OSError: gone"),
)
RUN = Run("endpoint", "127.0.0.1:2525", STARTED, FINISHED, RESULTS, VERSIONS, ("tdcsim", "conform"),
          ("python", "-m", "pytest"), "[kit]\n", "== 6 tests ==\n")


def cases(document: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(document)
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def properties(case: ET.Element) -> dict[str, str]:
    return {prop.attrib["name"]: prop.attrib["value"] for prop in case.iter("property")}


def test_junit_has_one_case_per_rule_with_the_direction_as_its_class() -> None:
    parsed = cases(junit_xml(RUN))
    assert list(parsed) == [result.rule for result in RESULTS]
    assert {case.attrib["classname"] for case in parsed.values()} == {"endpoint"}
    assert properties(parsed["8.1-tls10-refused"])["title"] == "TLS 1.0 | 1.1 refused"


def test_junit_says_failed_error_and_not_run_with_their_messages() -> None:
    parsed = cases(junit_xml(RUN))
    failure = parsed["8.1-tls10-refused"].find("failure")
    assert failure is not None and failure.attrib["message"] == "the endpoint accepted TLS 1.0"
    assert "S: 220 ready" in (failure.text or "")
    error = parsed["4.2-tls-error-logged"].find("error")
    assert error is not None and "OSError: gone" in error.attrib["message"]
    skipped = parsed["1-intake-address-followed"].find("skipped")
    assert skipped is not None and "set_intake_address" in skipped.attrib["message"]
    assert parsed["8.1-starttls-offered"].find("failure") is None


def test_junit_counts_an_expected_failure_as_passed_and_shows_an_unexpected_pass() -> None:
    root = ET.fromstring(junit_xml(RUN))
    suite = root.find("testsuite")
    assert suite is not None
    assert {key: suite.attrib[key] for key in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6", "failures": "1", "errors": "1", "skipped": "1"}
    parsed = cases(junit_xml(RUN))
    expected = parsed["8.3-eleventh-message"]
    assert [child.tag for child in expected if child.tag in ("failure", "error", "skipped")] == []
    assert properties(expected)["expected_failure"] == "ticket ENG-1"
    assert properties(parsed["8.9-temporary-is-4xx"])["unexpected_pass"] == "old"


def test_junit_keeps_a_transcript_with_control_characters_readable() -> None:
    out = cases(junit_xml(RUN))["8.1-tls10-refused"].find("system-out")
    assert out is not None and "C: EHLO kit" in (out.text or "") and "\\x00\\x1b[0m" in (out.text or "")


def test_results_json_has_the_schema() -> None:
    document = json.loads(json.dumps(results_json(RUN)))
    assert list(document) == ["kit_version", "direction", "target", "started", "finished", "exit_status",
                              "counts", "problems", "rules"]
    assert document["problems"] == []
    assert document["started"] == "2026-11-30T09:00:00Z" and document["exit_status"] == 1
    assert document["counts"] == {"passed": 1, "failed": 1, "not-run": 1, "error": 1, "expected-failure": 1,
                                  "unexpected-pass": 1}
    assert all(list(rule) == ["rule", "title", "outcome", "duration", "detail", "expected_reason"]
               for rule in document["rules"])
    assert document["rules"][2]["expected_reason"] == "ticket ENG-1"
    assert document["rules"][0]["expected_reason"] is None


@pytest.mark.parametrize(("outcome", "status"), [
    (Outcome.PASSED, 0), (Outcome.EXPECTED_FAILURE, 0), (Outcome.UNEXPECTED_PASS, 0), (Outcome.NOT_RUN, 0),
    (Outcome.FAILED, 1), (Outcome.ERROR, 1),
])
def test_the_exit_status_fails_only_for_an_unexpected_failure_or_an_error(outcome: Outcome,
                                                                          status: int) -> None:
    results = [RuleResult("8.1-a", "a", Outcome.PASSED), RuleResult("8.1-b", "b", outcome)]
    assert exit_status(results) == status


def test_the_summary_puts_failures_with_their_detail_first_then_every_rule() -> None:
    summary = summary_md(RUN)
    failures, _, table = summary.partition("## Rules")
    assert "8.1-tls10-refused (failed)" in failures and "the endpoint accepted TLS 1.0" in failures
    assert "4.2-tls-error-logged (error)" in failures and "8.3-eleventh-message" not in failures
    assert all(f"| {result.rule} | {result.outcome} |" in table for result in RESULTS)
    assert "TLS 1.0 \\| 1.1 refused" in table and "ticket ENG-1" in table
    assert "6 rules: 1 passed, 1 failed, 1 not-run, 1 error, 1 expected-failure, 1 unexpected-pass" in summary


def test_a_problem_outside_the_checks_is_reported_and_fails_the_run_but_changes_no_rule() -> None:
    """The driver's `finish` raised: every rule passed, yet the run says so and exits 1."""
    problem = "driver hook 'finish' raised RuntimeError: could not release the held samples"
    passed = (RESULTS[0],)
    run = Run("gateway", "127.0.0.1:2600", STARTED, FINISHED, passed, VERSIONS, problems=(problem,))
    assert exit_status(run.results) == 0 and run.status == 1
    document = results_json(run)
    assert document["problems"] == [problem] and document["exit_status"] == 1
    assert document["counts"]["passed"] == 1 and document["rules"][0]["outcome"] == "passed"
    summary = summary_md(run)
    assert "## Problems outside the checks" in summary and f"- {problem}" in summary
    assert "exit status 1" in summary


def test_the_summary_shows_what_a_passed_check_noted() -> None:
    noted = RuleResult("4.3-ten-per-connection", "at most 10", Outcome.PASSED,
                       detail="the busiest connection carried 1 message(s): the limit was not exercised")
    run = Run("gateway", "127.0.0.1:2600", STARTED, FINISHED, (noted,), VERSIONS)
    assert "| 4.3-ten-per-connection | passed | 0.0 | at most 10 | the busiest connection carried 1 " in (
        summary_md(run))


def test_count_line_names_only_the_outcomes_that_occurred() -> None:
    assert count_line(RESULTS[:1]) == "1 rules: 1 passed"


def test_the_bundle_is_a_directory_and_an_archive_beside_it(tmp_path: Path) -> None:
    bundle = tmp_path / "endpoint-run"
    (bundle / "artifacts" / "8.1-starttls-offered").mkdir(parents=True)
    (bundle / "artifacts" / "8.1-starttls-offered" / "journal.eml").write_text("kept")
    archive = write_bundle(bundle, RUN)
    assert archive == tmp_path / "endpoint-run.tar.gz"
    names = {"junit.xml", "results.json", "summary.md", "config.toml", "kit.json", "artifacts",
             "pytest-output.txt"}
    assert names <= {path.name for path in bundle.iterdir()}
    assert (bundle / "artifacts" / "8.1-tls10-refused" / "transcript.txt").read_text().startswith("C: EHLO")
    kit = json.loads((bundle / "kit.json").read_text())
    assert kit["kit_version"] == "0.1.0" and kit["command"] == ["tdcsim", "conform"]
    with tarfile.open(archive) as tar:
        archived = set(tar.getnames())
    assert {f"endpoint-run/{name}" for name in names} <= archived
    assert "endpoint-run/artifacts/8.1-starttls-offered/journal.eml" in archived


def test_a_record_survives_its_json_line() -> None:
    assert [RuleResult.from_json(json.loads(json.dumps(r.to_json()))) for r in RESULTS] == list(RESULTS)


def raised(error: BaseException) -> pytest.ExceptionInfo[BaseException]:
    try:
        raise error
    except BaseException:
        return pytest.ExceptionInfo.from_current()


@pytest.mark.parametrize(("error", "when", "outcome"), [
    (HookMissing("read_log_lines"), "call", Outcome.NOT_RUN),
    (DriverError("prepare", OSError("refused")), "call", Outcome.ERROR),
    (DriverError("prepare", OSError("refused")), "setup", Outcome.ERROR),
    (AssertionError("no copy arrived\nS: 250 ok"), "call", Outcome.FAILED),
    (ConnectionResetError("closed mid-session"), "call", Outcome.FAILED),
    (ConnectionResetError("closed mid-session"), "setup", Outcome.ERROR),
    (StepDefinitionNotFoundError("no step"), "call", Outcome.ERROR),
])
def test_the_collector_judges_by_what_was_raised(error: BaseException, when: str, outcome: Outcome) -> None:
    judged_outcome, detail = judged(raised(error), when)
    assert judged_outcome == outcome
    assert str(error).splitlines()[0] in detail


RULES = {"8.1-starttls-offered": "offered", "8.3-eleventh-message": "11th", "2.1-incoming-copied": "copied"}


def test_an_expected_failures_file_lists_rules_with_reasons() -> None:
    text = ('[[expected_failure]]\nrule = "8.3-eleventh-message"\nreason = " ENG-1 "\n\n'
            '[[expected_failure]]\nrule = "2.1-incoming-copied"\nreason = "known"\n')
    assert read_expected(text, RULES) == {"8.3-eleventh-message": "ENG-1", "2.1-incoming-copied": "known"}
    assert read_expected("", RULES) == {}


@pytest.mark.bad_input
@pytest.mark.parametrize(("text", "refusal"), [
    ('[[expected_failure]]\nrule = "8.3-eleventh-mesage"\nreason = "x"\n',
     "expected_failure[0].rule (line 2): not a rule of the kit: '8.3-eleventh-mesage' "
     "(did you mean '8.3-eleventh-message'?)"),
    ('[[expected_failure]]\nrule = "8.3-eleventh-message"\n',
     "expected_failure[0].reason (line 1): is missing"),
    ('[[expected_failure]]\nrule = "8.3-eleventh-message"\nreason = "  "\n',
     "expected_failure[0].reason (line 3): give a reason: why is this failure expected?"),
    ('[[expected_failure]]\nrule = "8.3-eleventh-message"\nreason = "a"\n'
     '[[expected_failure]]\nrule = "8.3-eleventh-message"\nreason = "b"\n',
     "expected_failure[1].rule (line 5): 8.3-eleventh-message is listed twice"),
    ('[[expected_failure]]\nrule = "8.3-eleventh-message"\nreason = "a"\nticket = 1\n',
     "expected_failure[0].ticket (line 4): unknown key (known here: rule, reason)"),
    ('[[expected_failure]\n', "TOML syntax"),
])
def test_a_bad_expected_failures_file_names_the_key_and_line(text: str, refusal: str) -> None:
    with pytest.raises(ConfigError) as refused:
        read_expected(text, RULES)
    assert str(refused.value).startswith(refusal)


def test_a_listing_turns_failed_and_passed_only() -> None:
    listed = {result.rule: "why" for result in RESULTS}
    plain = [RuleResult(r.rule, r.title, o) for r, o in zip(RESULTS, [Outcome.PASSED, Outcome.FAILED,
             Outcome.FAILED, Outcome.PASSED, Outcome.NOT_RUN, Outcome.ERROR], strict=True)]
    applied = apply_expected(plain, listed)
    assert [result.outcome for result in applied] == [
        Outcome.UNEXPECTED_PASS, Outcome.EXPECTED_FAILURE, Outcome.EXPECTED_FAILURE, Outcome.UNEXPECTED_PASS,
        Outcome.NOT_RUN, Outcome.ERROR]
    assert {result.expected_reason for result in applied} == {"why"}
    assert apply_expected(plain, {}) == plain


@pytest.mark.parametrize("direction", ["endpoint", "gateway"])
def test_every_scenario_of_the_kit_names_its_rule(direction: str) -> None:
    names = scenario_names(direction)
    assert names and all(SCENARIO_NAME_RE.match(name) for name in names), names
    assert len(kit_rules(direction)) == len(names), "a rule id is used twice"
