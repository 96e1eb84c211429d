"""An open connection carries more than its batch (BEHAVIOUR.md §4.3, issue 13), over real sockets
with STARTTLS: once its batch is sent, a connection with room lingers for the next due entries of its
destination and domain, up to 10 messages, and a new one opens for the 11th. A peer that closed the
idle connection costs an entry nothing; a commit, `stop` and `settle` end the lingering at once.
`LINGER` is made longer than any wait here, so that a test sees what lingering does, not a race."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from simulator.core.config.values import NextHop, SmtpRoute, domain_of
from simulator.core.mail.messages import TDC_QUEUE
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.status import DestinationStatus
from simulator.endpoints.threat_defense import JournalRecord
from simulator.gateway import delivery
from simulator.testing.harness import SandboxFacade

HOST = "127.0.0.1"
LONG_LINGER = 30.0  # seconds: a test that waited for it would run into the facade's timeout
QUICK = 5.0  # seconds: a settle or stop that waited for LINGER would not be done by then
FAILED = r"^TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense: "  # a copy's attempt


@pytest.fixture(autouse=True)
def long_linger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "LINGER", LONG_LINGER)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + QUICK
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def journals_reach(sandbox: SandboxFacade, count: int) -> Callable[[], bool]:
    """The condition that `sandbox` has stored at least `count` journals."""
    return lambda: len(sandbox.journals()) >= count


def send_paced(sandbox: SandboxFacade, messages: MessageFactory, count: int) -> list[JournalRecord]:
    """Send `count` messages, each once the previous one's journal is stored (no settle between)."""
    first = len(sandbox.journals()) + 1
    for number in range(first, first + count):
        sandbox.send_accepted(messages.message())
        wait_until(journals_reach(sandbox, number), f"journal {number} never arrived")
    return sandbox.journals()


def td_connections(sandbox: SandboxFacade) -> list[str]:
    """The gateway's `New SMTP DCID` lines towards Threat Defense."""
    port = sandbox.sandbox.threat_defense_server.port
    return [line.text for line in sandbox.mail_log.matching(rf"^New SMTP DCID \d+ .* port {port}$")]


def tdc_status(sandbox: SandboxFacade) -> DestinationStatus:
    (row,) = [row for row in sandbox.status() if row.host == TDC_QUEUE]
    return row


