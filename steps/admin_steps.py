"""Steps of the administrator: connector settings, per-policy options, routes; Submit and Commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from fixtures.harness import SandboxFacade
from simulator.admin.client import AdminClient
from simulator.core.config.cluster import CLUSTER, ClusterConfig, Level
from simulator.core.config.values import NextHop, SmtpRoute, TdcMode
from simulator.core.errors import Refused

COMMITTED_RE = r"Changes committed: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}"


@dataclass
class AdminAnswers:
    """What the gateway last answered the administrator."""

    answer: str = ""
    refusal: str = ""


@pytest.fixture
def admin() -> AdminAnswers:
    return AdminAnswers()


def _level(text: str) -> Level:
    return Level.parse(text) if text else CLUSTER


def _submit(sandbox: SandboxFacade, admin: AdminAnswers, change: object) -> None:
    admin.refusal = sandbox.submit(change)  # type: ignore[arg-type]


def _address(text: str) -> str:
    return text.replace("<CRLF>", "\r\n")


@when(parsers.re(r'the administrator enables the connector(?: at level "(?P<level>[^"]+)")? '
                 r'with the intake address "(?P<address>[^"]*)" and submits'))
def enable(sandbox: SandboxFacade, admin: AdminAnswers, level: str | None, address: str) -> None:
    _submit(sandbox, admin, lambda c: c.set_connector(_level(level or ""), True, _address(address)))


@when(parsers.re(r'the administrator disables the connector(?: at level "(?P<level>[^"]+)")? and submits'))
def disable(sandbox: SandboxFacade, admin: AdminAnswers, level: str | None) -> None:
    _submit(sandbox, admin, lambda c: c.set_connector(_level(level or ""), False))


@when(parsers.parse('the administrator commits the changes with the comment "{comment}"'))
def commit(sandbox: SandboxFacade, admin: AdminAnswers, comment: str) -> None:
    admin.answer = sandbox.commit(comment)


@when("the administrator clears the pending changes")
def clear(sandbox: SandboxFacade) -> None:
    assert sandbox.store.clear()


@given(parsers.parse('the connector was enabled with the intake address "{address}" and committed'))
def enabled_and_committed(sandbox: SandboxFacade, address: str) -> None:
    assert sandbox.submit(lambda c: c.set_connector(CLUSTER, True, address)) == ""
    sandbox.commit("set up")


@given("the connector was disabled and committed")
def disabled_and_committed(sandbox: SandboxFacade) -> None:
    assert sandbox.submit(lambda c: c.set_connector(CLUSTER, False)) == ""
    sandbox.commit("set up")


@when(parsers.re(r'the administrator sets the Threat Defense option of policy "(?P<policy>[^"]+)" '
                 r'to "(?P<mode>default|no-scan)" and submits'))
def policy_option(sandbox: SandboxFacade, admin: AdminAnswers, policy: str, mode: TdcMode) -> None:
    _submit(sandbox, admin, lambda c: c.set_policy_tdc(CLUSTER, policy, mode))


@when(parsers.parse('the administrator sets policy "{policy}" to the custom intake address "{address}" '
                    "and submits"))
def policy_custom(sandbox: SandboxFacade, admin: AdminAnswers, policy: str, address: str) -> None:
    _submit(sandbox, admin, lambda c: c.set_policy_tdc(CLUSTER, policy, "custom", address))


@given(parsers.re(r'the administrator added the SMTP route "(?P<domain>[^"]+)" to '
                  r'(?:the (?P<endpoint>mailbox host)|"USEDNS") and committed'))
def added_route(sandbox: SandboxFacade, domain: str, endpoint: str | None) -> None:
    server = sandbox.sandbox.mailbox_server
    route = (SmtpRoute(domain, (NextHop(server.host, server.port),)) if endpoint
             else SmtpRoute(domain, use_dns=True))

    def add(cluster: ClusterConfig) -> ClusterConfig:
        return cluster.set(CLUSTER, "routes", (*cluster.inherited(CLUSTER, "routes").value, route))

    assert sandbox.submit(add) == ""
    sandbox.commit(f"route {domain}")


@then(parsers.parse('the answer is "{expected}"'))
def the_answer(admin: AdminAnswers, expected: str) -> None:
    pattern = re.escape(expected).replace(re.escape("Changes committed: <date>"), COMMITTED_RE)
    assert re.fullmatch(pattern, admin.answer), admin.answer


@then(parsers.parse('the submit is refused because "{reason}"'))
def refused(admin: AdminAnswers, reason: str) -> None:
    assert reason in admin.refusal, admin.refusal


@then("nothing is pending")
def nothing_pending(sandbox: SandboxFacade) -> None:
    assert sandbox.store.pending is None


@then("changes are pending")
def changes_pending(sandbox: SandboxFacade) -> None:
    assert sandbox.store.pending is not None


def _client(sandbox: SandboxFacade) -> AdminClient:
    admin = sandbox.sandbox.describe()["admin"]
    return AdminClient(admin["url"], admin["token"])


@when(parsers.re(r"the administrator asks the admin API for tophosts"
                 r"(?: on (?P<machine>esa\d+)| without choosing a machine)"), target_fixture="api_answer")
def ask_tophosts(sandbox: SandboxFacade, admin: AdminAnswers, machine: str | None) -> Any:
    sandbox.settle()
    try:
        return _client(sandbox).get("/tophosts", machine=machine)
    except Refused as refusal:
        admin.refusal = str(refusal)
        return None


@then(parsers.parse('the admin API refuses because "{reason}"'))
def api_refused(admin: AdminAnswers, reason: str) -> None:
    assert reason in admin.refusal, admin.refusal


@then(parsers.parse("the answer lists the.tdc.queue with {count:d} delivered recipient"))
def tophosts_lists_tdc_queue(api_answer: Any, count: int) -> None:
    (row,) = [row for row in api_answer["hosts"] if row["host"] == "the.tdc.queue"]
    assert row["delivered_recipients"] == count, row
