"""Each scripted fault of the mock Threat Defense (simulator/endpoints/faults.py) makes exactly the
matching checks of the endpoint kit fail: a real kit run (`tdcsim conform endpoint`) per fault kind,
against one sandbox whose faults are switched between runs, judged from the bundle's results.json.
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
- delay:0.01: no rule of §8 bounds an endpoint's speed; a delay within the connector's timeout fails
  nothing.
- fail-next:1: a `451` at MAIL, then acceptance, is what §8.9 asks of a temporary failure: the
  first check to send MAIL (8.1-starttls-required) meets it and tries again (2 attempts here: the
  run's `attempts`); nothing fails.
- down: the target takes no connection: the run stops before any check, exit status 2, every rule
  not run (the bundle records why).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.cli.main import main as tdcsim
from simulator.conformance.expected import kit_rules
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
    "delay:0.01": (0, {}),
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


def kit_run(sandbox: SandboxFacade, ca_pem: bytes, folder: Path) -> tuple[int, dict[str, str]]:
    """`tdcsim conform endpoint` at the sandbox's Threat Defense: exit status, {rule: outcome}."""
    host, port = sandbox.listener_address("threat_defense")
    (folder / "ca.pem").write_bytes(ca_pem)
    (folder / "conform.toml").write_text(
        f'[endpoint]\ntarget = "{host}:{port}"\nserver_name = "{TD_HOSTNAME}"\nca = "ca.pem"\n'
        "attempts = 2\nretry_wait = 0.05\n", encoding="utf-8")
    status = tdcsim(["conform", "endpoint", "--config", str(folder / "conform.toml"),
                     "--output", str(folder / "bundle")])
    results = json.loads((folder / "bundle" / "results.json").read_text(encoding="utf-8"))
    return status, {result["rule"]: result["outcome"] for result in results["rules"]}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_fails_exactly_its_rules(
    shared_sandbox: SandboxFacade, tdc_tls: SandboxTls, tmp_path: Path, fault: str
) -> None:
    shared_sandbox.set_faults("threat_defense", fault)
    try:
        status, outcomes = kit_run(shared_sandbox, tdc_tls.ca_pem, tmp_path)
    finally:
        shared_sandbox.set_faults("threat_defense")
    expected_status, not_passing = FAULTS[fault]
    assert outcomes == {rule: not_passing.get(rule, "passed") for rule in ALL_RULES}
    assert status == expected_status


def test_the_table_covers_every_fault_kind() -> None:
    assert {fault.partition(":")[0] for fault in FAULTS} == set(KINDS)
