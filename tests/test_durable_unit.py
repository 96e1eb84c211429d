"""One message, one durable unit, through a running sandbox: a message held for some recipients and
queued (and copied) for others is stored as one spool file; when that file cannot be stored the
client gets 451 and nothing of the message is held, queued, or found after a restart."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from simulator.core import replies
from simulator.core.config.values import MailPolicy
from simulator.core.mail.samples import MessageFactory
from simulator.defaults import machine_dir
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.units import decode_unit
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import running, spooled
from simulator.testing.smtp_client import send
from simulator.transport.tls import SandboxTls

VIP, BOB = "vip@example.com", "bob@example.com"


@pytest.fixture
def tdc_sandbox_settings(tmp_path: Path) -> SandboxSettings:
    """VIP's policy scans for no spam: a GTUBE message to VIP and Bob is queued for VIP, held for Bob."""
    settings = SandboxSettings(data_dir=tmp_path / "data", inbound_port=0, relay_port=0,
                               threat_defense_port=0, mailbox_port=0)
    policies = (MailPolicy("VIP", (VIP,), anti_spam=False), MailPolicy("DEFAULT"))
    return dataclasses.replace(settings, gateway=dataclasses.replace(settings.gateway,
                                                                     incoming_policies=policies))



def machine_folder(settings: SandboxSettings) -> Path:
    assert settings.data_dir is not None
    return machine_dir(settings.data_dir, "esa1")


def test_a_message_held_for_some_and_queued_for_others_is_one_unit(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory
) -> None:
    with running(tdc_sandbox_settings, tdc_tls) as first:
        first._runner.call(first.sandbox.threat_defense_server.stop())
        first._runner.call(first.sandbox.mailbox_server.stop())
        mid = send(*first.listener_address("inbound"), tdc_messages.with_gtube(to=[VIP, BOB])).mid
        # a delivery attempt may already have failed and written the unit's .state file beside it
        (unit,) = [name for name in spooled(tdc_sandbox_settings) if name.endswith(".unit")]
        path = machine_folder(tdc_sandbox_settings) / "spool" / "queue" / unit
        contents = decode_unit(path.read_bytes(), path, DEFAULT_THRESHOLD).contents
        assert [h["rcpt_tos"][h["rids"][0]] for h in contents.held.values()] == [BOB]
        assert sorted(h["recipients"][0] for h in contents.entries.values()) == [
            "sandbox-tenant@intake.threatdefense.test", VIP]
    with running(tdc_sandbox_settings, tdc_tls) as second:
        second.settle()
        assert [d.recipient for d in second.mailbox()] == [VIP] and len(second.journals()) == 1
        (held,) = second.machine.quarantines.held.values()
        assert held.recipients == (BOB,) and held.message.mid == mid
        second.release(held.mid)
        second.settle()
        assert [d.recipient for d in second.mailbox()] == [VIP, BOB] and len(second.journals()) == 2
    assert spooled(tdc_sandbox_settings) == []


class FailingFlush:
    """Makes the `nth` flush (fsync) of a file or folder under `folder` raise ENOSPC, once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path, nth: int) -> None:
        self.real, self.folder, self.nth, self.calls = os.fsync, str(folder), nth, 0
        monkeypatch.setattr(os, "fsync", self)

    def __call__(self, descriptor: int) -> None:
        if os.readlink(f"/proc/self/fd/{descriptor}").startswith(self.folder):
            self.calls += 1
            if self.calls == self.nth:
                raise OSError(28, "No space left on device")
        self.real(descriptor)


@pytest.mark.parametrize("nth", [1, 2], ids=["first flush", "second flush"])
def test_a_message_that_cannot_be_stored_leaves_nothing_held_queued_or_spooled(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls, tdc_messages: MessageFactory,
    monkeypatch: pytest.MonkeyPatch, nth: int,
) -> None:
    mail = tdc_messages.with_gtube(to=[VIP, BOB])
    with running(tdc_sandbox_settings, tdc_tls) as first:
        failing = FailingFlush(monkeypatch, machine_folder(tdc_sandbox_settings), nth)
        outcome = send(*first.listener_address("inbound"), mail)
        assert outcome.data_reply is not None and outcome.data_reply[0] == replies.CANNOT_STORE.code
        assert failing.calls == nth
        monkeypatch.undo()
        first.settle()
        assert first.machine.quarantines.held == {} and first.mailbox() == [] and first.journals() == []
    assert spooled(tdc_sandbox_settings) == []
    with running(tdc_sandbox_settings, tdc_tls) as second:
        second.settle()
        assert second.machine.quarantines.held == {}
        assert second.mailbox() == [] and second.journals() == []
