"""`tdcsim` from the outside: one-line usage errors, message tracking, the version. (`tdcsim sandbox`'s
start, stop on a signal and start failures, with every part it runs: test_appliances.py.)

A usage error is answered by `main` before anything starts, so most commands here run `main` in this
process (`run_tdcsim`): an interpreter per command would prove nothing more and cost ~0.15 s of CPU
each. The installed script itself runs where it is the subject: the version, and a pipe closed early.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import __version__
from simulator.cli.main import build_parser
from simulator.cli.tables import policies_table
from simulator.testing.harness import CliRun, run_tdcsim


def tdcsim(*args: str) -> CliRun:
    """`tdcsim ARGS` run to completion in this process (usage errors exit on their own)."""
    return run_tdcsim(*args)


def tdcsim_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed `tdcsim` itself (`python -m simulator.cli`), run to completion."""
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        capture_output=True, text=True, timeout=60, cwd=cwd, check=False,
    )


@pytest.mark.bad_input
def test_an_unknown_option_is_one_line_naming_it() -> None:
    result = tdcsim("sandbox", "--bogus")
    assert result.status == 2
    assert len(result.stderr.splitlines()) == 1
    assert "--bogus" in result.stderr
    assert result.stdout == ""


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["99999", "-1", "smtp"])
def test_a_bad_port_is_one_line_naming_it(value: str) -> None:
    result = tdcsim("sandbox", "--inbound-port", value)
    assert result.status == 2
    assert len(result.stderr.splitlines()) == 1
    assert "--inbound-port" in result.stderr and value in result.stderr


@pytest.mark.bad_input
def test_a_missing_command_is_one_line() -> None:
    result = tdcsim()
    assert result.status == 2
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["bogus", "reply:RCPT", "fail-next:0", "delay:soon", "down:now"])
def test_a_bad_fault_is_one_line_listing_the_valid_kinds(tmp_path: Path, value: str) -> None:
    result = tdcsim("sandbox", "--td-fault", value, "--data-dir", str(tmp_path))
    assert result.status == 2
    (line,) = result.stderr.splitlines()
    assert value in line and "valid kinds: no-starttls" in line and "fail-next:N" in line


def test_tracking_prints_one_messages_history(tmp_path: Path) -> None:
    log = tmp_path / "data" / "machines" / "esa1" / "mail_logs" / "mail.current"
    log.parent.mkdir(parents=True)
    log.write_text(
        "Wed Aug 17 05:52:01 2022 Info: Start MID 3 ICID 3\n"
        "Wed Aug 17 05:52:01 2022 Info: MID 3 ICID 3 RID 0 To: <bob@example.com>\n"
        "Wed Aug 17 05:52:02 2022 Info: MID 3 queued for delivery\n"
        "Wed Aug 17 05:52:02 2022 Info: TDC: Message 4 created from message 3 for i@td.test.\n"
        "Wed Aug 17 05:52:04 2022 Info: TDC: Message 4 delivery failed to Cisco Secure Email "
        "Threat Defense: TLS Error.\n"
        "Wed Aug 17 05:52:05 2022 Info: MID 33 queued for delivery\n"
    )
    result = tdcsim("tracking", "--data-dir", str(tmp_path / "data"), "3")
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "17 Aug 2022 05:52:02 (GMT +00:00) Message 3 queued for delivery." in lines
    assert lines[-1] == ("17 Aug 2022 05:52:04 (GMT +00:00) TDC: Message 4 delivery failed to "
                         "Cisco Secure Email Threat Defense: TLS Error.")
    assert not any("33" in line for line in lines)


@pytest.mark.bad_input
@pytest.mark.parametrize(("mid", "expected"), [("42", "no message 42 in"), ("x1", "not a message ID")])
def test_tracking_an_unknown_or_bad_mid_is_one_line(tmp_path: Path, mid: str, expected: str) -> None:
    log = tmp_path / "machines" / "esa1" / "mail_logs" / "mail.current"
    log.parent.mkdir(parents=True)
    log.write_text("Wed Aug 17 05:52:02 2022 Info: MID 3 queued for delivery\n")
    result = tdcsim("tracking", "--data-dir", str(tmp_path), mid)
    assert result.status == 2
    (line,) = result.stderr.splitlines()
    assert expected in line


