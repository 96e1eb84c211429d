"""The large-message memory soak (issue 9): `--messages` messages of about `--size` bytes through a
`tdcsim sandbox` child with the mailbox host down, its resident memory printed at the start, after
every 100 messages and at the end; then the mailbox back up, and every message must arrive whole.

Design rule: figures, not assertions. The messages are pre-generated (a few seeded templates; each
send splices in its own Message-ID), sent one after another over one reused connection; RSS is the
child's VmRSS. With the mailbox down the originals wait in the gateway's queue while their journal
copies reach Threat Defense; once it is back up (the fault cleared over the admin API, so the queued
entries go on their retry schedule), each Maildir file must be the bytes sent, after the gateway's
trace headers, exactly once: a message lost, duplicated or changed exits 1.
Run: `python -m bench.memory [--messages N] [--size BYTES] [--seed S] [--settle SECONDS] [--keep]`.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import smtplib
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.processes import Sandbox, sandbox_port_options, start_sandbox, stop, total_rss_kib
from simulator.admin.client import AdminClient

TEMPLATES = 4
SAMPLE_EVERY = 100
TRACE_END = b"X-IronPort-RemoteIP: 127.0.0.1\r\n"  # the last header the gateway prepends
ID_RE = re.compile(rb"<memory\.(\d+)@bench\.test>")


class Corpus:
    """Pre-generated messages: `message(n)` is template n % TEMPLATES with Message-ID n."""

    def __init__(self, size: int, seed: int, recipient: str) -> None:
        rng = random.Random(seed)
        alphabet = (string.ascii_letters + string.digits + " .,").encode()
        lines = size // 78 + 1
        self.templates = [(
            (f"From: soak@outside.test\r\nTo: {recipient}\r\nSubject: memory soak {t}\r\n"
             "Date: Wed, 17 Aug 2022 05:52:00 +0000\r\nMessage-ID: <memory.").encode(),
            b"@bench.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
            + b"".join(bytes(rng.choices(alphabet, k=76)) + b"\r\n" for _ in range(lines)),
        ) for t in range(TEMPLATES)]

    def message(self, number: int) -> bytes:
        head, tail = self.templates[number % TEMPLATES]
        return head + str(number).encode() + tail


def mib(pids: list[int]) -> str:
    """The RSS of the sandbox's processes together."""
    kib = total_rss_kib(pids)
    return "gone" if kib is None else f"{kib / 1024:.1f} MiB"


def count_files(folder: Path, pattern: str) -> int:
    return sum(1 for _ in folder.glob(pattern)) if folder.is_dir() else 0


def wait_for(what: str, ready: Callable[[], int], wanted: int, timeout: float, pids: list[int]) -> int:
    """Poll `ready()` until it reaches `wanted` or `timeout` seconds pass; prints progress."""
    started = last_print = time.monotonic()
    while (done := ready()) < wanted and time.monotonic() - started < timeout:
        if time.monotonic() - last_print >= 10:
            print(f"  {what}: {done}/{wanted} after {time.monotonic() - started:.0f} s, RSS {mib(pids)}")
            last_print = time.monotonic()
        time.sleep(0.5)
    print(f"{what}: {done}/{wanted} after {time.monotonic() - started:.0f} s")
    return done


def send_all(sandbox: Sandbox, corpus: Corpus, count: int) -> None:
    """Send every message over one reused connection (reopened once if it breaks)."""
    host, port = sandbox.inbound
    pids = sandbox.pids
    client = smtplib.SMTP(host, port, timeout=120)
    started = time.monotonic()
    for number in range(count):
        recipient = f"bob@{sandbox.local_domain}"
        try:
            client.sendmail("soak@outside.test", [recipient], corpus.message(number))
        except (smtplib.SMTPServerDisconnected, OSError):
            client = smtplib.SMTP(host, port, timeout=120)
            client.sendmail("soak@outside.test", [recipient], corpus.message(number))
        if (number + 1) % SAMPLE_EVERY == 0:
            print(f"sent {number + 1:5d}/{count}: RSS {mib(pids)}  ({time.monotonic() - started:.0f} s)")
    client.quit()


def check_delivered(data_dir: Path, corpus: Corpus, count: int) -> Counter[str]:
    """Every Maildir file mapped to its message: lost, duplicated and changed are counted."""
    outcome: Counter[str] = Counter()
    seen: Counter[int] = Counter()
    for path in (data_dir / "mailbox").glob("*/new/*"):
        data = path.read_bytes()
        found = ID_RE.search(data.partition(b"\r\n\r\n")[0])
        number = int(found.group(1)) if found else -1
        seen[number] += 1
        whole = 0 <= number < count and data.partition(TRACE_END)[2] == corpus.message(number)
        outcome["whole" if whole else "changed"] += 1
    outcome["lost"] = sum(1 for number in range(count) if not seen[number])
    outcome["duplicated"] = sum(times - 1 for times in seen.values() if times > 1)
    return outcome


def soak(options: argparse.Namespace, data_dir: Path) -> int:
    sandbox = start_sandbox(data_dir, [*sandbox_port_options(), "--mailbox-fault", "down"])
    try:
        pids, count = sandbox.pids, options.messages
        corpus = Corpus(options.size, options.seed, f"bob@{sandbox.local_domain}")
        print(f"{count} messages of {len(corpus.message(0)):,} bytes; sandbox pids {pids}, mailbox down")
        print(f"start: RSS {mib(pids)}")
        send_all(sandbox, corpus, count)
        journals = data_dir / "threat-defense" / sandbox.intake_address
        wait_for("journals at Threat Defense", lambda: count_files(journals, "*.json"), count,
                 options.settle, pids)
        units = count_files(data_dir / "machines" / "esa1" / "spool" / "queue", "*.unit")
        print(f"end, mailbox still down ({units} spool units waiting): RSS {mib(pids)}")
        AdminClient.for_data_dir(data_dir).call("PUT", "/faults/mailbox", [])
        print("mailbox back up (fault cleared); the queued originals go on their retry schedule")
        wait_for("delivered to the mailbox", lambda: count_files(data_dir / "mailbox", "*/new/*"),
                 count, options.settle, pids)
        print(f"after delivery: RSS {mib(pids)}")
    finally:
        stop(sandbox.process)
    outcome = check_delivered(data_dir, corpus, count)
    print(f"delivered whole {outcome['whole']}, lost {outcome['lost']}, duplicated "
          f"{outcome['duplicated']}, changed {outcome['changed']}")
    return 0 if outcome["whole"] == count and not outcome["changed"] + outcome["duplicated"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, metavar="N", help="messages (1000)")
    parser.add_argument("--size", type=int, default=1 << 20, metavar="BYTES", help="about (1 MiB)")
    parser.add_argument("--seed", type=int, default=5, metavar="N", help="of the templates (5)")
    parser.add_argument("--settle", type=float, default=900.0, metavar="SECONDS",
                        help="longest wait for the journals, then for the deliveries (900)")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    options = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="tdc-memory-"))
    status = 1
    try:
        status = soak(options, data_dir / "data")
        return status
    finally:
        if options.keep or status:
            print(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
