"""The test facade drives both ways a sandbox runs through the same operations (`testing.control`):
the in-process `Sandbox` the fixtures use, and `ProcessSandbox`, one process per machine and endpoint."""

from __future__ import annotations

import json
import os
import re

import pytest

from fixtures.console_client import ConsoleClient
from simulator.console.portal import messages_path
from simulator.console.render import PORTAL_PATH
from simulator.core.mail.samples import MessageFactory
from simulator.defaults import state_file
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, running
from simulator.transport.tls import SandboxTls

TENANT = "sandbox-tenant@intake.threatdefense.test"
RECEIVED = "Threat Defense received the journal of message"
MODES = pytest.mark.parametrize("processes", [False, True], ids=["in-process", "processes"])


def part_pids(facade: SandboxFacade) -> set[int]:
    """The process of each machine and each endpoint, as `sandbox.json` names them."""
    facade.write_sandbox_json()
    described = json.loads(state_file(facade.data_dir).read_text(encoding="utf-8"))
    machines = {each["pid"] for each in described["machines"].values()}
    return machines | {described["threat_defense"]["pid"], described["mailbox"]["pid"]}


@MODES
def test_the_parts_run_where_the_mode_says(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, processes: bool
) -> None:
    with running(tdc_sandbox_settings, tdc_tls, processes=processes) as facade:
        pids = part_pids(facade)
    if processes:
        assert len(pids) == 3 and os.getpid() not in pids, pids
    else:
        assert pids == {os.getpid()}


def test_the_in_process_objects_say_they_need_the_in_process_sandbox(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls
) -> None:
    with running(tdc_sandbox_settings, tdc_tls, processes=True) as facade:
        for reach in (lambda: facade.sandbox, lambda: facade.machine, lambda: facade.store,
                      lambda: facade.machine_named("esa1")):
            with pytest.raises(AssertionError, match="needs the in-process sandbox"):
                reach()


@MODES
def test_what_the_parts_recorded_outlives_the_sandbox_for_the_failure_report(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory,
    processes: bool,
) -> None:
    with running(tdc_sandbox_settings, tdc_tls, processes=processes) as facade:
        mid = facade.send_accepted(tdc_messages.message())
        facade.mail_log.wait_for(r"TDC: Message \d+ delivered to Cisco Secure Email Threat Defense")
        facade.settle()
    report = facade.report()
    assert f"Start MID {mid} ICID" in report, report
    assert "--- Threat Defense journals ---\nJournalRecord(" in report, report
    assert "--- mailbox deliveries ---\nMailboxDelivery(" in report, report
    assert facade.unexpected_warnings() == [] and facade.malformed_log_lines() == []


def test_waiting_for_a_line_that_never_comes_names_it(tdc_sandbox: SandboxFacade) -> None:
    with pytest.raises(TimeoutError, match=r"waiting for 1 mail-log line\(s\) matching 'never logged'"):
        tdc_sandbox.mail_log.wait_for("never logged", timeout=0.01)


@MODES
def test_the_operators_bounded_reads_answer_alike_in_both_modes(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory,
    processes: bool,
) -> None:
    """The admin API's log since a line, the portal's page and journal and a lab's check read only what
    they show, from Threat Defense's and the machine's process too."""
    with running(tdc_sandbox_settings, tdc_tls, processes=processes) as facade:
        admin = facade.admin_client()
        first = delivered_with_copy(facade, tdc_messages)
        lab = admin.get("/labs/enable-connector")
        assert lab["checks"][1]["reason"].startswith(f"done: {RECEIVED} {first} ")
        read = admin.get("/log", lines=1)["last"]
        second = delivered_with_copy(facade, tdc_messages)
        newer = admin.get("/log", since=read, lines=10_000)
        assert newer["lines"] == [str(line) for line in facade.mail_log.lines() if line.number > read]
        lab = admin.get("/labs/enable-connector")  # only the new journal crossed, same answer as all would
        assert lab["checks"][1]["reason"].startswith(f"done: {RECEIVED} {second} ")

        browser = ConsoleClient(facade.console_url)
        assert browser.log_in(facade.console_password).status == 200
        listed = browser.go("GET", messages_path(TENANT))
        assert re.findall(r'<tr id="journal-(\d+)"', listed.text) == ["2", "1"]
        assert browser.go("GET", PORTAL_PATH).status == 200
        assert "2 journals received" in browser.go("GET", PORTAL_PATH).text
        assert browser.go("GET", f"{messages_path(TENANT)}/1").status == 200
        assert browser.go("GET", f"{messages_path(TENANT)}/3").status == 404
        assert browser.go("GET", f"{messages_path(TENANT)}?page=2").status == 404


def delivered_with_copy(facade: SandboxFacade, messages: MessageFactory) -> int:
    """Send a message and wait until its copy is at Threat Defense; its MID."""
    mid = facade.send_accepted(messages.message())
    facade.mail_log.wait_for(rf"^TDC: Message \d+ created from message {mid} ")
    facade.settle()
    return mid