def test_version_is_the_packages(tmp_path: Path) -> None:
    result = tdcsim_script("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"tdcsim {__version__}\n", "")
    assert __version__ == importlib.metadata.version("tdc-simulator")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """`parser`'s sub-commands by name, read from argparse's private sub-parsers action."""
    assert parser._subparsers is not None, f"{parser.prog} has no sub-commands"
    [action] = [action for action in parser._subparsers._group_actions
                if isinstance(action, argparse._SubParsersAction)]
    return action.choices


def command_groups() -> list[tuple[str, ...]]:
    """`()` (tdcsim itself) and every command that has sub-commands, with their names."""
    commands = subcommands(build_parser())
    return [(), *[(name,) for name, parser in commands.items() if parser._subparsers is not None]]


@pytest.mark.bad_input
@pytest.mark.parametrize("group", command_groups(), ids=lambda group: " ".join(("tdcsim", *group)))
def test_a_command_group_alone_is_one_line_naming_its_commands(group: tuple[str, ...]) -> None:
    parser: argparse.ArgumentParser = build_parser()
    for name in group:
        parser = subcommands(parser)[name]
    names = list(subcommands(parser))
    result = tdcsim(*group)
    assert result.status == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "_command" not in line and "required" not in line
    assert f"a command is needed: {', '.join(names)}" in line


def test_policy_list_shows_long_cells_whole() -> None:
    recipients = [f"someone-with-a-long-name-{n}@a-rather-long-subdomain.example.com" for n in range(12)]
    intake = "tenant-" + "x" * 80 + "@intake.threatdefense.test"
    policy = {"name": "P" * 60, "recipients": recipients, "tdc": "custom", "tdc_intake": intake}
    table = policies_table({"machines": {"esa1": {"level": "cluster", "policies": [policy]}}})
    assert ", ".join(recipients) in table and intake in table and "P" * 60 in table


@pytest.mark.bad_input
def test_machines_with_a_config_file_is_one_line_naming_machines(tmp_path: Path) -> None:
    config = tmp_path / "f.toml"
    config.write_text("")
    data_dir = str(tmp_path / "data")
    result = tdcsim("sandbox", "--config", str(config), "--machines", "2", "--data-dir", data_dir)
    assert result.status == 2
    (line,) = result.stderr.splitlines()
    assert "--machines" in line
    assert not (tmp_path / "data" / "sandbox.json").exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("count", ["0", "21"])
def test_a_machine_count_out_of_range_is_a_usage_error(count: str) -> None:
    result = tdcsim("sandbox", "--machines", count)
    assert result.status == 2
    (line,) = result.stderr.splitlines()
    assert "--machines" in line and f"not a number of machines from 1 to 20: '{count}'" in line
    assert result.stdout == ""


def test_tracking_into_a_pipe_closed_early_exits_quietly(tmp_path: Path) -> None:
    log = tmp_path / "machines" / "esa1" / "mail_logs" / "mail.current"
    log.parent.mkdir(parents=True)
    # far more history than a pipe buffers, so the reader's early close lands mid-write
    log.write_text("Wed Aug 17 05:52:02 2022 Info: MID 3 queued for delivery\n" * 20_000)
    with subprocess.Popen(  # `tdcsim tracking 3 | head -1`
        [sys.executable, "-m", "simulator.cli", "tracking", "--data-dir", str(tmp_path), "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        first = reader.stdout.readline()
        reader.stdout.close()
        stderr = reader.stderr.read()
        assert reader.wait(timeout=60) == 0
    assert first == b"17 Aug 2022 05:52:02 (GMT +00:00) Message 3 queued for delivery.\n"
    assert stderr == b""
