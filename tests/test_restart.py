"""Durability across restarts, and what the listener answers when it cannot store."""

from __future__ import annotations

import shutil

from simulator.core import replies
from simulator.core.mail.messages import TDC_QUEUE
from simulator.core.mail.samples import MessageFactory
from simulator.defaults import machine_dir
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, running, spooled
from simulator.testing.smtp_client import send
from simulator.transport.tls import SandboxTls


def test_a_restart_delivers_what_was_still_queued_at_once(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message()
    with running(tdc_sandbox_settings, tdc_tls) as first:
        first._runner.call(first.sandbox.threat_defense_server.stop())
        assert send(*first.listener_address("inbound"), mail).accepted
        first.settle()
        (copy,) = first.queued(TDC_QUEUE)
        assert first.journals() == [] and len(first.mailbox()) == 1
    # the copy's message is one unit (named by its first entry); the original is done, the copy not
    unit = f"{copy.original_mid}-0"
    assert spooled(tdc_sandbox_settings) == [f"{unit}.state", f"{unit}.unit"]
    with running(tdc_sandbox_settings, tdc_tls) as second:
        second.settle()
        (journal,) = second.journals()
        assert int(journal.data.split(b"X-IronPort-MID: ")[1].split(b"\r")[0]) == copy.original_mid
        second.mail_log.wait_for(rf"TDC: Message {copy.mid} delivered to Cisco Secure Email Threat Defense")
        assert second.mailbox() == [] and second.queued(TDC_QUEUE) == []
        assert second.mail_log.matching(r"Start MID (\d+)") == []
    assert spooled(tdc_sandbox_settings) == []


def test_mids_continue_after_a_restart(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    with running(tdc_sandbox_settings, tdc_tls) as first:
        first_mid = send(*first.listener_address("inbound"), tdc_messages.message()).mid
        first.settle()
    with running(tdc_sandbox_settings, tdc_tls) as second:
        second_mid = send(*second.listener_address("inbound"), tdc_messages.message()).mid
        second.settle()
    assert first_mid is not None and second_mid is not None and second_mid > first_mid + 1


def test_a_corrupt_spool_entry_is_moved_aside_and_the_rest_delivered(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    with running(tdc_sandbox_settings, tdc_tls) as first:
        first._runner.call(first.sandbox.threat_defense_server.stop())
        for _ in range(2):
            assert send(*first.listener_address("inbound"), tdc_messages.message()).accepted
        first.settle()
    assert tdc_sandbox_settings.data_dir is not None
    spool = machine_dir(tdc_sandbox_settings.data_dir, "esa1") / "spool"
    victim = sorted((spool / "queue").glob("*.unit"))[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    damaged = victim.read_bytes()
    with running(tdc_sandbox_settings, tdc_tls) as second:
        second.expect_warning(r"Spool entry .* is corrupt")
        second.settle()
        second.mail_log.wait_for(rf"Spool entry {victim.name} is corrupt")
        assert len(second.journals()) == 1
        assert second.unexpected_warnings() == []
    assert (spool / "corrupt" / victim.name).read_bytes() == damaged


def test_a_spool_that_cannot_be_written_gets_451_and_nothing_is_queued(
    tdc_sandbox: SandboxFacade, tdc_sandbox_settings: SandboxSettings, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.expect_warning(r"could not be stored, answered 451")
    assert tdc_sandbox_settings.data_dir is not None
    queue = machine_dir(tdc_sandbox_settings.data_dir, "esa1") / "spool" / "queue"
    shutil.rmtree(queue, ignore_errors=True)
    queue.parent.mkdir(parents=True, exist_ok=True)
    queue.write_text("a file where the queue folder should be")
    outcome = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message())
    assert outcome.data_reply == (replies.CANNOT_STORE.code,
                                  f"{replies.CANNOT_STORE.enhanced} {replies.CANNOT_STORE.text}")
    tdc_sandbox.settle()
    assert tdc_sandbox.mailbox() == [] and tdc_sandbox.journals() == []
    assert tdc_sandbox.mail_log.matching("queued for delivery") == []


def test_a_quarantined_message_survives_a_restart_and_can_be_released(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    with running(tdc_sandbox_settings, tdc_tls) as first:
        mid = send(*first.listener_address("inbound"), tdc_messages.with_gtube()).mid
        first.settle()
        assert mid in first.machine.quarantines.held and first.mailbox() == []
    with running(tdc_sandbox_settings, tdc_tls) as second:
        assert mid is not None and mid in second.machine.quarantines.held
        second.release(mid)
        second.settle()
        assert len(second.mailbox()) == 1 and len(second.journals()) == 1
    assert tdc_sandbox_settings.data_dir is not None
    assert list((machine_dir(tdc_sandbox_settings.data_dir, "esa1") / "quarantine").glob("*.held")) == []
