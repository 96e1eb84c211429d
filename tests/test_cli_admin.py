"""The operator CLI (issue 4 item 4): `tdcsim tdc|commit|clear|policy|routes|dns|status|tophosts|tail|faults`
against a sandbox running in the test process, found through `--data-dir`: its `main` run in this process
(an interpreter per command cost seconds a test), the script itself where it matters (a terminal, a port
in use)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pty
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.core.mail.samples import MessageFactory
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import CliRun, SandboxFacade, run_tdcsim
from simulator.testing.smtp_client import send

INTAKE = "sandbox-tenant@intake.threatdefense.test"
SECOND_TENANT = "second-tenant@intake.threatdefense.test"
COMMITTED = re.compile(r"Changes committed: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}")


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """Two machines, the connector disabled: the seed's starting point."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False, machines=2)


@pytest.fixture
def data_dir(tdc_sandbox: SandboxFacade) -> Path:
    """The running sandbox's data dir, with its sandbox.json as `tdcsim sandbox` writes it."""
    return tdc_sandbox.data_dir


def tdcsim(data_dir: Path, *args: str) -> CliRun:
    """Run the CLI's `main` in this process, as a script does: stdin is not a terminal under pytest, so
    nothing is asked. (The installed script itself, a subprocess, is tested in test_cli.py and below.)"""
    return run_tdcsim(*args, "--data-dir", str(data_dir))


def ok(data_dir: Path, *args: str) -> str:
    result = tdcsim(data_dir, *args)
    assert result.status == 0 and result.stderr == "", result.stderr
    return result.stdout


def refused(data_dir: Path, *args: str, status: int = 2) -> str:
    """The one line a refused command prints on stderr."""
    result = tdcsim(data_dir, *args)
    assert result.status == status, (result.stdout, result.stderr)
    (line,) = result.stderr.splitlines()
    assert result.stdout == "" and "Traceback" not in line
    return line


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def test_the_seed_enable_procedure_then_the_machine_disable_rule(
    data_dir: Path, tdc_sandbox: SandboxFacade
) -> None:
    shown = ok(data_dir, "tdc", "show")
    assert ["esa1", "Main_Group", "disabled", "cluster", INTAKE, "cluster"] in rows(shown)
    assert "pending until commit" in ok(data_dir, "tdc", "enable", "--address", INTAKE)
    shown = ok(data_dir, "tdc", "show")
    assert "Pending, not running until committed:" in shown and "tdcsim commit" in shown
    assert tdc_sandbox.config.connector.enabled is False
    assert COMMITTED.fullmatch(ok(data_dir, "commit", "--comment", "enable TDC").strip())
    assert all(machine.holder.current.connector.enabled for machine in tdc_sandbox.sandbox.machines.values())
    assert ok(data_dir, "commit") == "There is no data to commit.\n"

    disabled = ok(data_dir, "tdc", "disable", "--level", "machine:esa2")
    assert "also at group:Main_Group, cluster" in disabled
    ok(data_dir, "commit")
    table = rows(ok(data_dir, "tdc", "show"))
    assert ["esa1", "Main_Group", "disabled", "group:Main_Group", INTAKE, "cluster"] in table
    assert ["esa2", "Main_Group", "disabled", "machine:esa2", INTAKE, "cluster"] in table


@pytest.mark.bad_input
@pytest.mark.parametrize(("address", "reason"), [
    ("", "is empty"), ("a@example.test,b@example.test", "not several"), ("a b@example.test", "spaces"),
    ("tenant\r\n@intake.example.test", "line break"), ("tenant", "not a local@domain"),
])
def test_an_invalid_address_is_one_line_exit_2_and_nothing_pending(
    data_dir: Path, tdc_sandbox: SandboxFacade, address: str, reason: str
) -> None:
    assert reason in refused(data_dir, "tdc", "enable", "--address", address)
    assert tdc_sandbox.store.pending is None


@pytest.mark.bad_input
@pytest.mark.parametrize(("args", "named"), [
    (("tdc", "disable", "--level", "group:Sales"), "'Sales'"),
    (("tdc", "disable", "--level", "galaxy"), "'galaxy'"),
    (("policy", "set", "SALES", "--mode", "no-scan"), "'SALES'"),
    (("policy", "set", "DEFAULT", "--mode", "custom", "--address", SECOND_TENANT), "enabled globally"),
    (("tophosts",), "machine mode only"),
    (("tophosts", "--machine", "esa9"), "'esa9'"),
    (("tail", "--lines", "0"), "--lines"),
    (("faults", "set", "threat_defense", "bogus"), "valid kinds"),
])
def test_refused_input_is_one_line_naming_it(data_dir: Path, args: tuple[str, ...], named: str) -> None:
    assert named in refused(data_dir, *args)


