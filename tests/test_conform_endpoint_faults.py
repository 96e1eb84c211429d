"""Each scripted fault of the mock Threat Defense (simulator/endpoints/faults.py) makes exactly the
matching checks of the endpoint kit fail: a real kit run (`tdcsim conform endpoint`) per fault kind,
against one sandbox whose faults are switched between runs, judged from the bundle's results.json
(`COMPARED`'s by the comparison of the kit's subprocess with this process, which runs it anyway;
`LISTED`'s by the expected-failures test, whose run lists that fault's failures).
Only the verdicts matter here, so the kit's checks run in this process (fixtures/kit_in_process.py:
the same pytest command line, no interpreter to start); the subprocess a vendor gets is
tests/test_conform_cli.py's.
Without a fault every check passes: tests/test_conform_endpoint.py (the feature bound in this
process, with the same target settings) and tests/test_conform_cli.py (the kit run).

Why each fault fails what it fails (the table below, `FAULTS`, is the only statement of it):
- no-starttls: EHLO lacks STARTTLS (8.1-starttls-offered); no handshake of any version can be had, so
  TLS 1.2/1.3 are not accepted and no certificate can be verified; the connector requires STARTTLS,
  so no journal gets through (8.4, 8.3, 8.9 failed: no session at all); the address probe meets
  `530` at MAIL in plaintext and never reaches RCPT (8.2). MAIL before STARTTLS is still refused with
  530 (8.1-starttls-required passes), and no TLS 1.0/1.1 session is established (those pass).
- untrusted-cert, wrong-host-cert, expired-cert: the version probes do not verify certificates (that is
  8.8's rule), so only 8.8 and the connector's checks (8.4, 8.3, 8.9) fail: the connector verifies the
  certificate by name, and will not send.
- tls1.1-only: TLS 1.0 and 1.1 sessions are established (8.1-tls10/11-refused fail), 1.2 and 1.3 are
  not (8.1-tls12/13-accepted fail), and the connector (TLS 1.2 at least) cannot verify a certificate
  or send (8.8, 8.4, 8.3, 8.9). The address probe takes whatever TLS is offered, so 8.2 passes.
- reply:RCPT=550: its own intake address is refused too (8.2), every journal is refused with a 5xx
  (8.4, 8.3); no 4xx is ever answered, so 8.9 has nothing to judge: not run.
- reply:END=451: a 4xx that never clears: the journals are never accepted (8.4, 8.3) and a 4xx
  answer is not temporary (8.9).
- drop:END: the connection closes at the end of every message: nothing is accepted (8.4, 8.3); no
  4xx is answered, so 8.9 is not run. Probes that end before DATA pass.
- delay:0.001: no rule of §8 bounds an endpoint's speed; a delay within the connector's timeout fails
  nothing (any delay far below it shows that; it is paid at each of the run's 100-odd replies to
  MAIL, RCPT and END: 0.01 s added over a second of waiting to the run).
- fail-next:1: a `451` at MAIL, then acceptance, is what §8.9 asks of a temporary failure: the
  first check to send MAIL (8.1-starttls-required) meets it and tries again (2 attempts here: the
  run's `attempts`); nothing fails.
- down: the target takes no connection: the run stops before any check, exit status 2, every rule
  not run (the bundle records why).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import simulator.conformance
from fixtures.kit_in_process import kit_checks_in_process
from simulator.cli.main import main as tdcsim
from simulator.conformance.expected import kit_rules
from simulator.conformance.plugin import KIT_CODE
from simulator.core.clock import ManualClock
from simulator.endpoints.faults import KINDS
from simulator.sandbox import TD_HOSTNAME, SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.runner import SimulatorThread
from simulator.transport.tls import SandboxTls

CONNECTOR_CHECKS = ("8.4-valid-journal-accepted", "8.3-eleventh-message", "8.9-temporary-is-4xx")
CERTIFICATE_FAULT = {"8.8-certificate-valid-for-name": "failed", **dict.fromkeys(CONNECTOR_CHECKS, "failed")}
ALL_RULES = tuple(kit_rules("endpoint"))

#: fault -> (the kit's exit status, {rule: outcome} of every rule that does not pass).
FAULTS: dict[str, tuple[int, dict[str, str]]] = {
    "no-starttls": (1, dict.fromkeys((
        "8.1-starttls-offered", "8.1-tls12-accepted", "8.1-tls13-accepted", "8.8-certificate-valid-for-name",
        "8.2-unknown-intake-refused", *CONNECTOR_CHECKS), "failed")),
    "untrusted-cert": (1, CERTIFICATE_FAULT),
    "wrong-host-cert": (1, CERTIFICATE_FAULT),
    "expired-cert": (1, CERTIFICATE_FAULT),
    "tls1.1-only": (1, dict.fromkeys((
        "8.1-tls10-refused", "8.1-tls11-refused", "8.1-tls12-accepted", "8.1-tls13-accepted",
        "8.8-certificate-valid-for-name", *CONNECTOR_CHECKS), "failed")),
    "reply:RCPT=550": (1, {"8.2-unknown-intake-refused": "failed", "8.4-valid-journal-accepted": "failed",
                           "8.3-eleventh-message": "failed", "8.9-temporary-is-4xx": "not-run"}),
    "reply:END=451": (1, dict.fromkeys(CONNECTOR_CHECKS, "failed")),
    "drop:END": (1, {"8.4-valid-journal-accepted": "failed", "8.3-eleventh-message": "failed",
                     "8.9-temporary-is-4xx": "not-run"}),
    "delay:0.001": (0, {}),
    "fail-next:1": (0, {}),
    "down": (2, dict.fromkeys(ALL_RULES, "not-run")),
}


@pytest.fixture(scope="module")
def shared_sandbox(tdc_tls: SandboxTls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxFacade]:
    """One sandbox for every fault of this module (a worker's share of them): faults switch between runs."""
    settings = SandboxSettings(data_dir=tmp_path_factory.mktemp("sandbox"), inbound_port=0, relay_port=0,
                               threat_defense_port=0, mailbox_port=0)
    runner = SimulatorThread(settings, tdc_tls, ManualClock())
    runner.start()
    try:
        yield SandboxFacade(runner)
    finally:
        runner.stop()


def kit_results(sandbox: SandboxFacade, ca_pem: bytes, folder: Path, in_process: bool = True,
                listed: Sequence[str] = ()) -> tuple[int, list[dict[str, Any]]]:
    """`tdcsim conform endpoint` at the sandbox's Threat Defense: exit status, results.json's rules.
    `listed` rules go into the run's expected-failures file (`kit.expected_failures`), the n-th one
    with the reason `ENG-n`."""
    host, port = sandbox.listener_address("threat_defense")
    folder.mkdir(exist_ok=True)
    (folder / "ca.pem").write_bytes(ca_pem)
    kit = ""
    if listed:
        (folder / "known.toml").write_text("".join(
            f'[[expected_failure]]\nrule = "{rule}"\nreason = "ENG-{number}"\n'
            for number, rule in enumerate(listed)), encoding="utf-8")
        kit = '[kit]\nexpected_failures = "known.toml"\n\n'
    (folder / "conform.toml").write_text(
        f'{kit}[endpoint]\ntarget = "{host}:{port}"\nserver_name = "{TD_HOSTNAME}"\nca = "ca.pem"\n'
        "attempts = 2\nretry_wait = 0.05\n", encoding="utf-8")
    with kit_checks_in_process() if in_process else contextlib.nullcontext():
        status = tdcsim(["conform", "endpoint", "--config", str(folder / "conform.toml"),
                         "--output", str(folder / "bundle")])
    results = json.loads((folder / "bundle" / "results.json").read_text(encoding="utf-8"))
    return status, results["rules"]


def outcomes_of(results: list[dict[str, Any]]) -> dict[str, str]:
    """results.json's rules as {rule: outcome}."""
    return {result["rule"]: result["outcome"] for result in results}


def kit_run(sandbox: SandboxFacade, ca_pem: bytes, folder: Path) -> tuple[int, dict[str, str]]:
    """The kit's exit status and {rule: outcome}."""
    status, results = kit_results(sandbox, ca_pem, folder)
    return status, outcomes_of(results)


#: The fault the comparison below runs the kit with (twice: subprocess and in this process), judged
#: there against `FAULTS` too rather than by a third run: rules fail, with details.
COMPARED = "tls1.1-only"
#: The fault the expected-failures test below runs the kit with, every rule it fails listed: judged
#: there against `FAULTS` too (by the verdicts the rules earned) rather than by a second run.
LISTED = "reply:END=451"


def by_the_table(fault: str) -> dict[str, str]:
    """{rule: outcome} of every rule, as `FAULTS` gives them for `fault`."""
    not_passing = FAULTS[fault][1]
    return {rule: not_passing.get(rule, "passed") for rule in ALL_RULES}


def judged_by_the_table(fault: str, status: int, outcomes: dict[str, str]) -> None:
    """The kit's exit status and {rule: outcome} are those `FAULTS` gives `fault`."""
    assert outcomes == by_the_table(fault)
    assert status == FAULTS[fault][0]


@pytest.mark.parametrize("fault", [fault for fault in FAULTS if fault not in (COMPARED, LISTED)])
def test_a_fault_fails_exactly_its_rules(
    shared_sandbox: SandboxFacade, tdc_tls: SandboxTls, tmp_path: Path, fault: str
) -> None:
    shared_sandbox.set_faults("threat_defense", fault)
    try:
        status, outcomes = kit_run(shared_sandbox, tdc_tls.ca_pem, tmp_path)
    finally:
        shared_sandbox.set_faults("threat_defense")
    judged_by_the_table(fault, status, outcomes)


def judged(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Each rule's outcome and detail, numbers (ports, times, sizes) left out."""
    return [(result["rule"], result["outcome"], re.sub(r"\d+", "N", str(result.get("detail") or "")))
            for result in results]


def process_state() -> tuple[object, ...]:
    """What a kit run in this process must leave as it found it."""
    return (dict(os.environ), dict(sys.modules), list(sys.meta_path), simulator.conformance,
            gc.get_freeze_count())


def test_the_checks_run_in_this_process_judge_as_the_kits_subprocess_and_leave_nothing_changed(
    shared_sandbox: SandboxFacade, tdc_tls: SandboxTls, tmp_path: Path
) -> None:
    """What the tests above rely on (fixtures/kit_in_process.py): the same verdicts and details as
    the subprocess a vendor's run starts, and this process's environment, modules, import hooks and
    garbage collector as they were. And what `FAULTS` says of `COMPARED`."""
    shared_sandbox.set_faults("threat_defense", COMPARED)
    try:
        vendors = kit_results(shared_sandbox, tdc_tls.ca_pem, tmp_path / "subprocess", in_process=False)
        before = process_state()
        in_process = kit_results(shared_sandbox, tdc_tls.ca_pem, tmp_path / "in-process")
        after = process_state()
    finally:
        shared_sandbox.set_faults("threat_defense")
    assert (in_process[0], judged(in_process[1])) == (vendors[0], judged(vendors[1]))
    assert after == before
    judged_by_the_table(COMPARED, in_process[0], outcomes_of(in_process[1]))


#: What a listing in the expected-failures file makes of the verdict a rule earned, and back.
EARNED = {"expected-failure": "failed", "unexpected-pass": "passed"}


def test_listed_failures_are_expected_and_a_listed_pass_is_reported(
    shared_sandbox: SandboxFacade, tdc_tls: SandboxTls, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A vendor's expected-failures file (`kit.expected_failures`) turns only the listed rules'
    verdicts, and a run whose every failure is listed passes; each failure keeps the kit's own words
    and traceback. And what `FAULTS` says of `LISTED`'s rules: the verdicts they earned. (Its exit
    status, 1, is what an unlisted failure gives; every other failing fault's run shows that.)"""
    failing = list(FAULTS[LISTED][1])
    listed = [*failing, "8.1-starttls-offered"]
    shared_sandbox.set_faults("threat_defense", LISTED)
    try:
        status, results = kit_results(shared_sandbox, tdc_tls.ca_pem, tmp_path, listed=listed)
    finally:
        shared_sandbox.set_faults("threat_defense")
    rules = {result["rule"]: result for result in results}
    assert {rule: rules[rule]["outcome"] for rule in listed} == {
        **dict.fromkeys(failing, "expected-failure"), "8.1-starttls-offered": "unexpected-pass"}
    assert all("451" in rules[rule]["detail"] for rule in failing)
    # the check's own words and transcript, not pytest's assertion introspection
    assert not any("\nassert " in rules[rule]["detail"] for rule in failing)
    # pytest's output: each failure as Python's traceback, from the kit's own code on
    output = (tmp_path / "bundle" / "pytest-output.txt").read_text(encoding="utf-8")
    first_frames = re.findall(r'Traceback \(most recent call last\):\n  File "(.+?)"', output)
    assert len(first_frames) == len(failing), output
    assert all(frame.startswith(KIT_CODE) for frame in first_frames), output
    assert rules["8.1-starttls-offered"]["expected_reason"] == "ENG-3"
    assert status == 0 and f"{len(failing)} expected-failure, 1 unexpected-pass" in capsys.readouterr().out
    suite = ET.parse(tmp_path / "bundle" / "junit.xml").getroot().findall("testsuite")[0]
    assert (suite.attrib["failures"], suite.attrib["errors"]) == ("0", "0")
    earned = {rule: EARNED.get(outcome, outcome) for rule, outcome in outcomes_of(results).items()}
    assert earned == by_the_table(LISTED)


def test_the_table_covers_every_fault_kind() -> None:
    assert {fault.partition(":")[0] for fault in FAULTS} == set(KINDS)