def test_ten_paced_copies_share_one_connection_and_the_eleventh_opens_another(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    journals = send_paced(tdc_sandbox, tdc_messages, 11)
    assert [journal.message_on_connection for journal in journals] == [*range(1, 11), 1]
    assert len({journal.connection for journal in journals[:10]}) == 1
    assert journals[10].connection != journals[0].connection
    assert len(td_connections(tdc_sandbox)) == 2, "one New SMTP DCID line per connection"
    # the 11th journal is stored before its original's mailbox delivery may be logged: wait for that line
    done = tdc_sandbox.mail_log.wait_for(r"^Message done DCID \d+ MID \d+ to RID \[0\]$", count=22)
    starts = tdc_sandbox.mail_log.matching(r"^Delivery start DCID \d+ MID \d+ to RID \[0\]$")
    assert len(starts) == len(done) == 22, "the lines of each message, originals and copies, as before"


def test_a_lingering_connection_is_out_and_settling_closes_it_without_waiting(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    send_paced(tdc_sandbox, tdc_messages, 1)
    row = tdc_status(tdc_sandbox)
    assert (row.active_recipients, row.connections_out, row.delivered_recipients) == (0, 1, 1)
    tdc_sandbox.settle(timeout=QUICK)  # TimeoutError if it waited for LINGER
    row = tdc_status(tdc_sandbox)
    assert (row.active_recipients, row.connections_out, row.delivered_recipients) == (0, 0, 1)
    (connected,) = td_connections(tdc_sandbox)
    dcid = connected.split()[3]
    assert tdc_sandbox.mail_log.matching(rf"^DCID {dcid} close$")


def test_a_peer_that_closed_the_idle_connection_costs_the_next_copy_nothing(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    send_paced(tdc_sandbox, tdc_messages, 1)
    tdc_sandbox.set_faults("threat_defense", "down")  # closes every connection it has
    tdc_sandbox.set_faults("threat_defense")
    journals = send_paced(tdc_sandbox, tdc_messages, 1)  # the manual clock never moves: no retry runs
    assert journals[1].connection != journals[0].connection
    assert journals[1].message_on_connection == 1
    assert not tdc_sandbox.mail_log.matching(FAILED), "no failed attempt, no retry"
    assert tdc_sandbox.queued(TDC_QUEUE) == []


@pytest.mark.parametrize("fault", ["drop:MAIL", "reply:MAIL=421"])
def test_a_peer_that_closes_as_the_copy_comes_costs_one_attempt_on_a_fresh_connection(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, fault: str
) -> None:
    """The lingering connection's MAIL finds the peer gone (no reply, or `421` closing): not an
    attempt; the fresh connection that takes the copy at once is, and its failure is retried as usual."""
    send_paced(tdc_sandbox, tdc_messages, 1)
    tdc_sandbox.set_faults("threat_defense", fault)
    tdc_sandbox.send_accepted(tdc_messages.message())
    (failed,) = tdc_sandbox.mail_log.wait_for(FAILED)
    copy_failed = re.sub(r"Message \d+", "Message {copy}", failed.text)
    drops = [attempt for attempt in tdc_sandbox.refused("threat_defense") if attempt.command == "MAIL"]
    assert len(drops) == 2 and drops[0].connection != drops[1].connection
    assert len(td_connections(tdc_sandbox)) == 2
    (copy,) = tdc_sandbox.queued(TDC_QUEUE)
    assert copy.schedule.failures == 1
    assert len(tdc_sandbox.mail_log.matching(FAILED)) == 1
    assert copy_story(tdc_sandbox, copy.mid) == [
        "Delivery start DCID {given back} MID {copy} to RID [0]", "DCID {given back} close",
        "Delivery start DCID {fresh} MID {copy} to RID [0]", copy_failed, "DCID {fresh} close",
    ], "the attempt given back has no outcome line of its own: its connection's close ends it"
    tdc_sandbox.set_faults("threat_defense")
    tdc_sandbox.advance(tdc_sandbox.until_next_retry())
    assert len(tdc_sandbox.journals()) == 2


def copy_story(sandbox: SandboxFacade, mid: int) -> list[str]:
    """Copy `mid`'s lines from its first `Delivery start` on, with its connections' `close` lines; the
    IDs named by their part: `{copy}`, and `{given back}` and `{fresh}` for the connections in order."""
    texts = [line.text for line in sandbox.mail_log.lines()]
    start = rf"Delivery start DCID \d+ MID {mid} to RID \[0\]"
    starts = [text for text in texts if re.fullmatch(start, text)]
    names = {f"DCID {text.split()[3]}": f"DCID {name}" for text, name in
             zip(starts, ("{given back}", "{fresh}"), strict=True)}
    story = [re.sub(r"DCID \d+", lambda dcid: names.get(dcid[0], dcid[0]), text)
             for text in texts[texts.index(starts[0]):]
             if re.search(rf"\b(MID|Message) {mid}\b", text) or text.removesuffix(" close") in names]
    return [re.sub(rf"\b(MID|Message) {mid}\b", r"\1 {copy}", text) for text in story]


def test_a_commit_during_lingering_is_obeyed_by_the_next_copy(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    send_paced(tdc_sandbox, tdc_messages, 1)
    intake = tdc_sandbox.config.connector.intake_address
    mailbox = NextHop(HOST, tdc_sandbox.sandbox.mailbox_server.port)
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(
        config, routes=(SmtpRoute(domain_of(intake), (mailbox,)), *config.routes)))
    tdc_sandbox.send_accepted(tdc_messages.message())
    wait_until(lambda: len(tdc_sandbox.mailbox(intake)) == 1, "the copy did not follow the new route")
    assert len(tdc_sandbox.journals()) == 1, "not over the connection opened before the commit"


def test_a_commit_disabling_the_connector_during_lingering_is_obeyed_by_the_next_message(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    send_paced(tdc_sandbox, tdc_messages, 1)
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(
        config, connector=dataclasses.replace(config.connector, enabled=False)))
    tdc_sandbox.send_accepted(tdc_messages.message())
    wait_until(lambda: len(tdc_sandbox.mailbox()) == 2, "the second original never arrived")
    tdc_sandbox.settle(timeout=QUICK)
    assert len(tdc_sandbox.journals()) == 1 and tdc_sandbox.queued(TDC_QUEUE) == []
    first, second = tdc_sandbox.mail_log.matching(r"^Delivery start DCID \d+ MID (1|3) to")
    assert first.text.split()[3] != second.text.split()[3], "the original too: a connection of its own"


def test_stop_ends_lingering_at_once_and_says_quit(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    quits: list[int] = []

    async def handle_quit(server: Any, session: Any, envelope: Any) -> str:
        quits.append(server.connection.number)
        return "221 Bye"

    tdc_sandbox.sandbox.threat_defense_server.handler.handle_QUIT = handle_quit  # type: ignore[attr-defined]
    (journal,) = send_paced(tdc_sandbox, tdc_messages, 1)
    assert quits == [], "the connection lingers"
    tdc_sandbox._runner.call(tdc_sandbox.machine.queues.stop(), timeout=QUICK)
    wait_until(lambda: quits == [journal.connection], "no QUIT")
