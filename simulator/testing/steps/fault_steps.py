"""Steps that break things on purpose and move time: endpoint faults, outages, the clock."""

from __future__ import annotations

from datetime import timedelta

from pytest_bdd import given, parsers, when

from simulator.testing.harness import SandboxFacade

UNITS = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1)}


@given(parsers.parse('Threat Defense has the fault "{spec}"'))
def threat_defense_fault(sandbox: SandboxFacade, spec: str) -> None:
    sandbox.set_faults("threat_defense", spec)


@given(parsers.parse('the mailbox host has the fault "{spec}"'))
def mailbox_fault(sandbox: SandboxFacade, spec: str) -> None:
    sandbox.set_faults("mailbox", spec)


@given("Threat Defense is down")
def threat_defense_down(sandbox: SandboxFacade) -> None:
    sandbox.set_faults("threat_defense", "down")


@when("Threat Defense comes back up")
@when("Threat Defense's faults are cleared")
def threat_defense_up(sandbox: SandboxFacade) -> None:
    sandbox.set_faults("threat_defense")


@when(parsers.re(r"(?P<count>\d+) (?P<unit>second|minute|hour)s? pass(?:es)?"))
def time_passes(sandbox: SandboxFacade, count: str, unit: str) -> None:
    sandbox.advance(int(count) * UNITS[unit])


@when("the next retry falls due")
def next_retry(sandbox: SandboxFacade) -> None:
    sandbox.advance(sandbox.until_next_retry())
