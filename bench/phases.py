"""The measured phases: baseline, Threat Defense alone, sandbox throughput, journal latency. Each
returns plain figures.

Design rule: every sandbox phase gets a fresh `tdcsim sandbox` process and data dir, so one
phase's backlog or files never weigh on the next; the processes stop in `finally`. Threat Defense
alone is measured back to back with its own baseline (a STARTTLS sink), with the same journals.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import hops, tls
from bench.client import Client, Mails
from bench.corpus import Corpus
from bench.drive import Load, Outcome, drive
from bench.journals import Journals
from bench.processes import (
    Sandbox,
    rss_kib,
    start_sandbox,
    start_sink,
    start_td_alone,
    stop,
    total_cpu_seconds,
    total_rss_kib,
)
from bench.report import percentiles
from bench.td_alone import FOLDER
from bench.tracker import Tracker
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES

Figures = dict[str, Any]


class CpuMeter:
    """Share of one core used by the server's processes (summed) and by this (client) process since
    creation."""

    def __init__(self, *server_pids: int) -> None:
        self.pids, self.wall = list(server_pids), time.monotonic()
        self.server, self.client = total_cpu_seconds(self.pids) or 0.0, time.process_time()

    def shares(self, seconds: bool = False) -> Figures:
        """`server_cpu`, `client_cpu`; with `seconds`, also the server's CPU seconds (`server_cpu_s`)."""
        wall = time.monotonic() - self.wall
        server = (total_cpu_seconds(self.pids) or self.server) - self.server
        client = time.process_time() - self.client
        shares = {"server_cpu": round(server / wall, 2), "client_cpu": round(client / wall, 2)}
        return {**shares, "server_cpu_s": server} if seconds else shares


def baseline(corpus: Corpus, count: int, senders: int) -> Figures:
    """Messages per second into a bare aiosmtpd server that answers 250 and keeps nothing."""
    process, port = start_sink()
    client = Client("127.0.0.1", port, corpus, senders)
    return _sent_figures(client, process, count)


def _sent_figures(client: Client, process: subprocess.Popen[bytes], count: int) -> Figures:
    """`count` messages through `client` to `process` (stopped afterwards): rate = 250s / (last 250 -
    first send), the CPU both sides used, and the server's CPU time per message (user + system: on
    a busy machine a steadier figure than the rate, which waits for the CPU too)."""
    try:
        meter = CpuMeter(process.pid)
        asyncio.run(client.send(0, count))
        cpu = meter.shares(seconds=True)
    finally:
        stop(process)
    log, accepted = client.log, len(client.log.accepted_ns)
    seconds, server_seconds = (log.last_accept_ns - log.started_ns) / 1e9, cpu.pop("server_cpu_s")
    return {"messages": accepted, "refused": len(log.refused), "seconds": round(seconds, 3),
            "msgs_per_s": round(accepted / max(seconds, 1e-9), 1), **cpu,
            "server_cpu_ms_per_msg": round(1000 * server_seconds / max(accepted, 1), 3)}


PER_CONNECTION = 10  # as the gateway sends journals: Threat Defense answers 421 after the 10th


def td_alone(corpus: Corpus, count: int, senders: int, root: Path) -> Figures:
    """Pre-built journals with STARTTLS, 10 a connection: first into a bare aiosmtpd STARTTLS sink,
    then straight into the mock Threat Defense (each its own process); both rates, and the ratio
    only when Threat Defense stored every journal exactly once."""
    certificates = tls.mint(root / "td-alone-tls")
    intake = DEFAULT_INTAKE_ADDRESSES[0]
    journals = Journals(corpus, count, intake)
    context = tls.client(certificates)

    def client(port: int, mails: Mails) -> Client:
        return Client("127.0.0.1", port, mails, senders, tls=context, per_connection=PER_CONNECTION)

    sink_process, sink_port = start_sink("--certificates", str(certificates))
    sink = _sent_figures(client(sink_port, journals), sink_process, count)
    data_dir = root / "td-alone"
    td_process, td_port = start_td_alone(data_dir, certificates)
    td = _sent_figures(client(td_port, journals), td_process, count)
    stored = journals.reconcile(data_dir / FOLDER / intake, td["messages"], td["refused"])
    problems = [f"STARTTLS sink: {sink['refused']} refused"] if sink["refused"] else []
    outcome = {**stored.as_dict(), "problems": problems + stored.problems}
    outcome["ok"] = not outcome["problems"]
    ratio = round(td["msgs_per_s"] / sink["msgs_per_s"], 3) if outcome["ok"] else None
    cpu_ratio = sink["server_cpu_ms_per_msg"] / max(td["server_cpu_ms_per_msg"], 1e-9)
    return {"messages": count, "journal_size": round(journals.mean_size), "senders": senders,
            "per_connection": PER_CONNECTION, "sink_msgs_per_s": sink["msgs_per_s"],
            "td_msgs_per_s": td["msgs_per_s"], "ratio": ratio,
            "cpu_ratio": round(cpu_ratio, 3) if outcome["ok"] else None,
            "sink": sink, "td": td, "outcome": outcome}


