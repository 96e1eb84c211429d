"""The SMTP banner's latency while message tracking reads a large mail log (issue 9): printed figures.

Design rule: a measurement, never a test assertion. It writes a synthetic `mail.current` of about
`--log-mib` MiB (each message's lines as the gateway writes them), starts `tdcsim sandbox` on it in its
own process, then times the public listener's `220` banner alone and while `--calls` concurrent
`/tracking/{mid}` requests run through the admin API.

    .venv/bin/python -m bench.tracking_latency [--log-mib 5] [--calls 10]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.processes import sandbox_port_options, start_sandbox, stop
from simulator.admin.client import AdminClient
from simulator.core.reports.logformat import Level, format_line
from simulator.defaults import mail_log_path


def message_lines(mid: int) -> list[str]:
    """One delivered incoming message's lines (ICID = DCID = MID, for simplicity)."""
    return [f"New SMTP ICID {mid} interface Management (127.0.0.1) address 127.0.0.1 reverse dns host "
            "unknown verified no", f"Start MID {mid} ICID {mid}",
            f"MID {mid} ICID {mid} From: <sender{mid}@outside.test>",
            f"MID {mid} ICID {mid} RID 0 To: <rcpt{mid}@example.com>",
            f"MID {mid} Message-ID '<{mid}.bench@outside.test>'", f"MID {mid} Subject 'hello {mid}'",
            f"MID {mid} ready 2048 bytes from <sender{mid}@outside.test>", f"MID {mid} queued for delivery",
            f"New SMTP DCID {mid} interface 127.0.0.1 address 127.0.0.1 port 2528",
            f"Delivery start DCID {mid} MID {mid} to RID [0]",
            f"Message done DCID {mid} MID {mid} to RID [0]",
            f"MID {mid} RID [0] Response '2.0.0 Ok: queued as {mid}'", f"Message finished MID {mid} done",
            f"DCID {mid} close"]


def write_log(path: Path, size: int) -> int:
    """A mail log of about `size` bytes; the number of messages in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    at, mid, written = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC), 0, 0
    with path.open("w", encoding="utf-8") as log:
        while written < size:
            mid += 1
            text = "".join(format_line(at, Level.INFO, line) + "\n" for line in message_lines(mid))
            written += log.write(text)
            at += timedelta(seconds=1)
    return mid


def banner_seconds(address: tuple[str, int]) -> float:
    """Connect and read the `220` banner."""
    started = time.perf_counter()
    with socket.create_connection(address, timeout=60) as probe:
        received = b""
        while not received.endswith(b"\r\n"):
            received += probe.recv(512)
    return time.perf_counter() - started


def probe_while(address: tuple[str, int], running: threading.Event) -> list[float]:
    latencies: list[float] = []
    while running.is_set() or not latencies:
        latencies.append(banner_seconds(address))
        time.sleep(0.02)
    return latencies


def track_concurrently(client: AdminClient, mids: list[int]) -> list[float]:
    durations: list[float] = []

    def call(mid: int) -> None:
        started = time.perf_counter()
        client.get(f"/tracking/{mid}")
        durations.append(time.perf_counter() - started)

    threads = [threading.Thread(target=call, args=(mid,)) for mid in mids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return durations


def figures(name: str, seconds: list[float]) -> str:
    ms = sorted(value * 1000 for value in seconds)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (f"{name:<38} n={len(ms):<4} p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {ms[-1]:7.1f} ms")


def measure(data_dir: Path, log_mib: float, calls: int) -> None:
    log = mail_log_path(data_dir, "esa1")
    messages = write_log(log, int(log_mib * 1024 * 1024))
    print(f"mail.current: {log.stat().st_size / 1024 / 1024:.1f} MiB, {messages} messages")
    sandbox = start_sandbox(data_dir, sandbox_port_options())
    try:
        admin = sandbox.description["admin"]
        client = AdminClient(admin["url"], admin["token"], timeout=300.0)  # calls may queue a while
        print(figures("banner, idle", [banner_seconds(sandbox.inbound) for _ in range(20)]))
        running = threading.Event()
        running.set()
        probes: list[float] = []
        prober = threading.Thread(target=lambda: probes.extend(probe_while(sandbox.inbound, running)))
        prober.start()
        durations = track_concurrently(client, [messages // 2 + n for n in range(calls)])
        running.clear()
        prober.join()
        print(figures(f"banner, {calls} concurrent tracking calls", probes))
        print(figures("tracking call, end to end", durations))
    finally:
        stop(sandbox.process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--log-mib", type=float, default=5.0, help="size of mail.current (default 5)")
    parser.add_argument("--calls", type=int, default=10, help="concurrent tracking calls (default 10)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracking-latency-") as folder:
        measure(Path(folder) / "data", arguments.log_mib, arguments.calls)


if __name__ == "__main__":
    main()
