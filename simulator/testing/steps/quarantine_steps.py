"""Steps about the quarantines: what they hold, and releasing from them."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from simulator.testing.harness import SandboxFacade
from simulator.testing.steps import surfaces
from simulator.testing.steps.admin_steps import AdminAnswers
from simulator.testing.steps.sending_steps import Sent
from simulator.testing.steps.surfaces import Surface


def held_in(sandbox: SandboxFacade, quarantine: str) -> list[int]:
    return sorted(held.mid for held in sandbox.quarantined() if held.quarantine == quarantine)


@then(parsers.parse('the quarantine "{quarantine}" holds the message'))
def quarantine_holds(sandbox: SandboxFacade, sent: Sent, quarantine: str) -> None:
    sandbox.settle()
    assert sent.outcome is not None
    assert held_in(sandbox, quarantine) == [sent.outcome.mid]


@then(parsers.parse('the quarantine "{quarantine}" is empty'))
def quarantine_empty(sandbox: SandboxFacade, quarantine: str) -> None:
    assert held_in(sandbox, quarantine) == []


@when("the administrator releases the message from its quarantine")
def release_sent(operator: Surface, sent: Sent, admin: AdminAnswers) -> None:
    assert sent.outcome is not None and sent.outcome.mid is not None
    admin.last = operator.run(surfaces.release(sent.outcome.mid))
    assert admin.last.refusal == "", admin.last


@when(parsers.parse("the administrator releases message {mid:d} from its quarantine"))
def release_mid(operator: Surface, admin: AdminAnswers, mid: int) -> None:
    admin.last = operator.run(surfaces.release(mid))


@then(parsers.parse('the release is refused because "{reason}"'))
def release_refused(admin: AdminAnswers, reason: str) -> None:
    assert admin.last.text == "" and reason in admin.last.refusal, admin.last
