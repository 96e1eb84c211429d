"""Drive one load through a sandbox and judge it: send, poll the oracle, wait (bounded), reconcile.

Design rule: sending and polling run side by side on one event loop; the filesystem scans run in a
worker thread so the senders keep going. After the last send the wait is bounded by progress: no
new completion for STALL_TIMEOUT seconds ends it, and what is missing then is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from bench.client import Client
from bench.tracker import Tracker

STALL_TIMEOUT = 30.0
SETTLE = 1.0  # after the last completion: time for a late duplicate to show up


class Stalled(RuntimeError):
    """The sandbox stopped completing messages while senders waited for it."""


@dataclass(frozen=True)
class Outcome:
    """Did every accepted message arrive exactly once on both sides?"""

    sent: int
    not_sent: int
    accepted: int
    refused: int
    completed: int
    missing_mailbox: int
    missing_journal: int
    duplicates_mailbox: int
    duplicates_journal: int
    unmatched_files: int
    invalid_journals: int
    resent: int

    @property
    def problems(self) -> list[str]:
        """What makes the run a failure, in words (nothing: a clean run)."""
        counts = {
            "not sent (the sandbox stalled)": self.not_sent,
            "refused by the gateway": self.refused,
            "lost (not in the mailbox)": self.missing_mailbox,
            "lost (no journal at Threat Defense)": self.missing_journal,
            "duplicated in the mailbox": self.duplicates_mailbox,
            "duplicated at Threat Defense": self.duplicates_journal,
        }
        return [f"{count} of {self.sent} {what}" for what, count in counts.items() if count]

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": not self.problems, "problems": self.problems}


def judge(client: Client, tracker: Tracker, expected: range) -> Outcome:
    """Compare what was sent with what the oracle found."""
    tracker.reconcile()
    log, wanted = client.log, set(expected)
    return Outcome(
        sent=len(wanted), not_sent=len(wanted) - log.attempted,
        accepted=len(log.accepted_ns), refused=len(log.refused),
        completed=len(tracker.completed_ns),
        missing_mailbox=len(wanted - tracker.mailbox.first_ns.keys()),
        missing_journal=len(wanted - tracker.journals.first_ns.keys()),
        duplicates_mailbox=len(tracker.mailbox.duplicates()),
        duplicates_journal=len(tracker.journals.duplicates()),
        unmatched_files=len(tracker.mailbox.unmatched) + len(tracker.journals.unmatched),
        invalid_journals=tracker.invalid_journals, resent=log.resent,
    )


@dataclass
class Load:
    """One load: which messages, how fast, and what to watch while it runs."""

    label: str
    numbers: range
    rate: float | None = None  # msg/s; None: as fast as the senders go
    window: int | None = None  # at most this many sent but not yet complete
    poll: float = 0.2
    progress_every: float = 2.0
    on_poll: Callable[[int], None] | None = None  # gets the completed count after each scan


async def drive(client: Client, tracker: Tracker, load: Load) -> Outcome:
    """Send `load` through the sandbox and wait (bounded) until every accepted message completed."""
    done = asyncio.Event()
    poller = asyncio.create_task(_poll(client, tracker, load, done))

    async def gate() -> None:
        give_up = time.monotonic() + STALL_TIMEOUT
        while load.window and client.log.attempted - len(tracker.completed_ns) >= load.window:
            if time.monotonic() > give_up:
                raise Stalled(f"{load.label}: nothing completed for {STALL_TIMEOUT:.0f}s")
            await asyncio.sleep(load.poll / 2)

    try:
        try:
            await client.send(load.numbers.start, len(load.numbers), load.rate, gate if load.window else None)
        except* Stalled as stalled:
            print(f"  {stalled.exceptions[0]}; sending stopped", flush=True)
        done.set()
        await poller
    finally:
        poller.cancel()
    return await asyncio.to_thread(judge, client, tracker, load.numbers)


async def _poll(client: Client, tracker: Tracker, load: Load, sending_done: asyncio.Event) -> None:
    """Scan until sending is over and everything accepted completed, or nothing moved for a while."""
    last_print = last_change = time.monotonic()
    completed = -1
    while True:
        now_completed = await asyncio.to_thread(tracker.scan)
        if load.on_poll is not None:
            load.on_poll(now_completed)
        now = time.monotonic()
        if now_completed != completed:
            completed, last_change = now_completed, now
        if now - last_print >= load.progress_every:
            last_print = now
            print(f"  {load.label}: sent {client.log.attempted}/{len(load.numbers)}, "
                  f"complete {completed}", flush=True)
        finished = completed >= len(client.log.accepted_ns) or now - last_change > STALL_TIMEOUT
        if sending_done.is_set() and finished:
            break
        await asyncio.sleep(load.poll)
    await asyncio.sleep(SETTLE)
