"""Steps about the quarantines: what they hold, and releasing from them."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from fixtures.harness import SandboxFacade
from simulator.core.errors import NotFound
from steps.admin_steps import AdminAnswers
from steps.sending_steps import Sent


def held_in(sandbox: SandboxFacade, quarantine: str) -> list[int]:
    return sorted(mid for mid, held in sandbox.machine.quarantines.held.items()
                  if held.quarantine == quarantine)


@then(parsers.parse('the quarantine "{quarantine}" holds the message'))
def quarantine_holds(sandbox: SandboxFacade, sent: Sent, quarantine: str) -> None:
    sandbox.settle()
    assert sent.outcome is not None
    assert held_in(sandbox, quarantine) == [sent.outcome.mid]


@then(parsers.parse('the quarantine "{quarantine}" is empty'))
def quarantine_empty(sandbox: SandboxFacade, quarantine: str) -> None:
    assert held_in(sandbox, quarantine) == []


@when("the administrator releases the message from its quarantine")
def release_sent(sandbox: SandboxFacade, sent: Sent, admin: AdminAnswers) -> None:
    assert sent.outcome is not None and sent.outcome.mid is not None
    admin.answer = sandbox.release(sent.outcome.mid)


@when(parsers.parse("the administrator releases message {mid:d} from its quarantine"))
def release_mid(sandbox: SandboxFacade, admin: AdminAnswers, mid: int) -> None:
    try:
        admin.answer = sandbox.release(mid)
    except NotFound as refusal:
        admin.refusal = str(refusal)


@then(parsers.parse('the release is refused because "{reason}"'))
def release_refused(admin: AdminAnswers, reason: str) -> None:
    assert reason in admin.refusal, admin.refusal