@pytest.mark.bad_input
def test_no_sandbox_running_there_is_exit_1(tmp_path: Path) -> None:
    assert "no sandbox is running" in refused(tmp_path, "tdc", "show", status=1)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    (tmp_path / "sandbox.json").write_text(json.dumps({"admin": {"url": f"http://127.0.0.1:{port}",
                                                                 "token": "x"}}))
    assert f"127.0.0.1:{port}" in refused(tmp_path, "commit", status=1)


@pytest.mark.bad_input
def test_a_stale_token_is_exit_1(data_dir: Path) -> None:
    state = json.loads((data_dir / "sandbox.json").read_text())
    state["admin"]["token"] = "stale"
    (data_dir / "sandbox.json").write_text(json.dumps(state))
    assert "token is wrong" in refused(data_dir, "tdc", "show", status=1)


def test_policies_routes_and_clear(data_dir: Path, tdc_sandbox: SandboxFacade) -> None:
    listed = ok(data_dir, "policy", "list")
    assert ["esa2", "DEFAULT", "(everyone)", "default", "-", "default"] in rows(listed)
    ok(data_dir, "tdc", "enable", "--address", INTAKE)
    ok(data_dir, "policy", "set", "DEFAULT", "--mode", "custom", "--address", SECOND_TENANT)
    assert ["esa1", "DEFAULT", "(everyone)", "custom", SECOND_TENANT, "cluster"] in rows(
        ok(data_dir, "policy", "list"))
    ok(data_dir, "routes", "add", "ALL", "127.0.0.1:2600", "127.0.0.1:2601:5")
    ok(data_dir, "routes", "add", "intake.threatdefense.test", "USEDNS", "--level", "group:Main_Group")
    listed = ok(data_dir, "routes", "list", "--level", "machine:esa1")
    assert "set at group:Main_Group" in listed and ["intake.threatdefense.test", "USEDNS"] in rows(listed)
    assert "uncommitted changes" in listed
    assert "none: every domain is delivered by DNS" in ok(data_dir, "routes", "list", "--committed")
    ok(data_dir, "routes", "delete", "ALL")
    assert "no route for 'ALL'" in refused(data_dir, "routes", "delete", "ALL")
    assert ok(data_dir, "clear") == "Pending changes discarded.\n"
    assert tdc_sandbox.store.pending is None and tdc_sandbox.config.routes == ()


def test_dns_set_and_list(data_dir: Path) -> None:
    ok(data_dir, "dns", "set", "partner.test", "127.0.0.1:2700:5")
    assert ["partner.test", "5", "127.0.0.1", "2700"] in rows(ok(data_dir, "dns", "list"))


def test_status_tophosts_and_tail(
    data_dir: Path, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    ok(data_dir, "tdc", "enable", "--address", INTAKE)
    ok(data_dir, "commit")
    assert send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message()).accepted
    tdc_sandbox.settle()
    status = ok(data_dir, "status", "--machine", "esa1")
    assert status.startswith("esa1:\nDestination") and "Hard Bounced Recipients" in status
    assert ["the.tdc.queue", "0", "0", "1", "0", "0"] in rows(status)
    assert "esa2:" in ok(data_dir, "status")
    top = ok(data_dir, "tophosts", "--machine", "esa1", "--sort", "delivered").splitlines()
    assert top[0].startswith("Status as of: ") and top[1].startswith("Hosts marked with '*'")
    assert top[3].split() == ["#", "Recipient", "Host", "Active", "Recip.", "Conn.", "Out", "Deliv.",
                              "Recip.", "Soft", "Bounced", "Hard", "Bounced"]
    assert {line.split()[1] for line in top[4:]} == {"example.com", "the.tdc.queue"}
    tail = ok(data_dir, "tail", "--machine", "esa1", "--lines", "2").splitlines()
    assert tail == [str(line) for line in tdc_sandbox.mail_log.lines()[-2:]]


def test_faults_set_show_clear(data_dir: Path, tdc_sandbox: SandboxFacade) -> None:
    assert "threat_defense: down, fail-next:2" in ok(data_dir, "faults", "set", "threat_defense", "down",
                                                     "fail-next:2")
    endpoint = tdc_sandbox.sandbox.threat_defense_server
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((endpoint.host, endpoint.port), timeout=10)
    assert "mailbox: no faults" in ok(data_dir, "faults", "show")
    assert "threat_defense: no faults" in ok(data_dir, "faults", "clear", "threat_defense")
    socket.create_connection((endpoint.host, endpoint.port), timeout=10).close()  # listening again


