"""Crash test: kill -9 the sandbox mid-run, restart it on the same data dir, lose nothing.

Not timed: it only counts. Every message that got a 250 must reach its mailbox, and its journal
must reach Threat Defense; a message may arrive twice only if it was in flight at the crash.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from fixtures.messages import MessageFactory
from fixtures.smtp_client import send

MESSAGES = 60
KILL_AFTER = 25
MESSAGE_ID_RE = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


def start_sandbox(data_dir: Path, errors: Path) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    state = data_dir / "sandbox.json"
    state.unlink(missing_ok=True)
    with errors.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "simulator.cli", "sandbox", "--data-dir", str(data_dir),
             "--inbound-port", "0", "--relay-port", "0", "--td-port", "0", "--mailbox-port", "0",
             "--admin-port", "0"],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if state.exists():
            return process, json.loads(state.read_text())
        assert process.poll() is None, errors.read_text()
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the sandbox did not start within 20 s")


def inbound(description: dict[str, object]) -> tuple[str, int]:
    machine = description["machines"]["esa1"]  # type: ignore[index]
    return machine["inbound"]["host"], machine["inbound"]["port"]


def ids_in(folder: Path, pattern: str) -> Counter[bytes]:
    """How many stored files carry each Message-ID (a journal counts once for its original)."""
    found: Counter[bytes] = Counter()
    for path in folder.glob(pattern):
        found.update(set(MESSAGE_ID_RE.findall(path.read_bytes())))
    return found


def in_flight_at_crash(first_run: list[str]) -> int:
    """Deliveries the first run started but did not finish (or fail) before it was killed."""
    started: set[str] = set()
    for line in first_run:
        if found := re.search(r"Delivery start DCID \d+ MID (\d+)", line):
            started.add(found.group(1))
        elif found := re.search(r"(?:Message done DCID \d+|Delayed: DCID \d+|Bounced: DCID \d+) MID (\d+)",
                                line):
            started.discard(found.group(1))
    return len(started)


def test_kill_9_mid_run_loses_nothing(tmp_path: Path, tdc_messages: MessageFactory) -> None:
    data_dir, errors = tmp_path / "data", tmp_path / "stderr.txt"
    process, description = start_sandbox(data_dir, errors)
    accepted: list[bytes] = []
    try:
        for number in range(MESSAGES):
            mail = tdc_messages.message()
            try:
                outcome = send(*inbound(description), mail, timeout=5)
            except OSError:
                break
            if outcome.accepted:
                accepted.append(MESSAGE_ID_RE.findall(mail.data)[0])
            if number == KILL_AFTER:
                os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert len(accepted) > KILL_AFTER
    log = data_dir / "machines" / "esa1" / "mail_logs" / "mail.current"
    first_run = log.read_text().splitlines()
    process, description = start_sandbox(data_dir, errors)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            delivered = ids_in(data_dir / "mailbox", "*/new/*")
            journaled = ids_in(data_dir / "threat-defense", "*/*.eml")
            if all(delivered[i] and journaled[i] for i in accepted):
                break
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    missing = [i for i in accepted if not delivered[i] or not journaled[i]]
    assert missing == [], f"{len(missing)} accepted messages lost"
    allowed = in_flight_at_crash(first_run)
    duplicates = sum(n - 1 for n in delivered.values()) + sum(n - 1 for n in journaled.values())
    assert duplicates <= allowed, (duplicates, allowed)
