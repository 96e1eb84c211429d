"""Steps of the administrator: connector settings, per-policy options, routes; Submit and Commit.

Design rule: the administrator works through the operator's surface (the admin API by default,
`tdcsim` when a scenario says so), never on the configuration store; checks read the admin API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from simulator.core.errors import Refused
from simulator.testing.harness import SandboxFacade
from simulator.testing.steps import surfaces
from simulator.testing.steps.surfaces import Action, Answer, ApiSurface, Surface

COMMITTED_RE = r"Changes committed: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}"


@dataclass
class AdminAnswers:
    """What the gateway last answered the administrator."""

    last: Answer = field(default_factory=Answer)


@pytest.fixture
def admin() -> AdminAnswers:
    return AdminAnswers()


@pytest.fixture
def operator(sandbox: SandboxFacade) -> Surface:
    """Where the administrator works unless a scenario says otherwise: the admin API."""
    return ApiSurface(sandbox)


def _do(operator: Surface, admin: AdminAnswers, action: Action) -> None:
    admin.last = operator.run(action)


@given(parsers.re(r"the administrator works through the (?P<name>API|CLI)"), target_fixture="operator")
def works_through(sandbox: SandboxFacade, name: str) -> Surface:
    return surfaces.SURFACES[name](sandbox)


@when(parsers.re(r'the administrator enables the connector(?: at level "(?P<level>[^"]+)")? '
                 r'with the intake address "(?P<address>[^"]*)" and submits'))
def enable(operator: Surface, admin: AdminAnswers, level: str | None, address: str) -> None:
    _do(operator, admin, surfaces.enable(address.replace("<CRLF>", "\r\n"), level or "cluster"))


@when(parsers.re(r'the administrator disables the connector(?: at level "(?P<level>[^"]+)")? and submits'))
def disable(operator: Surface, admin: AdminAnswers, level: str | None) -> None:
    _do(operator, admin, surfaces.disable(level or "cluster"))


@when(parsers.parse('the administrator commits the changes with the comment "{comment}"'))
def commit(operator: Surface, admin: AdminAnswers, comment: str) -> None:
    _do(operator, admin, surfaces.commit(comment))


@when("the administrator clears the pending changes")
def clear(operator: Surface, admin: AdminAnswers) -> None:
    _do(operator, admin, surfaces.clear())
    assert admin.last.text == "Pending changes discarded.", admin.last


@given(parsers.parse('the connector was enabled with the intake address "{address}" and committed'))
def enabled_and_committed(sandbox: SandboxFacade, address: str) -> None:
    _, committed = surfaces.done(sandbox, surfaces.enable(address, "cluster"), surfaces.commit("set up"))
    assert re.fullmatch(COMMITTED_RE, committed), committed


@given("the connector was disabled and committed")
@given("the Threat Defense Connector is disabled")
def disabled_and_committed(sandbox: SandboxFacade) -> None:
    _, committed = surfaces.done(sandbox, surfaces.disable("cluster"), surfaces.commit("set up"))
    assert re.fullmatch(COMMITTED_RE, committed), committed


@when(parsers.re(r'the administrator sets the Threat Defense option of policy "(?P<policy>[^"]+)" '
                 r'to "(?P<mode>default|no-scan)" and submits'))
def policy_option(operator: Surface, admin: AdminAnswers, policy: str, mode: str) -> None:
    _do(operator, admin, surfaces.set_policy(policy, mode))


@when(parsers.parse('the administrator sets policy "{policy}" to the custom intake address "{address}" '
                    "and submits"))
def policy_custom(operator: Surface, admin: AdminAnswers, policy: str, address: str) -> None:
    _do(operator, admin, surfaces.set_policy(policy, "custom", address))


@given(parsers.re(r'the administrator added the SMTP route "(?P<domain>[^"]+)" to '
                  r'(?:the (?P<endpoint>mailbox host)|"USEDNS") and committed'))
def added_route(sandbox: SandboxFacade, domain: str, endpoint: str | None) -> None:
    host, port = sandbox.listener_address("mailbox")
    destination = f"{host}:{port}" if endpoint else "USEDNS"
    _, committed = surfaces.done(sandbox, surfaces.add_route(domain, destination), surfaces.commit("route"))
    assert re.fullmatch(COMMITTED_RE, committed), committed


@then(parsers.parse('the answer is "{expected}"'))
def the_answer(admin: AdminAnswers, expected: str) -> None:
    pattern = re.escape(expected).replace(re.escape("Changes committed: <date>"), COMMITTED_RE)
    assert re.fullmatch(pattern, admin.last.text), admin.last


@then(parsers.parse('the submit is refused because "{reason}"'))
def refused(admin: AdminAnswers, reason: str) -> None:
    assert admin.last.text == "" and reason in admin.last.refusal, admin.last


@then(parsers.parse("tdcsim exits with status {status:d} and a one-line reason"))
def cli_refused(admin: AdminAnswers, status: int) -> None:
    assert admin.last.status == status, admin.last
    assert re.fullmatch(r"tdcsim: [^\n]+", admin.last.refusal), admin.last


def _uncommitted(sandbox: SandboxFacade) -> bool:
    return bool(sandbox.admin_client().get("/tdc")["uncommitted"])


@then("nothing is pending")
def nothing_pending(sandbox: SandboxFacade) -> None:
    assert not _uncommitted(sandbox)


@then("changes are pending")
def changes_pending(sandbox: SandboxFacade) -> None:
    assert _uncommitted(sandbox)


@when(parsers.re(r"the administrator asks the admin API for tophosts"
                 r"(?: on (?P<machine>esa\d+)| without choosing a machine)"), target_fixture="api_answer")
def ask_tophosts(sandbox: SandboxFacade, admin: AdminAnswers, machine: str | None) -> Any:
    sandbox.settle()
    try:
        return sandbox.admin_client().get("/tophosts", machine=machine)
    except Refused as refusal:
        admin.last = Answer(refusal=str(refusal))
        return None


@then(parsers.parse('the admin API refuses because "{reason}"'))
def api_refused(admin: AdminAnswers, reason: str) -> None:
    assert reason in admin.last.refusal, admin.last


@then(parsers.parse("the answer lists the.tdc.queue with {count:d} delivered recipient"))
def tophosts_lists_tdc_queue(api_answer: Any, count: int) -> None:
    (row,) = [row for row in api_answer["hosts"] if row["host"] == "the.tdc.queue"]
    assert row["delivered_recipients"] == count, row
