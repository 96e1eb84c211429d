"""The data dir of `tdcsim sandbox`, with real child processes: private to the user, and owned by
one running sandbox (a second exits 2 naming the first one's PID and changes nothing; a lock left
by `kill -9` is taken over)."""

from __future__ import annotations

import contextlib
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures.processes import FREE_PORTS, SandboxProcess
from simulator.core.mail.samples import MessageFactory
from simulator.defaults import mail_log_path
from simulator.testing.smtp_client import send

WAIT = 20.0


def inbound(description: dict[str, Any]) -> tuple[str, int]:
    listener = description["machines"]["esa1"]["inbound"]
    return listener["host"], listener["port"]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        time.sleep(0.05)


def mail_log(data_dir: Path) -> str:
    path = mail_log_path(data_dir, "esa1")
    return path.read_text(encoding="utf-8") if path.exists() else ""


def modes(data_dir: Path) -> dict[str, str]:
    """Every path under `data_dir` (and itself) with its permission bits. A running sandbox removes
    files as it delivers: one gone between the listing and its `lstat` has no mode left to judge."""
    found: dict[str, str] = {}
    for path in [data_dir, *data_dir.rglob("*")]:
        with contextlib.suppress(FileNotFoundError):
            found[str(path.relative_to(data_dir.parent))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def not_private(data_dir: Path) -> dict[str, str]:
    """Folders that are not 0700 and files that are not 0600."""
    return {name: mode for name, mode in modes(data_dir).items()
            if mode != ("0o700" if (data_dir.parent / name).is_dir() else "0o600")}


def test_every_file_and_folder_the_sandbox_writes_is_private(
    tmp_path: Path, tdc_messages: MessageFactory
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)  # made before, readable by all: the sandbox closes it
    with SandboxProcess(data_dir) as sandbox:
        description = sandbox.start()
        assert send(*inbound(description), tdc_messages.message()).accepted
        assert send(*inbound(description), tdc_messages.with_gtube()).accepted  # held in the spool
        wait_until(lambda: "delivered to Cisco Secure Email Threat Defense" in mail_log(data_dir)
                   and any((data_dir / "threat-defense").rglob("*.json"))
                   and any((data_dir / "mailbox").rglob("new/*")), "one message delivered and journaled")
        written = modes(data_dir)
        for expected in ("data/sandbox.json", "data/ca.pem", "data/sandbox.lock", "data/mailbox",
                         "data/threat-defense", "data/machines/esa1/mail_logs/mail.current"):
            assert expected in written
        assert any(name.endswith(".unit") for name in written) and any(".eml" in n for n in written)
        assert not_private(data_dir) == {}
        assert sandbox.stop() == 0, sandbox.stderr()
    assert "data/machines/esa1/spool/counters.json" in modes(data_dir)
    assert not_private(data_dir) == {}


def tdcsim_sandbox(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`tdcsim sandbox` on `data_dir`, run to completion (a second sandbox exits on its own)."""
    return subprocess.run([sys.executable, "-m", "simulator.cli", "sandbox", "--data-dir", str(data_dir),
                           *FREE_PORTS], capture_output=True, text=True, timeout=60, check=False)


def snapshot(data_dir: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, modification time and mode; every folder's mode."""
    return {str(path): (b"" if path.is_dir() else path.read_bytes(), path.stat().st_mtime_ns,
                        path.stat().st_mode) for path in [data_dir, *sorted(data_dir.rglob("*"))]}


#: How long `settled` wants `data_dir` unchanged once every delivery connection has logged its close:
#: what the sandbox still writes then is the spool's file work handed off the event loop (a state file,
#: a removal), done within milliseconds; the rest of this bound is room for a loaded machine.
QUIET = 0.2
DCID_RE = re.compile(r"\bDCID (\d+) close$|New SMTP DCID (\d+) ", re.MULTILINE)


def connections_closed(data_dir: Path) -> bool:
    """Whether every delivery connection the mail log opened has logged its close (a connection
    lingers up to `LINGER` after its last message for another one before it closes)."""
    found = DCID_RE.findall(mail_log(data_dir))
    opened, closed = {new for _, new in found if new}, {close for close, _ in found if close}
    return bool(opened) and opened <= closed


def settled(data_dir: Path) -> dict[str, tuple[bytes, int, int]]:
    """The snapshot of `data_dir` once the sandbox has stopped writing to it: every delivery
    connection closed (the last thing it logs; `LINGER` after its last delivery), then unchanged for
    `QUIET`. Waiting too little only ever makes the test fail (the first sandbox's write looks like
    the second's), never pass."""
    wait_until(lambda: connections_closed(data_dir), "every delivery connection closed")
    previous: dict[str, tuple[bytes, int, int]] = {}
    deadline = time.monotonic() + WAIT
    while (current := snapshot(data_dir)) != previous:
        assert time.monotonic() < deadline, f"{data_dir} still changing after {WAIT} s"
        previous = current
        time.sleep(QUIET)
    return current


@pytest.mark.bad_input
def test_a_second_sandbox_on_a_data_dir_in_use_exits_2_naming_the_pid_and_touches_nothing(
    tmp_path: Path, tdc_messages: MessageFactory
) -> None:
    data_dir = tmp_path / "data"
    with SandboxProcess(data_dir, "--td-fault", "down") as first:
        description = first.start()
        assert first.process is not None
        assert send(*inbound(description), tdc_messages.message()).accepted
        wait_until(lambda: any(data_dir.rglob("spool/queue/*.state")) and any(data_dir.rglob("new/*")),
                   "the original delivered, its copy deferred in the spool")
        before = settled(data_dir)
        second = tdcsim_sandbox(data_dir)
        assert second.returncode == 2, second.stderr
        (line,) = second.stderr.splitlines()
        assert re.fullmatch(rf"tdcsim: data dir {re.escape(str(data_dir))} is in use by the sandbox "
                            rf"with PID {first.process.pid}", line), line
        assert second.stdout == "" and "Traceback" not in second.stderr
        assert snapshot(data_dir) == before  # no ca.pem, no sandbox.json, no spool taken or delivered
        assert send(*inbound(description), tdc_messages.message()).accepted  # the first runs on
        assert first.stop() == 0, first.stderr()
    assert not (data_dir / "sandbox.json").exists()


def test_a_lock_left_by_kill_9_is_taken_over(tmp_path: Path, tdc_messages: MessageFactory) -> None:
    """The lock is the process's that claimed the data dir (its parts', forked from a fork server it
    executed, never hold it): the killed one runs in one process, the one taking over as appliances."""
    data_dir = tmp_path / "data"
    with SandboxProcess(data_dir, "--one-process") as first:
        first.start()
        first.kill()
    assert (data_dir / "sandbox.json").exists()  # what the killed one left
    with SandboxProcess(data_dir) as second:
        description = second.start()
        assert second.process is not None
        assert (data_dir / "sandbox.lock").read_text() == f"{second.process.pid}\n"
        assert send(*inbound(description), tdc_messages.message()).accepted
        assert second.stop() == 0, second.stderr()
