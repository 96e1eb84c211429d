"""Crash test: kill -9 the sandbox mid-run, restart it on the same data dir, lose nothing, split nothing.

Two crashes: the machine's process killed while `tdcsim sandbox` runs each part in its own (the
appliance crashing; the supervisor then stops the sandbox and every other part, in one line: this is
also the test of a part that ends alone), and, to place the crash and a full disk
exactly, a sandbox in one process (`--one-process`) whose spool flushes are counted: the faults are
injected by code run before `tdcsim`, which the parts' processes (forked from a fresh fork server)
would not inherit. The spool under test is the same code either way.

Not timed: it only counts. Every message that got a 250 must reach its mailbox, and its journal
must reach Threat Defense; every original that reached a mailbox has its journal (a message's
entries are one unit: never an original without its copy); a message may arrive twice only if it
was in flight at the crash, never because a 451 left part of it behind for the client's retry to
duplicate.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

from fixtures.processes import MARK, SandboxProcess, left_after
from simulator.core.mail.samples import MessageFactory, Outgoing
from simulator.testing.smtp_client import send

MESSAGES = 60
KILL_AFTER = 25
WAIT = 30.0
DELIVERY_START_RE = re.compile(r"Delivery start DCID \d+ MID (\d+)")
MESSAGE_ID_RE = re.compile(rb"^Message-ID: (<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)
#: Run in the child before `tdcsim`: flushes (fsync) under its spool are counted; the `refuse`-th
#: fails once, as a filling disk would, and the child kills itself (-9) at the `crash`-th.
SPOOL_FLUSH_FAULTS = """
import os, signal
real_fsync, flushes = os.fsync, []
def fsync(descriptor):
    if os.readlink(f"/proc/self/fd/{{descriptor}}").startswith({spool!r}):
        flushes.append(descriptor)
        if len(flushes) == {refuse}:
            raise OSError(28, "No space left on device (injected)")
        if len(flushes) == {crash}:
            os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(descriptor)
