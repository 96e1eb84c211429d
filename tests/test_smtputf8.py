"""Non-ASCII addresses (RFC 6531): accepted only with SMTPUTF8, delivered with SMTPUTF8 when the next
hop offers it, hard-bounced with 5.6.7 (a DSN, never a retry) when it does not. Over real sockets."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from simulator.core.clock import ManualClock
from simulator.core.config.values import NextHop, SmtpRoute
from simulator.core.mail.journal_check import report_fields
from simulator.core.mail.samples import Outgoing
from simulator.endpoints.mailbox import MailboxHandler, MailboxStore
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send
from simulator.transport.server import SmtpServer

BODY = "Subject: Grüße\r\nMessage-ID: <utf8@outside.test>\r\n\r\nHallo\r\n".encode()


def send_utf8(address: tuple[str, int], sender: str, recipient: str) -> tuple[int, str]:
    """BODY from `sender` to `recipient` with SMTPUTF8 (smtplib refuses if it is not offered)."""
    outcome = send(*address, Outgoing(sender, (recipient,), BODY), mail_options=("SMTPUTF8",))
    assert outcome.mail_reply[0] == 250
    assert outcome.rcpt_replies[recipient][0] == 250
    assert outcome.data_reply is not None
    return outcome.data_reply


@pytest.fixture
def plain_next_hop() -> Iterator[tuple[SmtpServer, MailboxStore]]:
    """A mail server of its own (own thread and loop) that does not offer SMTPUTF8."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    store = MailboxStore(None, ManualClock())
    server = SmtpServer("plain host", MailboxHandler(store), "127.0.0.1", 0, enable_SMTPUTF8=False)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server, store
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def plain_route(tdc_sandbox: SandboxFacade, plain_next_hop: tuple[SmtpServer, MailboxStore]) -> MailboxStore:
    """Mail for example.com routed to `plain_next_hop`; what it stores."""
    server, store = plain_next_hop
    route = SmtpRoute("example.com", (NextHop(server.host, server.port),))
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(c, routes=(route,)))
    return store


def test_a_non_ascii_envelope_is_delivered_with_smtputf8_and_journaled(tdc_sandbox: SandboxFacade) -> None:
    code, _ = send_utf8(tdc_sandbox.listener_address("inbound"), "jörg@outside.test", "zoë@example.com")
    assert code == 250
    tdc_sandbox.settle()
    (delivery,) = tdc_sandbox.mailbox("zoë@example.com")
    assert delivery.mail_from == "jörg@outside.test"
    assert delivery.data.endswith(BODY)
    (journal,) = tdc_sandbox.journals()
    assert journal.valid
    fields = report_fields(journal.data)
    assert (fields["Sender"], fields["To"]) == (["jörg@outside.test"], ["zoë@example.com"])


def test_a_next_hop_without_smtputf8_hard_bounces_it_at_once_with_5_6_7(
    tdc_sandbox: SandboxFacade, plain_route: MailboxStore
) -> None:
    store = plain_route
    code, _ = send_utf8(tdc_sandbox.listener_address("inbound"), "alice@outside.test", "zoë@example.com")
    assert code == 250
    tdc_sandbox.mail_log.wait_for(r"Bounced: DCID \d+ MID \d+ to RID 0 - 5\.6\.7 - The next hop "
                                  r"does not offer SMTPUTF8")
    tdc_sandbox.settle()
    assert tdc_sandbox.mail_log.matching(r"Delayed:|Connection failed") == []
    (dsn,) = tdc_sandbox.mailbox("alice@outside.test")
    assert b"Status: 5.6.7" in dsn.data and "zoë@example.com".encode() in dsn.data
    assert store.deliveries.snapshot() == []
    assert len(tdc_sandbox.journals()) == 1, "the copy went to Threat Defense as usual"
    tdc_sandbox.advance(timedelta(hours=73))
    assert tdc_sandbox.queued("example.com") == []


def test_an_ascii_envelope_still_goes_to_a_next_hop_without_smtputf8(
    tdc_sandbox: SandboxFacade, plain_route: MailboxStore
) -> None:
    store = plain_route
    code, _ = send_utf8(tdc_sandbox.listener_address("inbound"), "alice@outside.test", "bob@example.com")
    assert code == 250
    tdc_sandbox.settle()
    (delivery,) = store.deliveries.snapshot()
    assert delivery.recipient == "bob@example.com"
