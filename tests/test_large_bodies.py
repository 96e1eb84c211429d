"""Large messages wait on disk, not in memory (BEHAVIOUR.md §9.5), through a running sandbox: a queued
original, its journal copy and a quarantined message hold a reference into their spool unit; each is
delivered byte for byte after a retry, a restart and a release; a body that cannot be read back parks
its entry alone (one Critical line) while the others are delivered; without a data dir, bodies stay in
memory and are delivered the same. The endpoints' records keep a large message's file, not its bytes."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
import string
from collections.abc import Callable
from datetime import timedelta

import pytest

from simulator.core.errors import NotFound, Refused
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.journal import embedded_original
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import TDC_QUEUE, HeldMessage
from simulator.core.mail.samples import MessageFactory, Outgoing
from simulator.core.mail.scanning import GTUBE
from simulator.core.reports.logformat import Level
from simulator.endpoints.kept import StoredFile
from simulator.gateway.bodies import DEFAULT_THRESHOLD, SpooledBody
from simulator.gateway.delivery import CONNECTIONS_PER_DESTINATION
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, running, spooled
from simulator.transport.tls import SandboxTls

LOCAL = "example.com"
TRACE_END = b"X-IronPort-RemoteIP: 127.0.0.1\r\n"  # the last header the gateway prepends


def large(messages: MessageFactory, first_line: str = "") -> Outgoing:
    """A seeded message of about 100 KB, above the spool's default threshold."""
    rng = random.Random(messages.seed)
    lines = ["".join(rng.choices(string.ascii_letters + string.digits + " .", k=76)) for _ in range(1300)]
    mail = messages.message(body=first_line + "\n".join(lines) + "\n")
    assert len(mail.data) > DEFAULT_THRESHOLD
    return mail




def assert_delivered_whole(sandbox: SandboxFacade, mail: Outgoing, kept: type = StoredFile) -> None:
    """The mailbox has exactly the bytes sent (after the gateway's trace headers), and Threat
    Defense's journal embeds exactly what the mailbox got; both endpoints' records keep the large
    message as `kept` (with a data dir: its file, not its bytes)."""
    (delivery,) = sandbox.mailbox()
    assert delivery.data.partition(TRACE_END)[2] == mail.data
    (journal,) = sandbox.journals()
    assert embedded_original(journal.data) == delivery.data
    assert isinstance(delivery.body, kept) and isinstance(journal.body, kept)


def held(sandbox: SandboxFacade, mid: int) -> HeldMessage:
    return sandbox._runner.run(lambda: sandbox.machine.quarantines.get(mid))


