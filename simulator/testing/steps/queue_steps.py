"""Steps about queued copies, bounces, DSNs and message tracking."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

from pytest_bdd import given, parsers, then, when

from simulator.core.config.values import GatewayConfig, NextHop, SmtpRoute
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import TDC_QUEUE
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.status import DestinationStatus
from simulator.core.reports.tracking import track
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send
from simulator.testing.steps.sending_steps import Sent

EVENT_RE = re.compile(r"^\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \(GMT \+00:00\) (.*)$")


def copy_mid(sandbox: SandboxFacade, sent: Sent) -> int:
    """The MID of the journal copy made of the message a step sent."""
    assert sent.outcome is not None and sent.outcome.mid is not None, sent.outcome
    (line,) = sandbox.mail_log.wait_for(rf"TDC: Message \d+ created from message {sent.outcome.mid} ")
    found = re.search(r"Message (\d+)", line.text)
    assert found is not None
    return int(found.group(1))


@given(parsers.parse("{count:d} incoming message has already been delivered and copied"))
def already_copied(sandbox: SandboxFacade, tdc_messages: MessageFactory, count: int) -> None:
    for _ in range(count):
        assert send(*sandbox.listener_address("inbound"), tdc_messages.message()).accepted
    sandbox.settle()
    assert len(sandbox.journals()) == count


@given(parsers.parse('mail for "{domain}" is routed to the Threat Defense endpoint'))
def route_to_threat_defense(sandbox: SandboxFacade, domain: str) -> None:
    host, port = sandbox.listener_address("threat_defense")

    def add_route(config: GatewayConfig) -> GatewayConfig:
        route = SmtpRoute(domain, hosts=(NextHop(host, port),))
        return dataclasses.replace(config, routes=(route, *config.routes),
                                   local_domains=(*config.local_domains, domain))

    sandbox.reconfigure(add_route)


@when(parsers.parse("{count:d} incoming messages are sent through the public listener"),
      target_fixture="sent")
def many_incoming(sandbox: SandboxFacade, tdc_messages: MessageFactory, count: int) -> Sent:
    for _ in range(count):
        mail = tdc_messages.message()
        outcome = send(*sandbox.listener_address("inbound"), mail)
        assert outcome.accepted, outcome
    return Sent(mail, outcome)


@then(parsers.parse("the gateway answers 250 and names MID {mid:d}"))
def answered_mid(sent: Sent, mid: int) -> None:
    assert sent.outcome is not None and sent.outcome.mid == mid, sent.outcome


@then(parsers.re(r'the mail log shows, for the copy, "(?P<line>[^"]+)"(?: (?P<count>\d+) times)?'))
def copy_line(sandbox: SandboxFacade, sent: Sent, line: str, count: str | None) -> None:
    """The line, word for word, with <copy MID> the MID of the sent message's journal copy."""
    expected = f"^{re.escape(line.replace('<copy MID>', str(copy_mid(sandbox, sent))))}$"
    sandbox.mail_log.wait_for(expected, count=int(count or 1))
    assert len(sandbox.mail_log.matching(expected)) == int(count or 1)


@then(parsers.re(r'the mail log shows "(?P<pattern>.+)" (?P<count>\d+) times'))
def mail_log_shows_times(sandbox: SandboxFacade, pattern: str, count: str) -> None:
    sandbox.settle()
    assert len(sandbox.mail_log.matching(pattern)) == int(count)


@then("the copy is still queued for retry")
def copy_still_queued(sandbox: SandboxFacade, sent: Sent) -> None:
    sandbox.settle()
    mid = copy_mid(sandbox, sent)
    states = [e.state for e in sandbox.queued(TDC_QUEUE) if e.mid == mid]
    assert states == [MessageState.DEFERRED], states


@then("the copy is no longer queued")
def copy_gone(sandbox: SandboxFacade, sent: Sent) -> None:
    sandbox.settle()
    mid = copy_mid(sandbox, sent)
    assert [e for e in sandbox.queued(TDC_QUEUE) if e.mid == mid] == []


