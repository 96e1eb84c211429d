"""Start-up time (issue 13 item 4): `tdcsim sandbox` and a fixture sandbox, p50 over N starts each.

Design rule: what a user waits for. For `tdcsim sandbox`: from spawning the process to its
`sandbox.json` (written once every server listens), polled every millisecond; the process is then
stopped, outside the timing. For a fixture sandbox: what the pytest fixture does before a test runs
(`SimulatorThread.start`: build, bind every port, start the event loop thread), in this process, with
the session's certificates already issued, as under pytest; its stop is outside the timing too. Every
start has a data dir of its own, removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trustme

from bench.processes import ROOT, START_TIMEOUT, ServiceError, sandbox_port_options, stop
from bench.report import percentiles
from simulator.core.clock import ManualClock
from simulator.sandbox import SandboxSettings
from simulator.testing.runner import SimulatorThread
from simulator.transport.tls import SERVER_NAMES, SandboxTls

DEFAULT_STARTS = 20
POLL = 0.001


def sandbox_start_ms(data_dir: Path, port_options: list[str]) -> float:
    """Milliseconds from spawning `tdcsim sandbox` to its `sandbox.json`."""
    command = [sys.executable, "-m", "simulator.cli", "sandbox", "--data-dir", str(data_dir), *port_options]
    state = data_dir / "sandbox.json"
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not state.exists():
            if process.poll() is not None:
                raise ServiceError(f"sandbox exited {process.returncode} before writing {state.name}")
            if time.perf_counter() - began > START_TIMEOUT:
                raise ServiceError(f"sandbox wrote no {state.name} within {START_TIMEOUT:.0f}s")
            time.sleep(POLL)
        took = (time.perf_counter() - began) * 1000
        json.loads(state.read_text())  # whole: it is written by rename
        return took
    finally:
        stop(process)


def fixture_start_ms(data_dir: Path, tls: SandboxTls) -> float:
    """Milliseconds for what `tdc_sandbox` does before a test: a started sandbox on port 0."""
    settings = SandboxSettings(data_dir=data_dir, inbound_port=0, relay_port=0, threat_defense_port=0,
                               mailbox_port=0)
    runner = SimulatorThread(settings, tls, ManualClock())
    began = time.perf_counter()
    runner.start()
    took = (time.perf_counter() - began) * 1000
    runner.stop()
    return took


def measure(starts: int = DEFAULT_STARTS) -> dict[str, Any]:
    """`{"starts": N, "sandbox_ms": {p50, ...}, "fixture_ms": {p50, ...}}`."""
    port_options = sandbox_port_options()
    tls = SandboxTls.issue(trustme.CA(), *SERVER_NAMES)  # the session fixture's, issued once
    sandbox, fixture = [], []
    with tempfile.TemporaryDirectory(prefix="tdc-bench-startup-") as scratch:
        for index in range(starts):
            sandbox.append(sandbox_start_ms(Path(scratch) / f"sandbox-{index}", port_options))
            fixture.append(fixture_start_ms(Path(scratch) / f"fixture-{index}", tls))
    return {"starts": starts, "sandbox_ms": percentiles(sandbox), "fixture_ms": percentiles(fixture)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=DEFAULT_STARTS, help="starts of each (20)")
    figures = measure(parser.parse_args().starts)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
