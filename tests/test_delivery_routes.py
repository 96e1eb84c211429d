"""Delivery through SMTP routes (BEHAVIOUR.md §4.6) and delivery status (§6), over real sockets:
/dev/null delivers to nowhere, a route's hosts are tried in order for the connection, and the
counters of each destination, `the.tdc.queue` above all, follow delivered, retried and bounced mail."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import socket
import time
from datetime import timedelta

import pytest

from simulator.core.clock import ManualClock
from simulator.core.config.values import MxRecord, NextHop, SmtpRoute, domain_of
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.messages import TDC_QUEUE, QueueEntry
from simulator.core.mail.retry import RetrySchedule
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.status import DestinationStatus
from simulator.core.reports.tracking import track
from simulator.gateway.delivery import CONNECTIONS_PER_DESTINATION, IDLE_RELEASE, Destination
from simulator.testing.harness import SandboxFacade

HOST = "127.0.0.1"
LOCAL = "example.com"


def dead_port() -> int:
    """A loopback port nobody listens on: bound, read back, closed."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def route(domain: str, *ports: int) -> SmtpRoute:
    """A route to loopback `ports`, listed highest priority number first (the table must sort them)."""
    hops = [NextHop(HOST, port, priority=10 * (number + 1)) for number, port in enumerate(ports)]
    return SmtpRoute(domain, tuple(reversed(hops)))


def use_routes(sandbox: SandboxFacade, *routes: SmtpRoute) -> None:
    sandbox.reconfigure(lambda config: dataclasses.replace(config, routes=routes))


def mailbox_port(sandbox: SandboxFacade) -> int:
    return sandbox.sandbox.mailbox_server.port


def intake_domain(sandbox: SandboxFacade) -> str:
    return domain_of(sandbox.config.connector.intake_address)


def statuses(sandbox: SandboxFacade) -> dict[str, DestinationStatus]:
    """Delivery status now, read on the simulator's loop."""
    rows = sandbox._runner.run(sandbox.machine.queues.status)
    assert [row.host for row in rows] == sorted(row.host for row in rows), "status() is by name"
    return {row.host: row for row in rows}


def status(sandbox: SandboxFacade, destination: str) -> DestinationStatus:
    found = statuses(sandbox)
    assert destination in found, f"no delivery status for {destination}: {sorted(found)}"
    return found[destination]


def counters(row: DestinationStatus) -> tuple[int, int, int, int, int]:
    """(active, conn. out, delivered, soft bounced, hard bounced)."""
    return (row.active_recipients, row.connections_out, row.delivered_recipients,
            row.soft_bounced_events, row.hard_bounced_recipients)


def texts(sandbox: SandboxFacade, pattern: str) -> list[str]:
    return [line.text for line in sandbox.mail_log.matching(pattern)]


# --- routes -----------------------------------------------------------------------------------------


def test_a_dev_null_route_delivers_the_original_to_nowhere(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    use_routes(tdc_sandbox, SmtpRoute(".com", discard=True))
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert tdc_sandbox.mailbox() == []
    assert len(tdc_sandbox.journals()) == 1, "the copy's own route is untouched"
    lines = [line.text for line in tdc_sandbox.mail_log.lines()]
    dropped = f"MID {mid} RID [0] delivered to /dev/null by SMTP route .com"
    assert lines[lines.index(dropped) + 1] == f"Message finished MID {mid} done"
    assert not texts(tdc_sandbox, rf"Delivery start DCID \d+ MID {mid} "), "no connection for /dev/null"
    assert counters(status(tdc_sandbox, LOCAL)) == (0, 0, 1, 0, 0)
    assert tdc_sandbox.machine.spool.load().entries == []


def test_a_dead_first_host_hands_the_connection_to_the_next(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    dead, mailbox = dead_port(), mailbox_port(tdc_sandbox)
    use_routes(tdc_sandbox, route(LOCAL, dead, mailbox))
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox()) == 1
    lines = [line.text for line in tdc_sandbox.mail_log.lines()]
    handover = re.compile(rf"DCID (\d+) connection to {HOST} port {dead} failed: Connection refused; "
                          r"trying the next host")
    failed = [(i, match[1]) for i, text in enumerate(lines) if (match := handover.fullmatch(text))]
    assert len(failed) == 1
    (at, dcid), = failed
    connected = f"New SMTP DCID {dcid} interface {HOST} address {HOST} port {mailbox}"
    assert lines.index(connected) > at, "the same connection, to the next host"
    assert not texts(tdc_sandbox, r"^Delayed:"), "a host that refuses the connection fails nothing"
    row = status(tdc_sandbox, LOCAL)
    assert counters(row) == (0, 0, 1, 0, 0) and not row.down


def test_the_lowest_mx_priority_is_tried_first(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    dead = dead_port()
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(
        config, dns_zone=(*config.dns_zone, MxRecord("*", 5, HOST, dead))))
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox()) == 1
    assert len(texts(tdc_sandbox, rf"connection to {HOST} port {dead} failed: .*trying the next host")) == 1


