"""The processes under measurement: the sinks, Threat Defense alone and `tdcsim sandbox`, each its own.

Design rule: the client runs in the benchmark's process and every server in another, so the two
never share a GIL (on 2 cores the client gets one and the server the other). Every wait is
bounded; `stop` always ends the process (SIGTERM, then SIGKILL) and is called from `finally`.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ServiceError(RuntimeError):
    """A process under measurement did not start or died."""


@dataclass
class Sandbox:
    """A running `tdcsim sandbox` and what its `sandbox.json` says."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    description: dict[str, Any]

    @property
    def inbound(self) -> tuple[str, int]:
        listener = self.description["machines"]["esa1"]["inbound"]
        return str(listener["host"]), int(listener["port"])

    @property
    def listeners(self) -> list[tuple[str, int]]:
        """Every machine's public listener, in the sandbox's order (esa1 first)."""
        return [(str(each["inbound"]["host"]), int(each["inbound"]["port"]))
                for each in self.description["machines"].values()]

    @property
    def pids(self) -> list[int]:
        """The supervisor's and every part's process (one, if the sandbox runs everything in one)."""
        parts = [self.description[name]["pid"] for name in ("threat_defense", "mailbox")]
        parts += [each["pid"] for each in self.description["machines"].values()]
        return list(dict.fromkeys([self.process.pid, *parts]))

    @property
    def machine_pids(self) -> list[int]:
        return [each["pid"] for each in self.description["machines"].values()]

    def check_running(self) -> None:
        """ServiceError if the sandbox has ended (a part died under load): a failure, never hidden."""
        if self.process.poll() is not None:
            error = (self.data_dir / "sandbox.err").read_text(errors="replace").strip()
            raise ServiceError(f"the sandbox ended during the run (exit {self.process.returncode}): "
                               f"{error.splitlines()[-1] if error else '(no output)'}")

    @property
    def intake_address(self) -> str:
        return str(self.description["intake_address"])

    @property
    def local_domain(self) -> str:
        return str(self.description["local_domains"][0])


def start_sink(*arguments: str) -> tuple[subprocess.Popen[bytes], int]:
    """The baseline sink (`python -m bench.sink ARGUMENTS`) and its port."""
    return start_server("bench.sink", "baseline sink", *arguments)


def start_td_alone(data_dir: Path, certificates: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The mock Threat Defense alone (`python -m bench.td_alone`), storing under `data_dir`, and its port."""
    return start_server("bench.td_alone", "Threat Defense alone", "--data-dir", str(data_dir),
                        "--certificates", str(certificates))


def start_server(module: str, name: str, *arguments: str) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m MODULE ARGUMENTS`, a server that prints its port first, and that port."""
    process = subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return process, _read_port(process, name, START_TIMEOUT)
    except BaseException:
        stop(process)
        raise


def _read_port(process: subprocess.Popen[bytes], name: str, timeout: float) -> int:
    """The port the server prints first; ServiceError if it does not come within `timeout` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise ServiceError(f"no port from the {name} after {timeout:.0f}s")
    line = process.stdout.readline().decode().strip()
    if not line.isdecimal():
        process.kill()
        _, error = process.communicate(timeout=STOP_TIMEOUT)
        raise ServiceError(f"{name} did not start: {error.decode(errors='replace')[-500:]}")
    return int(line)


def sandbox_port_options() -> list[str]:
    """`--X-port 0` for every port option `tdcsim sandbox --help` lists (admin too, if it has one)."""
    help_text = subprocess.run([sys.executable, "-m", "simulator.cli", "sandbox", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=START_TIMEOUT, check=True).stdout
    flags = sorted(set(re.findall(r"(--[a-z-]+-port)\b", help_text)))
    return [part for flag in flags for part in (flag, "0")]


def start_sandbox(data_dir: Path, port_options: list[str]) -> Sandbox:
    """`tdcsim sandbox` on port-0 loopback servers, once `sandbox.json` says it listens."""
    command = [sys.executable, "-m", "simulator.cli", "sandbox", "--data-dir", str(data_dir), *port_options]
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "sandbox.out").open("wb") as out, (data_dir / "sandbox.err").open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err)
    try:
        return Sandbox(process, data_dir, _wait_for_description(process, data_dir / "sandbox.json"))
    except BaseException:
        stop(process)
        raise


def _wait_for_description(process: subprocess.Popen[bytes], state_file: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = (state_file.parent / "sandbox.err").read_text(errors="replace").strip()
            raise ServiceError(f"sandbox exited {process.returncode}: {error[-500:] or '(no output)'}")
        if state_file.exists():
            description: dict[str, Any] = json.loads(state_file.read_text())
            return description
        time.sleep(0.05)
    raise ServiceError(f"sandbox wrote no {state_file.name} within {START_TIMEOUT:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not ended in STOP_TIMEOUT seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def rss_kib(pid: int) -> int | None:
    """Resident memory of `pid` in KiB (VmRSS in /proc), None if it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else None


def total_rss_kib(pids: list[int]) -> int | None:
    """The resident memory of every process in `pids`, summed; None if one has gone."""
    each = [rss_kib(pid) for pid in pids]
    return None if None in each else sum(kib for kib in each if kib is not None)


def total_cpu_seconds(pids: list[int]) -> float | None:
    """The CPU time of every process in `pids`, summed; None if one has gone."""
    each = [cpu_seconds(pid) for pid in pids]
    return None if None in each else sum(seconds for seconds in each if seconds is not None)


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time `pid` has used so far (/proc/<pid>/stat), None if it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
