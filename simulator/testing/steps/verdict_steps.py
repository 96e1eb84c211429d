"""Steps about Threat Defense's verdicts and its remediation of originals in the mock mailbox."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pytest_bdd import given, parsers, then

from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.steps.journal_steps import only_journal
from simulator.testing.steps.sending_steps import Sent


@given("a running sandbox whose Threat Defense is in read-write mode", target_fixture="sandbox")
def read_write_sandbox(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_sandbox_settings: SandboxSettings
) -> SandboxFacade:
    return tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, td_mode="read-write"))


@then(parsers.parse("Threat Defense's verdict is \"{verdict}\""))
def verdict_is(sandbox: SandboxFacade, verdict: str) -> None:
    sandbox.settle()
    assert only_journal(sandbox).verdict == verdict


@then(parsers.parse("Threat Defense names {address} as the true sender"))
def true_sender(sandbox: SandboxFacade, address: str) -> None:
    assert only_journal(sandbox).sender_ip == address


@then(parsers.parse("the original was moved to the recipient's {folder} folder"))
def moved_to(sandbox: SandboxFacade, sent: Sent, folder: str) -> None:
    sandbox.settle()
    recipient = sent.mail.rcpt_tos[0]
    (move,) = sandbox.remediations()
    assert (move.recipient, move.folder) == (recipient, folder)
    # the original may arrive before its copy is judged (moved) or after (filed there directly)
    (delivery,) = sandbox.mailbox(recipient)
    maildir = sandbox.maildir(recipient)
    assert list((maildir / "new").iterdir()) == []
    (moved,) = (maildir / folder / "new").iterdir()
    assert moved == move.path and moved.read_bytes() == delivery.data


@then("the original is still in the recipient's inbox")
def still_in_inbox(sandbox: SandboxFacade, sent: Sent) -> None:
    sandbox.settle()
    (delivery,) = sandbox.mailbox(sent.mail.rcpt_tos[0])
    assert delivery.path is not None and delivery.path.parent.name == "new" and delivery.path.exists()
    assert sandbox.remediations() == []