def test_a_tls_failure_hands_the_copy_to_the_next_host(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    td = tdc_sandbox.sandbox.threat_defense_server.port
    tdc_sandbox.set_faults("threat_defense", "no-starttls")
    use_routes(tdc_sandbox, route(intake_domain(tdc_sandbox), td, mailbox_port(tdc_sandbox)))
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    intake = tdc_sandbox.config.connector.intake_address
    assert tdc_sandbox.journals() == [] and len(tdc_sandbox.mailbox(intake)) == 1
    assert texts(tdc_sandbox, rf"port {td} failed: TLS failed: STARTTLS not offered; trying the next host")
    assert not texts(tdc_sandbox, r"^TDC: .*delivery failed")
    assert counters(status(tdc_sandbox, TDC_QUEUE)) == (0, 0, 1, 0, 0)


def test_when_every_host_fails_the_batch_is_retried_and_the_destination_is_down(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    use_routes(tdc_sandbox, route(LOCAL, dead_port(), dead_port()))
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert len(texts(tdc_sandbox, r"trying the next host")) == 1, "the last host's failure is the batch's"
    assert texts(tdc_sandbox, rf"^Delayed: DCID \d+ MID {mid} to RID 0 - 4\.4\.0 - Connection refused$")
    row = status(tdc_sandbox, LOCAL)
    assert counters(row) == (1, 0, 0, 1, 0) and row.down
    assert row.last_attempt == tdc_sandbox.clock.now()
    use_routes(tdc_sandbox, route(LOCAL, mailbox_port(tdc_sandbox)))
    tdc_sandbox.advance(timedelta(minutes=1))
    row = status(tdc_sandbox, LOCAL)
    assert counters(row) == (0, 0, 1, 1, 0) and not row.down


def test_no_route_is_a_soft_failure_that_marks_no_host_down(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(config, dns_zone=()))
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert texts(tdc_sandbox, rf"^Delayed: DCID \d+ MID {mid} to RID 0 - 4\.4\.0 - No route for {LOCAL}$")
    row = status(tdc_sandbox, LOCAL)
    assert counters(row) == (1, 0, 0, 1, 0) and not row.down and row.last_attempt is None


def test_a_batch_holds_one_domain_so_it_follows_one_route() -> None:
    """Copies for two intake domains (a custom intake address) share `the.tdc.queue`."""
    now = ManualClock().now()
    queue = Destination(TDC_QUEUE, now)
    queue.entries = [QueueEntry(mid, "j@esa1.test", (f"tenant@{domain}",), (0,), InMemoryBody(b""), TDC_QUEUE,
                                RetrySchedule.starting(now), original_mid=mid - 1)
                     for mid, domain in [(2, "a.test"), (4, "b.test"), (6, "a.test"), (8, "a.test")]]
    assert [entry.mid for entry in queue.take_due(now, limit=10)] == [2, 6, 8]
    assert [entry.mid for entry in queue.take_due(now, limit=10)] == [4]
    assert queue.take_due(now, limit=10) == []


# --- delivery status --------------------------------------------------------------------------------


def test_a_delivered_copy_counts_once_delivered(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    row = status(tdc_sandbox, TDC_QUEUE)
    assert counters(row) == (0, 0, 1, 0, 0) and not row.down
    assert counters(status(tdc_sandbox, LOCAL)) == (0, 0, 1, 0, 0)


def test_a_retried_copy_stays_active_then_is_delivered(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.set_faults("threat_defense", "down")
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    row = status(tdc_sandbox, TDC_QUEUE)
    assert counters(row) == (1, 0, 0, 1, 0) and row.down
    tdc_sandbox.advance(timedelta(minutes=1))
    assert counters(status(tdc_sandbox, TDC_QUEUE)) == (1, 0, 0, 2, 0), "each failed attempt counts"
    tdc_sandbox.set_faults("threat_defense")
    tdc_sandbox.advance(tdc_sandbox.until_next_retry())
    row = status(tdc_sandbox, TDC_QUEUE)
    assert counters(row) == (0, 0, 1, 2, 0) and not row.down
    assert len(tdc_sandbox.journals()) == 1


def test_a_hard_bounced_copy_counts_as_hard_bounced(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.set_faults("threat_defense", "reply:RCPT=550")
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    row = status(tdc_sandbox, TDC_QUEUE)
    assert counters(row) == (0, 0, 0, 0, 1) and not row.down, "the host answered: it is up"
    assert counters(status(tdc_sandbox, LOCAL)) == (0, 0, 1, 0, 0), "the original is untouched"


def test_an_open_connection_counts_as_out_while_it_delivers(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.set_faults("mailbox", "delay:0.4")
    tdc_sandbox.send_accepted(tdc_messages.message())
    deadline, seen = time.monotonic() + 5, None
    while time.monotonic() < deadline:
        row = statuses(tdc_sandbox).get(LOCAL)
        if row is not None and row.connections_out:
            seen = counters(row)
            break
        time.sleep(0.01)
    assert seen == (1, 1, 0, 0, 0), "while delivering: one recipient active, one connection out"
    tdc_sandbox.set_faults("mailbox")  # the delay only kept the connection out until it was seen
    tdc_sandbox.settle()
    assert counters(status(tdc_sandbox, LOCAL)) == (0, 0, 1, 0, 0)


# --- idle destinations (issue 9): workers released, counters kept ------------------------------------


def workers(sandbox: SandboxFacade) -> dict[str, int]:
    """Each destination's worker tasks, read on the simulator's loop."""
    return sandbox._runner.run(lambda: {name: len(destination.tasks) for name, destination
                                        in sandbox.machine.queues.destinations.items()})


def released(sandbox: SandboxFacade) -> dict[str, bool]:
    now = sandbox.clock.now()
    return sandbox._runner.run(lambda: {name: destination.is_released(now) for name, destination
                                        in sandbox.machine.queues.destinations.items()})


def wait_for_workers_to_end(sandbox: SandboxFacade, *names: str) -> None:
    """Return once the worker tasks of `names` (default: all) have ended; TimeoutError if one never does."""
    async def ended() -> None:
        queues = sandbox.machine.queues.destinations
        await asyncio.wait_for(asyncio.gather(*(task for name in names or list(queues)
                                                for task in queues[name].tasks)), timeout=5)

    sandbox._runner.call(ended())


def test_an_idle_destination_ends_its_workers_keeps_its_counters_and_starts_them_again(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    busy = {LOCAL: CONNECTIONS_PER_DESTINATION, TDC_QUEUE: CONNECTIONS_PER_DESTINATION}
    assert workers(tdc_sandbox) == busy
    tdc_sandbox.advance(IDLE_RELEASE - timedelta(seconds=1))
    assert released(tdc_sandbox) == {LOCAL: False, TDC_QUEUE: False}
    before = statuses(tdc_sandbox)
    tdc_sandbox.advance(timedelta(seconds=1))
    wait_for_workers_to_end(tdc_sandbox)
    assert workers(tdc_sandbox) == {LOCAL: 0, TDC_QUEUE: 0}
    assert statuses(tdc_sandbox) == before and counters(before[LOCAL]) == (0, 0, 1, 0, 0)
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert workers(tdc_sandbox) == busy
    assert counters(status(tdc_sandbox, LOCAL)) == counters(status(tdc_sandbox, TDC_QUEUE)) == (0, 0, 2, 0, 0)
    assert len(tdc_sandbox.mailbox()) == len(tdc_sandbox.journals()) == 2


def test_a_queue_holding_an_entry_for_a_retry_keeps_its_workers(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.set_faults("threat_defense", "down")
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.advance(IDLE_RELEASE + timedelta(minutes=1))  # the copy waits an hour at most
    assert released(tdc_sandbox) == {LOCAL: True, TDC_QUEUE: False}
    wait_for_workers_to_end(tdc_sandbox, LOCAL)
    assert workers(tdc_sandbox) == {LOCAL: 0, TDC_QUEUE: CONNECTIONS_PER_DESTINATION}


def test_an_empty_queue_naps_until_it_may_be_released() -> None:
    now = ManualClock().now()
    queue = Destination(LOCAL, now)
    assert queue.nap(now) == IDLE_RELEASE.total_seconds() and not queue.is_released(now)
    assert queue.is_released(now + IDLE_RELEASE)
    queue.in_flight = 1
    assert not queue.is_released(now + IDLE_RELEASE), "a batch in flight keeps it"


# --- outbound failures in the vendor's words ----------------------------------------------------------

PYTHON_TEXT = r"Errno|_ssl\.c|\[SSL|Traceback|Error connecting|Connect call failed"


def dcid_lines(sandbox: SandboxFacade, dcid: str) -> list[str]:
    return [text for text in (line.text for line in sandbox.mail_log.lines())
            if re.search(rf"\bDCID {dcid}\b", text)]


def test_a_refused_connection_has_its_new_smtp_dcid_line_and_the_vendors_delayed_line(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    dead = dead_port()
    use_routes(tdc_sandbox, route(LOCAL, dead))
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    (delayed,) = texts(tdc_sandbox, rf"^Delayed: DCID \d+ MID {mid} ")
    dcid = delayed.split()[2]
    assert dcid_lines(tdc_sandbox, dcid) == [
        f"New SMTP DCID {dcid} interface {HOST} address {HOST} port {dead}",
        f"Delayed: DCID {dcid} MID {mid} to RID 0 - 4.4.0 - Connection refused",
        f"DCID {dcid} close"]
    assert texts(tdc_sandbox, PYTHON_TEXT) == []


def test_a_copy_failing_certificate_verification_is_logged_without_python_text(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="simulator.gateway.outbound_errors")
    td = tdc_sandbox.sandbox.threat_defense_server.port
    tdc_sandbox.set_faults("threat_defense", "untrusted-cert")
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    (failed,) = texts(tdc_sandbox, r"^DCID \d+ TLS failed")
    dcid = failed.split()[1]
    lines = dcid_lines(tdc_sandbox, dcid)
    assert lines == [f"New SMTP DCID {dcid} interface {HOST} address {HOST} port {td}",
                     f"DCID {dcid} TLS failed: certificate verification failed", f"DCID {dcid} close"]
    assert len(texts(tdc_sandbox, r"^TDC: Message \d+ delivery failed to Cisco Secure Email Threat "
                                  r"Defense: TLS Error\.$")) == 1, "the seed's line, as it was"
    assert texts(tdc_sandbox, PYTHON_TEXT) == []
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text, "the exception goes to the debug log"


def test_smtp_refusals_carry_the_reply_in_the_vendors_form(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.set_faults("mailbox", "reply:RCPT=451")
    delayed = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    tdc_sandbox.set_faults("mailbox", "reply:RCPT=550")
    bounced = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    reply = r"\['[245]\.\d\.\d+ [^']*'\]"
    assert texts(tdc_sandbox, rf"^Delayed: DCID \d+ MID {delayed} to RID 0 - 4\.0\.0 - Unknown address "
                              rf"error \('451', {reply}\) \[\]$")
    assert texts(tdc_sandbox, rf"^Bounced: DCID \d+ MID {bounced} to RID 0 - 5\.1\.0 - Unknown address "
                              rf"error \('550', {reply}\) \[\]$")
    events = [re.sub(r"^.*?\(GMT \+00:00\) ", "", event)
              for event in track(tdc_sandbox.mail_log.lines(), bounced)]
    assert [event for event in events if re.fullmatch(
        rf"\(DCID \d+\) Bounced delivery of message {bounced} to \S+@\S+: 5\.1\.0 - "
        rf"Unknown address error \('550', {reply}\) \[\]\.?", event)], events