def test_a_queued_large_message_and_its_copy_are_references_delivered_whole_after_a_restart(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    mail = large(tdc_messages)
    with running(tdc_sandbox_settings, tdc_tls) as first:
        first.set_faults("mailbox", "down")
        first.set_faults("threat_defense", "down")
        first.send_accepted(mail)
        first.settle()
        (original,), (copy,) = first.queued(LOCAL), first.queued(TDC_QUEUE)
        for entry in (original, copy):
            assert isinstance(entry.body, SpooledBody), "a large body waits on disk, not in memory"
            assert entry.body.path.parent.name == "queue"
        assert original.body.read().partition(TRACE_END)[2] == mail.data
        assert embedded_original(copy.body.read()) == original.body.read()
    with running(tdc_sandbox_settings, tdc_tls) as second:
        second.settle()
        assert_delivered_whole(second, mail)
    assert spooled(tdc_sandbox_settings) == []


def test_a_large_message_retried_is_read_back_and_delivered_whole(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = large(tdc_messages)
    tdc_sandbox.set_faults("mailbox", "down")
    mid = tdc_sandbox.send_accepted(mail)
    tdc_sandbox.settle()
    (waiting,) = tdc_sandbox.queued(LOCAL)
    assert (waiting.mid, waiting.state, waiting.schedule.failures) == (mid, MessageState.DEFERRED, 1)
    assert isinstance(waiting.body, SpooledBody)
    tdc_sandbox.set_faults("mailbox")
    tdc_sandbox.advance(timedelta(seconds=60))
    assert_delivered_whole(tdc_sandbox, mail)
    assert tdc_sandbox.queued(LOCAL) == [] and spooled(tdc_sandbox.sandbox.settings) == []


def test_a_large_quarantined_message_is_a_reference_and_released_whole_after_a_restart(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    mail = large(tdc_messages, first_line=f"{GTUBE.decode()}\n")
    with running(tdc_sandbox_settings, tdc_tls) as first:
        mid = first.send_accepted(mail)
        first.settle()
        body = held(first, mid).body
        assert isinstance(body, SpooledBody) and body.read() == mail.data
        assert first.mailbox() == [] and first.journals() == []
    with running(tdc_sandbox_settings, tdc_tls) as second:
        assert isinstance(held(second, mid).body, SpooledBody)
        assert second.release(mid) == f'Message {mid} released from quarantine "Spam Quarantine".'
        second.settle()
        assert_delivered_whole(second, mail)
    assert spooled(tdc_sandbox_settings) == []


def removed(body: SpooledBody) -> None:
    body.path.unlink()


def cut_short(body: SpooledBody) -> None:
    with body.path.open("r+b") as stream:
        stream.truncate(body.offset + body.size - 10)


def changed(body: SpooledBody) -> None:
    with body.path.open("r+b") as stream:
        stream.seek(body.offset + body.size // 2)
        stream.write(b"#")


@pytest.mark.parametrize("damage", [removed, cut_short, changed])
def test_a_body_that_cannot_be_read_back_parks_its_entry_once_and_the_others_are_delivered(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, damage: Callable[[SpooledBody], None]
) -> None:
    tdc_sandbox.expect_warning("internal error")
    tdc_sandbox.set_faults("mailbox", "down")
    other_mail = large(tdc_messages)
    damaged = tdc_sandbox.send_accepted(large(tdc_messages))
    other = tdc_sandbox.send_accepted(other_mail)
    tdc_sandbox.settle()
    (body,) = [entry.body for entry in tdc_sandbox.queued(LOCAL) if entry.mid == damaged]
    assert isinstance(body, SpooledBody)
    damage(body)
    tdc_sandbox.set_faults("mailbox")
    tdc_sandbox.advance(timedelta(seconds=60))  # both due again: one batch, one connection
    [line] = [line.text for line in tdc_sandbox.mail_log.lines() if line.level is Level.CRITICAL]
    assert re.match(rf"^MID {damaged} to RID \[0\] internal error, delivery retried at .*: "
                    rf"UnreadableBody\('message bytes in {re.escape(str(body.path))} ", line)
    assert tdc_sandbox.mail_log.matching(rf"^Message done DCID \d+ MID {other} ")
    (delivery,) = tdc_sandbox.mailbox()
    assert delivery.data.partition(TRACE_END)[2] == other_mail.data
    assert [(e.mid, e.state, e.schedule.failures) for e in tdc_sandbox.queued(LOCAL)] == [
        (damaged, MessageState.DEFERRED, 2)]
    good = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert tdc_sandbox.mail_log.matching(rf"^Message done DCID \d+ MID {good} ")
    live = tdc_sandbox._runner.run(
        lambda: sum(not task.done() for task in tdc_sandbox.machine.queues.destinations[LOCAL].tasks))
    assert live == CONNECTIONS_PER_DESTINATION


def test_without_a_data_dir_a_large_message_waits_in_memory_and_is_delivered_whole(
    tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    settings = SandboxSettings(data_dir=None, inbound_port=0, relay_port=0, threat_defense_port=0,
                               mailbox_port=0)
    mail = large(tdc_messages)
    with running(settings, tdc_tls) as sandbox:
        sandbox.set_faults("mailbox", "down")
        sandbox.send_accepted(mail)
        sandbox.settle()
        (waiting,) = sandbox.queued(LOCAL)
        assert isinstance(waiting.body, InMemoryBody)
        sandbox.set_faults("mailbox")
        sandbox.advance(timedelta(seconds=60))
        assert_delivered_whole(sandbox, mail, kept=InMemoryBody)


def test_the_threshold_is_a_setting(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_sandbox_settings: SandboxSettings,
    tdc_messages: MessageFactory,
) -> None:
    """With a threshold above the message's size, it waits in memory even with a data dir."""
    sandbox = tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, spool_body_threshold=10**6))
    sandbox.set_faults("mailbox", "down")
    sandbox.send_accepted(large(tdc_messages))
    sandbox.settle()
    (waiting,) = sandbox.queued(LOCAL)
    assert isinstance(waiting.body, InMemoryBody)
    assert len(spooled(tdc_sandbox_settings)) == 2  # still on disk: the unit and its state


def test_a_quarantined_message_whose_bytes_cannot_be_read_stays_held_and_says_why(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.expect_warning("cannot be released")
    mid = tdc_sandbox.send_accepted(large(tdc_messages, first_line=f"{GTUBE.decode()}\n"))
    tdc_sandbox.settle()
    body = held(tdc_sandbox, mid).body
    assert isinstance(body, SpooledBody)
    changed(body)
    with pytest.raises(Refused, match=r"changed since they were stored .*; nothing changed$") as refused:
        tdc_sandbox.admin_client().call("POST", "/quarantine/release", {"mid": mid})
    assert refused.value.status == 503
    assert held(tdc_sandbox, mid).body == body
    [line] = [line.text for line in tdc_sandbox.mail_log.lines() if line.level is Level.CRITICAL]
    assert line.startswith(f'MID {mid} cannot be released, it stays in quarantine "Spam Quarantine": '
                           f"message bytes in {body.path} changed")
    assert tdc_sandbox.mailbox() == [] and tdc_sandbox.journals() == []


def test_two_releases_at_once_deliver_the_message_once(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    """The held bytes are read off the event loop: a second release meanwhile finds nothing."""
    mail = large(tdc_messages, first_line=f"{GTUBE.decode()}\n")
    mid = tdc_sandbox.send_accepted(mail)
    tdc_sandbox.settle()
    pipeline = tdc_sandbox.machine.pipeline

    async def both() -> tuple[str | BaseException, str | BaseException]:
        return await asyncio.gather(pipeline.release(mid), pipeline.release(mid), return_exceptions=True)

    first, second = tdc_sandbox._runner.call(both())
    assert first == f'Message {mid} released from quarantine "Spam Quarantine".'
    assert isinstance(second, NotFound)
    tdc_sandbox.settle()
    assert_delivered_whole(tdc_sandbox, mail)
