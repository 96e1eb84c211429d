"""No delivery worker dies of one entry (BEHAVIOUR.md §9.4): a routing step, a DSN builder or a log
write that raises while one entry is handled is logged once as `Critical:` with its MID, the entry
waits for its next retry (and, its retries exhausted, is finished with no DSN), its batch-mates go on,
and the next good message is delivered by the same workers, without a restart."""

from __future__ import annotations

import dataclasses
import errno
import re
from datetime import timedelta

import pytest

from fixtures.batches import CLOCK, ENTRY, deliver_batch
from simulator.core.config.values import GatewayConfig, NextHop, SmtpRoute
from simulator.core.errors import DeliveryError
from simulator.core.mail import dsn, routing
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import QueueEntry
from simulator.core.mail.retry import MAX_RETRIES
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.logformat import Level, LogLine
from simulator.gateway import batch_delivery, delivery, machine
from simulator.gateway.delivery import CONNECTIONS_PER_DESTINATION, Destination
from simulator.gateway.delivery_log import DeliveryLog
from simulator.gateway.maillog import MailLog
from simulator.testing.harness import SandboxFacade

LOCAL = "example.com"
BOUNCING = "nobody.example.com"  # routed to Threat Defense, which answers 550 5.1.1 for it


def critical_lines(sandbox: SandboxFacade) -> list[str]:
    return [line.text for line in sandbox.mail_log.lines() if line.level is Level.CRITICAL]


def delivered(sandbox: SandboxFacade, mid: int) -> bool:
    return bool(sandbox.mail_log.matching(rf"^Message done DCID \d+ MID {mid} "))


def live_workers(sandbox: SandboxFacade, destination: str) -> int:
    """How many of `destination`'s worker tasks are running (read on the simulator's loop)."""
    def count() -> int:
        return sum(not task.done() for task in sandbox.machine.queues.destinations[destination].tasks)

    return sandbox._runner.run(count)


def queued(sandbox: SandboxFacade, destination: str) -> list[tuple[int, MessageState, int]]:
    return [(entry.mid, entry.state, entry.schedule.failures) for entry in sandbox.queued(destination)]


def parked_line(mid: int, at: str, error: str) -> str:
    """The Critical line of an entry parked until `at` (HH:MM:SS on the sandbox's first day)."""
    return (rf"^MID {mid} to RID \[0\] internal error, delivery retried at Wed Aug 17 {at} 2022: {error} "
            r"in \w+ \(\S+:\d+\)$")


