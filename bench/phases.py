"""The measured phases: baseline, sandbox throughput, journal latency. Each returns plain figures.

Design rule: every sandbox phase gets a fresh `tdcsim sandbox` process and data dir, so one
phase's backlog or files never weigh on the next; the processes stop in `finally`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client import Client
from bench.corpus import Corpus
from bench.drive import Load, Outcome, drive
from bench.processes import Sandbox, cpu_seconds, start_sandbox, start_sink, stop
from bench.report import percentiles
from bench.tracker import Tracker

Figures = dict[str, Any]


class CpuMeter:
    """Share of one core used by the server process and by this (client) process since creation."""

    def __init__(self, server_pid: int) -> None:
        self.pid, self.wall = server_pid, time.monotonic()
        self.server, self.client = cpu_seconds(server_pid) or 0.0, time.process_time()

    def shares(self) -> Figures:
        wall = time.monotonic() - self.wall
        server = (cpu_seconds(self.pid) or self.server) - self.server
        client = time.process_time() - self.client
        return {"server_cpu": round(server / wall, 2), "client_cpu": round(client / wall, 2)}


def baseline(corpus: Corpus, count: int, senders: int) -> Figures:
    """Messages per second into a bare aiosmtpd server that answers 250 and keeps nothing."""
    process, port = start_sink()
    try:
        client, meter = Client("127.0.0.1", port, corpus, senders), CpuMeter(process.pid)
        asyncio.run(client.send(0, count))
        cpu = meter.shares()
    finally:
        stop(process)
    log = client.log
    seconds = (log.last_accept_ns - log.started_ns) / 1e9
    return {"messages": len(log.accepted_ns), "refused": len(log.refused), "seconds": round(seconds, 3),
            "msgs_per_s": round(len(log.accepted_ns) / seconds, 1), **cpu}


@dataclass(frozen=True)
class Rig:
    """What every phase shares: the messages, the client's width, the sandbox's options, the data root."""

    corpus: Corpus
    senders: int
    port_options: list[str]
    root: Path

    @contextmanager
    def sandbox(self, name: str) -> Iterator[Sandbox]:
        """A fresh sandbox on `root/name`, stopped whatever happens."""
        sandbox = start_sandbox(self.root / name, self.port_options)
        try:
            yield sandbox
        finally:
            stop(sandbox.process)


def run_load(rig: Rig, sandbox: Sandbox, load: Load) -> tuple[Client, Tracker, Outcome, Figures]:
    """`load` through `sandbox`, judged, with the CPU both sides used."""
    client = Client(*sandbox.inbound, rig.corpus, rig.senders)
    tracker = Tracker(sandbox.data_dir, sandbox.intake_address, rig.corpus)
    meter = CpuMeter(sandbox.process.pid)
    outcome = asyncio.run(drive(client, tracker, load))
    return client, tracker, outcome, meter.shares()


def throughput(rig: Rig, count: int) -> Figures:
    """End to end: from the first send until the last message is in its Maildir and journaled."""
    with rig.sandbox("throughput") as sandbox:
        client, tracker, outcome, cpu = run_load(rig, sandbox, Load("sandbox", range(count)))
    log = client.log
    end_ns = max(tracker.completed_ns.values(), default=log.started_ns + 1)
    seconds, accept_seconds = (end_ns - log.started_ns) / 1e9, (log.last_accept_ns - log.started_ns) / 1e9
    return {"messages": outcome.completed, "seconds": round(seconds, 3),
            "msgs_per_s": round(outcome.completed / seconds, 1),
            "accepted_msgs_per_s": round(len(log.accepted_ns) / max(accept_seconds, 1e-9), 1),
            **cpu, "log_warnings": warnings_in_log(sandbox.data_dir), "outcome": outcome.as_dict()}


def latency(rig: Rig, count: int, rate: float) -> Figures:
    """Accept (the 250 to the client) -> journal stored at Threat Defense, at a paced `rate`."""
    with rig.sandbox("latency") as sandbox:
        load = Load("latency", range(count), rate=rate)
        client, tracker, outcome, cpu = run_load(rig, sandbox, load)
    accepted = client.log.accepted_ns

    def after_accept(arrivals: dict[int, int]) -> list[float]:
        return [(arrivals[seq] - accepted[seq]) / 1e6 for seq in accepted if seq in arrivals]

    return {"messages": count, "rate": round(rate, 1),
            "journal_ms": percentiles(after_accept(tracker.journals.first_ns)),
            "mailbox_ms": percentiles(after_accept(tracker.mailbox.first_ns)),
            **cpu, "log_warnings": warnings_in_log(sandbox.data_dir), "outcome": outcome.as_dict()}


def warnings_in_log(data_dir: Path) -> int:
    """`Warning:` and `Critical:` lines in esa1's mail log (a clean run has none)."""
    path = data_dir / "machines" / "esa1" / "mail_logs" / "mail.current"
    if not path.exists():
        return 0
    with path.open(encoding="utf-8", errors="replace") as log:
        return sum(1 for line in log if " Warning: " in line or " Critical: " in line)