@dataclass(frozen=True)
class Rig:
    """What every phase shares: the messages, the client's width, the sandbox's options, the data root."""

    corpus: Corpus
    senders: int
    port_options: list[str]
    root: Path

    @contextmanager
    def sandbox(self, name: str, *options: str) -> Iterator[Sandbox]:
        """A fresh sandbox on `root/name` (with `tdcsim sandbox` `options`), stopped whatever happens."""
        sandbox = start_sandbox(self.root / name, [*self.port_options, *options])
        try:
            yield sandbox
        finally:
            stop(sandbox.process)


def run_load(rig: Rig, sandbox: Sandbox, load: Load) -> tuple[Client, Tracker, Outcome, Figures]:
    """`load` through `sandbox`, judged, with the CPU both sides used."""
    first, *more = sandbox.listeners  # a client stream per machine: the senders take them in turn
    client = Client(*first, rig.corpus, rig.senders, more=more)
    tracker = Tracker(sandbox.data_dir, sandbox.intake_address, rig.corpus)
    meter = CpuMeter(*sandbox.pids)
    outcome = asyncio.run(drive(client, tracker, load))
    sandbox.check_running()
    return client, tracker, outcome, meter.shares()


def throughput(rig: Rig, count: int, machines: int = 1) -> Figures:
    """End to end: from the first send until the last message is in its Maildir and journaled; with
    `machines` machines, one client stream into each machine's public listener."""
    name = "throughput" if machines == 1 else f"throughput-{machines}-machines"
    with rig.sandbox(name, "--machines", str(machines)) as sandbox:
        client, tracker, outcome, cpu = run_load(rig, sandbox, Load(name, range(count)))
        rss = total_rss_kib(sandbox.pids)
        per_machine = [rss_kib(pid) for pid in sandbox.machine_pids]
    log = client.log
    end_ns = max(tracker.completed_ns.values(), default=log.started_ns + 1)
    seconds, accept_seconds = (end_ns - log.started_ns) / 1e9, (log.last_accept_ns - log.started_ns) / 1e9
    return {"messages": outcome.completed, "seconds": round(seconds, 3),
            "msgs_per_s": round(outcome.completed / seconds, 1),
            "accepted_msgs_per_s": round(len(log.accepted_ns) / max(accept_seconds, 1e-9), 1),
            "machines": machines, "rss_mib": round(rss / 1024, 1) if rss is not None else None,
            "rss_per_machine_mib": [round(kib / 1024, 1) if kib is not None else None for kib in per_machine],
            **cpu, "log_warnings": warnings_in_log(sandbox.data_dir), "outcome": outcome.as_dict()}


def latency(rig: Rig, count: int, rate: float) -> Figures:
    """Accept (the 250 to the client) -> journal stored at Threat Defense, at a paced `rate`; and the
    journal's time split into hops (`bench/hops.py`)."""
    with rig.sandbox("latency") as sandbox:
        load = Load("latency", range(count), rate=rate)
        client, tracker, outcome, cpu = run_load(rig, sandbox, load)
    accepted = client.log.accepted_ns

    def after_accept(arrivals: dict[int, int]) -> list[float]:
        return [(arrivals[seq] - accepted[seq]) / 1e6 for seq in accepted if seq in arrivals]

    return {"messages": count, "rate": round(rate, 1),
            "journal_ms": percentiles(after_accept(tracker.journals.first_ns)),
            "mailbox_ms": percentiles(after_accept(tracker.mailbox.first_ns)),
            "hops": hops.split(accepted, tracker.journal_times),
            **cpu, "log_warnings": warnings_in_log(sandbox.data_dir), "outcome": outcome.as_dict()}


def warnings_in_log(data_dir: Path) -> int:
    """`Warning:` and `Critical:` lines in esa1's mail log (a clean run has none)."""
    path = data_dir / "machines" / "esa1" / "mail_logs" / "mail.current"
    if not path.exists():
        return 0
    with path.open(encoding="utf-8", errors="replace") as log:
        return sum(1 for line in log if " Warning: " in line or " Critical: " in line)