def test_a_routing_step_that_raises_parks_the_entry_and_the_workers_go_on(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tdc_sandbox.expect_warning("internal error")
    resolve = routing.resolve  # the function batch_delivery imported

    def broken(domain: str, *args: object) -> object:
        if domain == LOCAL:
            raise RuntimeError("routing table corrupt")
        return resolve(domain, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_delivery, "resolve", broken)
    poisoned = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    [line] = critical_lines(tdc_sandbox)
    assert re.match(parked_line(poisoned, "05:53:00", r"RuntimeError\('routing table corrupt'\)"), line)
    assert queued(tdc_sandbox, LOCAL) == [(poisoned, MessageState.DEFERRED, 1)]
    monkeypatch.setattr(batch_delivery, "resolve", resolve)
    good = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert delivered(tdc_sandbox, good) and not delivered(tdc_sandbox, poisoned)
    assert live_workers(tdc_sandbox, LOCAL) == CONNECTIONS_PER_DESTINATION
    tdc_sandbox.advance(timedelta(seconds=60))  # its retry falls due
    assert delivered(tdc_sandbox, poisoned) and len(critical_lines(tdc_sandbox)) == 1
    assert len(tdc_sandbox.journals()) == 2


def route_bouncing_domain(sandbox: SandboxFacade) -> None:
    route = SmtpRoute(BOUNCING, (NextHop(*sandbox.listener_address("threat_defense")),))
    sandbox.reconfigure(lambda config: dataclasses.replace(
        config, routes=(route, *config.routes), local_domains=(*config.local_domains, BOUNCING)))


def test_a_dsn_builder_that_raises_parks_the_bounce_until_retries_run_out(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poison sender of issue 9: the DSN cannot be built; the entry is retried on its schedule,
    never in a tight loop, and finished with no DSN at the end; the destination's workers live on."""
    tdc_sandbox.expect_warning("internal error")
    route_bouncing_domain(tdc_sandbox)

    def broken_dsn(*args: object) -> QueueEntry:
        raise ValueError("Header values may not contain linefeed or carriage return characters")

    build_dsn = dsn.build_dsn  # the function machine imported
    monkeypatch.setattr(machine, "build_dsn", broken_dsn)
    poisoned = tdc_sandbox.send_accepted(tdc_messages.message(to=(f"ghost@{BOUNCING}",)))
    tdc_sandbox.settle()
    [line] = critical_lines(tdc_sandbox)
    assert re.match(parked_line(poisoned, "05:53:00", r"ValueError\('Header values .*'\)"), line)
    assert tdc_sandbox.mail_log.matching(rf"^Bounced: DCID \d+ MID {poisoned} ") == []
    assert queued(tdc_sandbox, BOUNCING) == [(poisoned, MessageState.DEFERRED, 1)]
    tdc_sandbox.advance(timedelta(hours=73))
    attempts = len(critical_lines(tdc_sandbox))
    assert 50 < attempts <= MAX_RETRIES + 1, "one attempt per retry, on the schedule"
    assert critical_lines(tdc_sandbox)[-1].startswith(
        f"MID {poisoned} to RID [0] internal error, retries exhausted: bounced, no DSN is sent: ValueError(")
    assert tdc_sandbox.mail_log.matching(rf"^Message finished MID {poisoned} done$")
    assert queued(tdc_sandbox, BOUNCING) == []
    assert tdc_sandbox.mail_log.matching("was generated based on MID") == []
    monkeypatch.setattr(machine, "build_dsn", build_dsn)
    bounced = tdc_sandbox.send_accepted(tdc_messages.message(to=(f"ghost@{BOUNCING}",)))
    tdc_sandbox.settle()  # the same workers bounce it at once, with its DSN
    assert tdc_sandbox.mail_log.matching(rf"^Bounced: DCID \d+ MID {bounced} to RID 0 - 5\.1\.0 - "
                                         r"Unknown address error \('550', \['5\.1\.1 ")
    assert tdc_sandbox.mail_log.matching(rf"^MID \d+ was generated based on MID {bounced} ")
    assert len(critical_lines(tdc_sandbox)) == attempts
    assert live_workers(tdc_sandbox, BOUNCING) == CONNECTIONS_PER_DESTINATION


def test_a_log_write_that_raises_parks_that_entry_and_its_batch_mate_is_delivered(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tdc_sandbox.expect_warning("internal error")
    tdc_sandbox.set_faults("mailbox", "down")
    poisoned = tdc_sandbox.send_accepted(tdc_messages.message())
    mate = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert [mid for mid, _, _ in queued(tdc_sandbox, LOCAL)] == [poisoned, mate]
    tdc_sandbox.set_faults("mailbox")
    started = DeliveryLog.started

    def full_disk(log: DeliveryLog, dcid: int, entry: QueueEntry) -> None:
        if entry.mid == poisoned:
            raise OSError(errno.ENOSPC, "No space left on device")
        started(log, dcid, entry)

    monkeypatch.setattr(DeliveryLog, "started", full_disk)
    connections = len(tdc_sandbox.mail_log.matching(r"^New SMTP DCID"))
    tdc_sandbox.advance(timedelta(seconds=60))  # both due again: one batch, one connection
    assert len(tdc_sandbox.mail_log.matching(r"^New SMTP DCID")) == connections + 1
    [line] = critical_lines(tdc_sandbox)
    assert re.match(parked_line(poisoned, "05:55:00", r"OSError\(28, 'No space left on device'\)"), line)
    assert delivered(tdc_sandbox, mate) and not delivered(tdc_sandbox, poisoned)
    assert queued(tdc_sandbox, LOCAL) == [(poisoned, MessageState.DEFERRED, 2)]
    monkeypatch.setattr(DeliveryLog, "started", started)
    good = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert delivered(tdc_sandbox, good) and live_workers(tdc_sandbox, LOCAL) == CONNECTIONS_PER_DESTINATION
    tdc_sandbox.advance(timedelta(minutes=2))
    assert delivered(tdc_sandbox, poisoned) and len(critical_lines(tdc_sandbox)) == 1


def test_a_log_that_cannot_even_write_the_critical_line_does_not_end_the_worker(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error handler's own log line raises too (issue 9: it raised again and killed the worker)."""
    tdc_sandbox.set_faults("mailbox", "down")
    poisoned = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    tdc_sandbox.set_faults("mailbox")
    log = tdc_sandbox.machine.log  # the in-process MailLog itself: its file, its writer
    write = log.write

    def failing(level: Level, text: str) -> LogLine:
        if text.startswith(("Delivery start DCID", f"MID {poisoned} to RID")) and f"MID {poisoned} " in text:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(level, text)

    monkeypatch.setattr(log, "write", failing)
    tdc_sandbox.advance(timedelta(seconds=60))
    assert queued(tdc_sandbox, LOCAL) == [(poisoned, MessageState.DEFERRED, 2)]
    assert critical_lines(tdc_sandbox) == []  # the line could not be written: parked all the same
    good = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert delivered(tdc_sandbox, good) and live_workers(tdc_sandbox, LOCAL) == CONNECTIONS_PER_DESTINATION
    monkeypatch.setattr(log, "write", write)
    tdc_sandbox.advance(timedelta(minutes=2))
    assert delivered(tdc_sandbox, poisoned)


def test_a_bug_outside_any_batch_pauses_the_worker_but_never_ends_it(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tdc_sandbox.expect_warning("Delivery worker of example.com internal error")
    monkeypatch.setattr(delivery, "PAUSE_AFTER_BUG", 0.01)
    take_due, failures = Destination.take_due, [1]

    def broken_once(self: Destination, *args: object) -> list[QueueEntry]:
        if failures and self.name == LOCAL:
            failures.pop()
            raise KeyError("queue bookkeeping")
        return take_due(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Destination, "take_due", broken_once)
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.mail_log.wait_for(rf"^Message done DCID \d+ MID {mid} ")
    [line] = critical_lines(tdc_sandbox)
    assert line.startswith("Delivery worker of example.com internal error: KeyError('queue bookkeeping')")
    assert live_workers(tdc_sandbox, LOCAL) == CONNECTIONS_PER_DESTINATION


# --- without sockets: what one batch settles ---------------------------------------------------------


def deliver(entries: list[QueueEntry], config: GatewayConfig, log: MailLog) -> list[list[QueueEntry]]:
    """Deliver `entries` in one batch whose bounces cannot make a DSN; the parts each settled as."""
    def no_dsn(bounced: QueueEntry, error: DeliveryError) -> None:
        raise ValueError("no DSN today")

    return [parts for _, parts in deliver_batch(entries, config, log, no_dsn)]


def test_an_entry_past_its_last_retry_is_finished_when_its_bounce_raises() -> None:
    log = MailLog(CLOCK)
    worn = dataclasses.replace(ENTRY, state=MessageState.DEFERRED,
                               schedule=dataclasses.replace(ENTRY.schedule, failures=MAX_RETRIES))
    fresh = dataclasses.replace(ENTRY, mid=5)
    settled = deliver([worn, fresh], GatewayConfig(), log)  # no route: retried, or bounced if worn
    assert [[(part.mid, part.state) for part in parts] for parts in settled] == [
        [(3, MessageState.BOUNCED)], [(5, MessageState.DEFERRED)]]
    [line] = [line.text for line in log.lines() if line.level is Level.CRITICAL]
    assert re.fullmatch(r"MID 3 to RID \[0\] internal error, retries exhausted: bounced, no DSN is sent: "
                        r"ValueError\('no DSN today'\) in no_dsn \(test_worker_faults\.py:\d+\)", line)
    assert log.matching("^Message finished MID 3 done$")
    assert log.matching(r"^Delayed: DCID \d+ MID 5 to RID 0 - 4\.4\.0 - No route for example\.com$")
