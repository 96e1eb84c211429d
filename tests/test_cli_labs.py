"""`tdcsim labs list|check NAME|start NAME` (issue 12 point 2) against a running sandbox, through its
admin API: the same checks as the API and the console; `check` exits 0 when the lab is done and 1 when
not; an unknown lab exits 2 with one line that names the closest lab; no sandbox exits 1."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from simulator.cli.main import main
from simulator.core.mail.samples import MessageFactory
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

TENANT = "sandbox-tenant@intake.threatdefense.test"


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector starts disabled, as before the chapter's first procedure."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False)


def test_list_shows_every_lab_and_its_status(tdc_sandbox: SandboxFacade) -> None:
    run = tdc_sandbox.tdcsim("labs", "list")
    assert (run.status, run.stderr) == (0, "")
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["#", "Lab", "Status", "Title"]
    assert [line.split()[1] for line in lines[1:]] == [
        "enable-connector", "machine-disable", "custom-intake", "tls-error", "catch-all-route"]
    assert all("not done" in line for line in lines[1:])


def test_check_exits_1_until_the_lab_is_done_then_0(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    run = tdc_sandbox.tdcsim("labs", "check", "enable-connector")
    assert run.status == 1 and run.stderr == ""
    assert run.stdout.splitlines()[0] == ("Lab 1: enable-connector - Enable the Threat Defense Connector and "
                                          "see a journal arrive: not done")
    assert "  [ ] The connector is enabled at cluster level" in run.stdout
    assert "      not done: the connector is disabled at cluster level" in run.stdout
    assert tdc_sandbox.tdcsim("tdc", "enable", "--address", TENANT).status == 0
    assert tdc_sandbox.tdcsim("commit", "--comment", "lab 1").status == 0
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    run = tdc_sandbox.tdcsim("labs", "check", "enable-connector")
    assert run.status == 0, run.stdout
    assert run.stdout.splitlines()[0].endswith(": done")
    api = tdc_sandbox.admin_client().get("/labs/enable-connector")
    assert [check["reason"] for check in api["checks"]] == [
        line.strip() for line in run.stdout.splitlines()[2::2]]  # the API's words, line for line


def test_an_unknown_lab_is_exit_2_with_one_line_naming_the_closest(tdc_sandbox: SandboxFacade) -> None:
    for command in ("check", "start"):
        run = tdc_sandbox.tdcsim("labs", command, "tls")
        assert (run.status, run.stdout) == (2, "")
        assert run.stderr.count("\n") == 1 and "did you mean 'tls-error'?" in run.stderr


def test_start_sets_the_lab_up_and_prints_its_checks(tdc_sandbox: SandboxFacade) -> None:
    run = tdc_sandbox.tdcsim("labs", "start", "tls-error")
    assert run.status == 0
    assert run.stdout.startswith("Lab tls-error started: the connector enabled at cluster level with the "
                                 "tenant's intake address; threat_defense scripted with untrusted-cert.\n")
    assert "not done: Threat Defense is still scripted with untrusted-cert" in run.stdout
    assert tdc_sandbox.admin_client().get("/faults")["threat_defense"] == ["untrusted-cert"]


def test_start_while_changes_are_pending_is_exit_2_and_changes_nothing(tdc_sandbox: SandboxFacade) -> None:
    tdc_sandbox.tdcsim("tdc", "enable", "--address", TENANT)
    run = tdc_sandbox.tdcsim("labs", "start", "catch-all-route")
    assert run.status == 2 and "there are uncommitted changes" in run.stderr
    assert tdc_sandbox.admin_client().get("/commits")["commits"] == []


def test_no_sandbox_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["labs", "list", "--data-dir", str(tmp_path)]) == 1
    assert "no sandbox is running" in capsys.readouterr().err


def test_labs_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["labs"])
    assert exit_.value.code == 2 and "list, check, start" in capsys.readouterr().err
