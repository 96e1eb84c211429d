"""Crash test: kill -9 the sandbox mid-run, restart it on the same data dir, lose nothing.

Not timed: it only counts. Every message that got a 250 must reach its mailbox, and its journal
must reach Threat Defense; a message may arrive twice only if it was in flight at the crash.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

from fixtures.messages import MessageFactory
from fixtures.processes import SandboxProcess
from fixtures.smtp_client import send

MESSAGES = 60
KILL_AFTER = 25
MESSAGE_ID_RE = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


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
    data_dir = tmp_path / "data"
    accepted: list[bytes] = []
    with SandboxProcess(data_dir) as first:
        description = first.start()
        for number in range(MESSAGES):
            mail = tdc_messages.message()
            try:
                outcome = send(*inbound(description), mail, timeout=5)
            except OSError:
                break
            if outcome.accepted:
                accepted.append(MESSAGE_ID_RE.findall(mail.data)[0])
            if number == KILL_AFTER:
                first.kill()
    assert len(accepted) > KILL_AFTER
    first_run = (data_dir / "machines" / "esa1" / "mail_logs" / "mail.current").read_text().splitlines()
    with SandboxProcess(data_dir) as second:
        second.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            delivered = ids_in(data_dir / "mailbox", "*/new/*")
            journaled = ids_in(data_dir / "threat-defense", "*/*.eml")
            if all(delivered[i] and journaled[i] for i in accepted):
                break
            time.sleep(0.1)
        assert second.stop() == 0, second.stderr()
    missing = [i for i in accepted if not delivered[i] or not journaled[i]]
    assert missing == [], f"{len(missing)} accepted messages lost"
    allowed = in_flight_at_crash(first_run)
    # only the originals' Message-IDs: a journal also carries its own wrapper's
    duplicates = sum(delivered[i] - 1 + journaled[i] - 1 for i in accepted)
    assert duplicates <= allowed, (duplicates, allowed)