@then(parsers.parse("the.tdc.queue holds {count:d} copies"))
def tdc_queue_holds(sandbox: SandboxFacade, count: int) -> None:
    sandbox.settle()
    assert len(sandbox.queued(TDC_QUEUE)) == count


@then("no DSN is sent")
def no_dsn(sandbox: SandboxFacade) -> None:
    sandbox.settle()
    assert sandbox.mail_log.matching("was generated based on MID") == []
    assert [d for d in sandbox.mailbox() if d.mail_from == ""] == []


@then(parsers.parse('the sender receives a DSN naming "{address}"'))
def sender_gets_dsn(sandbox: SandboxFacade, sent: Sent, address: str) -> None:
    sandbox.settle()
    (dsn,) = [d for d in sandbox.mailbox(sent.mail.mail_from) if d.mail_from == ""]
    assert b"multipart/report" in dsn.data and address.encode() in dsn.data


@then(parsers.parse("the journals arrived over {count:d} connections carrying {sizes}"))
def journal_connections(sandbox: SandboxFacade, count: int, sizes: str) -> None:
    per_connection = Counter(record.connection for record in sandbox.journals())
    expected = sorted((int(n) for n in re.split(r",\s*|\s+and\s+", sizes)), reverse=True)
    assert len(per_connection) == count
    assert sorted(per_connection.values(), reverse=True) == expected


@then(parsers.parse("tracking message {mid:d} shows, in this order:"))
def tracking_in_order(sandbox: SandboxFacade, sent: Sent, mid: int, datatable: list[list[str]]) -> None:
    """The message's own events in the table's order; its copy's `TDC:` events after it was queued.

    The original and its copy go through independent queues, so their lines interleave freely.
    """
    sandbox.settle()
    events = [EVENT_RE.sub(r"\1", line) for line in track(sandbox.mail_log.lines(), mid)]
    rows = [row[0] for row in datatable[1:]]
    remaining = iter(events)
    for row in (row for row in rows if not row.startswith("TDC:")):
        pattern = _template(row, sent)
        assert any(pattern.fullmatch(event) for event in remaining), (pattern.pattern, events)
    queued = next(i for i, event in enumerate(events) if event.endswith("queued for delivery."))
    for row in (row for row in rows if row.startswith("TDC:")):
        pattern = _template(row, sent)
        assert any(pattern.fullmatch(event) for event in events[queued:]), (pattern.pattern, events)


def _template(row: str, sent: Sent) -> re.Pattern[str]:
    """A table row as a pattern: <recipient> is the sent recipient, <n> a number, <response> any text."""
    pattern = re.escape(row)
    pattern = pattern.replace(re.escape("<recipient>"), re.escape(sent.mail.rcpt_tos[0]))
    pattern = pattern.replace(re.escape("<n>"), r"\d+").replace(re.escape("<response>"), r"[^\"]+")
    return re.compile(pattern)


COLUMNS = {
    "Active Recipients": "active_recipients",
    "Connections Out": "connections_out",
    "Delivered Recipients": "delivered_recipients",
    "Soft Bounced Events": "soft_bounced_events",
    "Hard Bounced Recipients": "hard_bounced_recipients",
}


def destination_status(sandbox: SandboxFacade, destination: str, machine: str) -> DestinationStatus:
    sandbox.settle()
    (row,) = [row for row in sandbox.status(machine) if row.host == destination]
    return row


@then(parsers.parse("the delivery status of {destination} on {machine} is:"))
def delivery_status_is(
    sandbox: SandboxFacade, destination: str, machine: str, datatable: list[list[str]]
) -> None:
    header, values = datatable
    row = destination_status(sandbox, destination, machine)
    shown = {name: getattr(row, COLUMNS[name]) for name in header}
    assert shown == {name: int(value) for name, value in zip(header, values, strict=True)}, row


@then(parsers.re(r"the delivery status of (?P<destination>\S+) on (?P<machine>esa\d+) shows "
                 r"(?P<count>\d+) delivered recipients?"))
def delivered_recipients(sandbox: SandboxFacade, destination: str, machine: str, count: str) -> None:
    assert destination_status(sandbox, destination, machine).delivered_recipients == int(count)