os.fsync = fsync
"""
#: Where the faults fall was chosen against the spool of one file per queue entry, which flushed an
#: original, then its journal copy, then the queue folder: the first message's copy is refused (its
#: original stayed in `queue/`), and the crash comes just before the copy of message KILL_AFTER + 1.
REFUSE_AT, CRASH_AT = 2, 5 + 3 * KILL_AFTER + 2


def inbound(description: dict[str, object]) -> tuple[str, int]:
    machine = description["machines"]["esa1"]  # type: ignore[index]
    return machine["inbound"]["host"], machine["inbound"]["port"]


def ids_in(folder: Path, pattern: str) -> Counter[bytes]:
    """How many stored files carry each Message-ID (a journal counts once for its original)."""
    found: Counter[bytes] = Counter()
    for path in folder.glob(pattern):
        found.update(set(MESSAGE_ID_RE.findall(path.read_bytes())))
    return found


def started(lines: list[str]) -> set[str]:
    """The MIDs whose delivery began in `lines`."""
    return {found.group(1) for line in lines if (found := DELIVERY_START_RE.search(line))}


def in_flight_at_crash(first_run: list[str], second_run: list[str]) -> int:
    """Deliveries the first run started that the second started again: the spool still held them at
    the crash, so they had not finished (the gateway logs "Message done" before it records the
    entry done in the spool: a crash between the two is still in flight)."""
    return len(started(first_run) & started(second_run))


def message_id(mail: Outgoing) -> bytes:
    found: bytes = MESSAGE_ID_RE.findall(mail.data)[0]
    return found


Arrivals = tuple[Counter[bytes], Counter[bytes]]


def arrived(data_dir: Path) -> Arrivals:
    """How often each Message-ID reached a mailbox, and a journal at Threat Defense."""
    return ids_in(data_dir / "mailbox", "*/new/*"), ids_in(data_dir / "threat-defense", "*/*.eml")


def wait_for(data_dir: Path, ids: list[bytes], drained: bool = False) -> Arrivals:
    """What arrived once every message of `ids` is delivered and journaled (and, if `drained`,
    the spool's queue is empty: whatever a restart resumed is done)."""
    queue = data_dir / "machines" / "esa1" / "spool" / "queue"
    deadline = time.monotonic() + WAIT
    while True:
        delivered, journaled = arrived(data_dir)
        done = all(delivered[i] and journaled[i] for i in ids) and not (drained and any(queue.iterdir()))
        if done or time.monotonic() > deadline:
            return delivered, journaled
        time.sleep(0.05)


def test_kill_9_mid_run_loses_nothing_and_splits_nothing(
    tmp_path: Path, tdc_messages: MessageFactory
) -> None:
    data_dir = tmp_path.resolve() / "data"
    accepted: list[bytes] = []
    spool = str(data_dir / "machines" / "esa1" / "spool")
    preload = SPOOL_FLUSH_FAULTS.format(spool=spool, refuse=REFUSE_AT, crash=CRASH_AT)
    with SandboxProcess(data_dir, "--one-process", preload=preload) as first:
        description = first.start()
        refused = tdc_messages.message()  # 451 at its second flush; the client tries again
        outcome = send(*inbound(description), refused)
        assert outcome.data_reply is not None and outcome.data_reply[0] == 451, outcome
        assert send(*inbound(description), refused).accepted
        accepted.append(message_id(refused))
        wait_for(data_dir, accepted)  # so that it is not in flight at the crash
        accepted += sent_until_down(description, tdc_messages)
        assert first.wait(timeout=10) == -signal.SIGKILL
    assert len(accepted) > KILL_AFTER
    restarted_loses_nothing(data_dir, accepted, refused)


def test_kill_9_of_a_machine_s_process_mid_run_loses_nothing_and_splits_nothing(
    tmp_path: Path, tdc_messages: MessageFactory
) -> None:
    data_dir = tmp_path.resolve() / "data"
    accepted: list[bytes] = []
    mark = uuid.uuid4().hex
    with SandboxProcess(data_dir, env={MARK: mark}) as first:
        description = first.start()
        esa1 = description["machines"]["esa1"]["pid"]
        accepted += sent_until_down(description, tdc_messages, kill_after=(KILL_AFTER, esa1))
        assert first.wait(timeout=10) == 1
        assert first.stderr().splitlines() == [
            f"tdcsim: esa1 (pid {esa1}) ended with status -9; stopping the sandbox"]
        assert not first.state_file.exists()
    assert left_after(mark) == []  # the endpoints' processes and the fork server ended too
    assert len(accepted) == KILL_AFTER
    # the restart's subject is the spool the killed process left: one process reads it as the parts' do
    restarted_loses_nothing(data_dir, accepted, options=("--one-process",))


def sent_until_down(description: dict[str, object], messages: MessageFactory,
                    kill_after: tuple[int, int] | None = None) -> list[bytes]:
    """Send up to MESSAGES messages until the listener is gone (with `kill_after` (n, pid): kill -9
    `pid` before the n-th); the Message-IDs of those accepted."""
    accepted = []
    for number in range(MESSAGES):
        if kill_after is not None and number == kill_after[0]:
            os.kill(kill_after[1], signal.SIGKILL)
        mail = messages.message()
        try:
            outcome = send(*inbound(description), mail, timeout=5)
        except OSError:
            break
        if outcome.accepted:
            accepted.append(message_id(mail))
    return accepted


def restarted_loses_nothing(data_dir: Path, accepted: list[bytes], refused: Outgoing | None = None,
                            options: tuple[str, ...] = ()) -> None:
    """Restart on `data_dir` (`tdcsim sandbox` with `options`): every accepted message is delivered and
    journaled, no original without its copy, the refused-then-accepted one exactly once, and no more
    duplicates than deliveries in flight."""
    first_run = (data_dir / "machines" / "esa1" / "mail_logs" / "mail.current").read_text().splitlines()
    with SandboxProcess(data_dir, *options) as second:
        second.start()
        delivered, journaled = wait_for(data_dir, accepted, drained=True)
        assert second.stop() == 0, second.stderr()
    missing = [i for i in accepted if not delivered[i] or not journaled[i]]
    assert missing == [], f"{len(missing)} accepted messages lost"
    without_copy = [i for i in delivered if not journaled[i]]
    assert without_copy == [], f"{len(without_copy)} originals delivered without their journal"
    if refused is not None:
        assert (delivered[message_id(refused)], journaled[message_id(refused)]) == (1, 1)
    log = (data_dir / "machines" / "esa1" / "mail_logs" / "mail.current").read_text().splitlines()
    allowed = in_flight_at_crash(first_run, log[len(first_run):])
    # only the originals' Message-IDs: a journal also carries its own wrapper's
    duplicates = sum(delivered[i] - 1 + journaled[i] - 1 for i in accepted)
    assert duplicates <= allowed, (duplicates, allowed)


def test_a_child_that_does_not_end_on_its_signal_is_killed_and_reaped(tmp_path: Path) -> None:
    """`stop`'s fallback: a child still there after the timeout (here: SIGSTOPped) is SIGKILLed, -9.
    The fallback is the fixture's: a sandbox in one process is child enough (no parts to start). A
    stopped child cannot end however long `stop` waits, so the shortest timeout proves as much."""
    with SandboxProcess(tmp_path / "data", "--one-process") as child:
        child.start()
        assert child.stop(signal.SIGSTOP, timeout=0.05) == -signal.SIGKILL
        assert child.process is not None and child.process.returncode == -signal.SIGKILL