@pytest.mark.bad_input
@pytest.mark.parametrize(("busy", "named"), [("--admin-port", "admin API on"),
                                             ("--console-port", "cannot start console on")])
def test_a_busy_http_port_stops_the_sandbox_in_one_line(tmp_path: Path, busy: str, named: str) -> None:
    free = [option for flag in ("--inbound-port", "--relay-port", "--td-port", "--mailbox-port",
                                "--admin-port", "--console-port") if flag != busy for option in (flag, "0")]
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "simulator.cli", "sandbox", "--data-dir", str(tmp_path / "data"),
             *free, busy, str(port)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert f"{named} 127.0.0.1:{port}" in line
    assert not (tmp_path / "data" / "sandbox.json").exists()


def test_quarantine_list_and_release(
    data_dir: Path, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mid = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.with_gtube()).mid
    tdc_sandbox.settle()
    listed = rows(ok(data_dir, "quarantine", "list"))
    assert listed[1][:3] == [str(mid), "Spam", "Quarantine"]
    assert ok(data_dir, "quarantine", "release", str(mid)).strip() == (
        f'Message {mid} released from quarantine "Spam Quarantine".')
    assert f"no message {mid} in a quarantine" in refused(data_dir, "quarantine", "release", str(mid))


def on_a_terminal(data_dir: Path, *args: str, typed: bytes) -> str:
    """Run the CLI with a pseudo-terminal as stdin and stdout, type `typed`; everything it printed."""
    leader, follower = pty.openpty()
    with subprocess.Popen([sys.executable, "-m", "simulator.cli", *args, "--data-dir", str(data_dir)],
                          stdin=follower, stdout=follower, stderr=follower) as process:
        os.close(follower)
        os.write(leader, typed)
        printed = b""
        with contextlib.suppress(OSError):  # EIO: the CLI exited and closed the terminal
            while chunk := os.read(leader, 4096):
                printed += chunk
        assert process.wait(timeout=60) == 0, printed
    os.close(leader)
    return printed.decode().replace("\r\n", "\n")


def test_commit_on_a_terminal_asks_for_the_comment(data_dir: Path) -> None:
    ok(data_dir, "tdc", "enable", "--address", INTAKE)
    printed = on_a_terminal(data_dir, "commit", typed=b"enable TDC for the pilot\n")
    assert "Please enter some comments describing your changes:\n[]> " in printed
    assert COMMITTED.search(printed)
    assert "enable TDC for the pilot" in ok(data_dir, "commits").splitlines()[1]


def test_commit_in_a_script_asks_nothing(data_dir: Path) -> None:
    ok(data_dir, "tdc", "enable", "--address", INTAKE)
    printed = ok(data_dir, "commit")
    assert COMMITTED.fullmatch(printed.strip()) and "comments" not in printed
    assert rows(ok(data_dir, "commits"))[1][-1] == "-"


def test_commits_lists_the_history_with_time_and_comment(data_dir: Path) -> None:
    assert ok(data_dir, "commits") == "There are no commits yet.\n"
    ok(data_dir, "tdc", "enable", "--address", INTAKE)
    ok(data_dir, "commit", "--comment", "enable TDC")
    ok(data_dir, "tdc", "disable", "--level", "machine:esa2")
    ok(data_dir, "commit", "--comment", "esa2 in maintenance")
    lines = ok(data_dir, "commits").splitlines()
    assert lines[0].split() == ["#", "Committed", "at", "Comment"] and len(lines) == 3
    assert re.fullmatch(r"1  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}  enable TDC", lines[1])
    assert lines[2].startswith("2  ") and lines[2].endswith("  esa2 in maintenance")


def test_diff_shows_the_pending_changes_per_level_and_key(data_dir: Path) -> None:
    assert ok(data_dir, "diff") == "There are no pending changes.\n"
    ok(data_dir, "tdc", "enable", "--address", INTAKE, "--level", "group:Main_Group")
    ok(data_dir, "routes", "add", "ALL", "127.0.0.1:2528")
    text = ok(data_dir, "diff")
    assert "cluster  routes\n  - (not set at this level)\n  + " in text and "127.0.0.1" in text
    assert "group:Main_Group  tdc.enabled\n  - (not set at this level)\n  + true\n" in text
    assert f'group:Main_Group  tdc.intake_address\n  - (not set at this level)\n  + "{INTAKE}"\n' in text
    assert text.index("cluster  routes") < text.index("group:Main_Group")
    ok(data_dir, "clear")
    assert ok(data_dir, "diff") == "There are no pending changes.\n"
