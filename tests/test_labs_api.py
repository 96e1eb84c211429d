"""Training labs through the admin API (issue 12 point 2): GET /labs, GET /labs/NAME and
POST /labs/NAME/start on a real sandbox; each lab goes from not done to done by doing what it asks
through the operator's API (the state is checked, not the buttons), and a start commits with a comment
naming the lab, injects its fault, and is refused while changes are pending."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from simulator.core.errors import Refused
from simulator.core.mail.samples import MessageFactory
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

TENANT = "sandbox-tenant@intake.threatdefense.test"
SECOND_TENANT = "second-tenant@intake.threatdefense.test"
LAB_NAMES = ["enable-connector", "machine-disable", "custom-intake", "tls-error", "catch-all-route"]


@pytest.fixture
def tdc_sandbox_settings(
    tdc_sandbox_settings: SandboxSettings, request: pytest.FixtureRequest
) -> SandboxSettings:
    """The connector starts disabled, as before the chapter's first procedure; one machine unless the
    test asks for more (indirect parametrisation)."""
    machines = getattr(request, "param", 1)
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False, machines=machines)


def lab(sandbox: SandboxFacade, name: str) -> dict[str, Any]:
    answer: dict[str, Any] = sandbox.admin_client().get(f"/labs/{name}")
    return answer


def reasons(sandbox: SandboxFacade, name: str) -> list[str]:
    return [check["reason"] for check in lab(sandbox, name)["checks"]]


def commit(sandbox: SandboxFacade, comment: str = "lab work") -> None:
    sandbox.admin_client().call("POST", "/commit", {"comment": comment})


def test_the_list_names_every_lab_in_order_with_its_status(tdc_sandbox: SandboxFacade) -> None:
    labs = tdc_sandbox.admin_client().get("/labs")["labs"]
    assert [entry["name"] for entry in labs] == LAB_NAMES
    assert [entry["number"] for entry in labs] == [1, 2, 3, 4, 5]
    first = labs[0]
    assert (first["done"], first["status"], first["has_start"]) == (False, "not done", True)
    assert first["missing"].startswith("not done: the connector is disabled at cluster level")


def test_an_unknown_lab_is_404_with_the_closest_name(tdc_sandbox: SandboxFacade) -> None:
    with pytest.raises(Refused) as refused:
        tdc_sandbox.admin_client().get("/labs/enable-conector")
    assert refused.value.status == 404
    assert "did you mean 'enable-connector'?" in str(refused.value)


def test_lab_one_goes_from_not_done_to_done_by_enabling_committing_and_a_journal(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/tdc/enable", {"address": TENANT, "level": "cluster"})
    assert reasons(tdc_sandbox, "enable-connector")[0] == (
        "not done: the connector is enabled with the tenant's intake address but not committed "
        "(Commit Changes)")
    commit(tdc_sandbox)
    first, second = reasons(tdc_sandbox, "enable-connector")
    assert first == f"done: the connector is enabled at cluster level with {TENANT}, committed"
    assert second.startswith(f"not done: no journal for {TENANT} has arrived at Threat Defense since the "
                             "last commit (")
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    answer = lab(tdc_sandbox, "enable-connector")
    assert answer["done"] and answer["status"] == "done"
    assert answer["checks"][1]["reason"].startswith(
        f"done: Threat Defense received the journal of message {mid} ")


def test_a_start_commits_with_a_comment_naming_the_lab(tdc_sandbox: SandboxFacade) -> None:
    client = tdc_sandbox.admin_client()
    answer = client.call("POST", "/labs/machine-disable/start")
    assert answer["message"] == ("Lab machine-disable started: the connector enabled at cluster level with "
                                 "the tenant's intake address.")
    assert client.get("/commits")["commits"][-1]["comment"].startswith("Lab machine-disable: start")
    assert tdc_sandbox.config.connector.enabled
    client.call("POST", "/labs/enable-connector/start")
    assert not tdc_sandbox.config.connector.enabled


def test_a_start_is_refused_while_changes_are_pending_and_changes_nothing(tdc_sandbox: SandboxFacade) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/routes", {"domain": "partner.test", "destination": "USEDNS"})
    commits = len(client.get("/commits")["commits"])
    with pytest.raises(Refused) as refused:
        client.call("POST", "/labs/tls-error/start")
    assert refused.value.status == 422 and "uncommitted changes" in str(refused.value)
    assert len(client.get("/commits")["commits"]) == commits
    assert client.get("/faults")["threat_defense"] == []
    assert not tdc_sandbox.config.connector.enabled


def test_the_machine_disable_lab_is_never_done_on_one_machine_and_says_how_to_get_two(
    tdc_sandbox: SandboxFacade
) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/labs/machine-disable/start")
    client.call("POST", "/tdc/disable", {"level": "machine:esa1"})
    commit(tdc_sandbox)
    answer = lab(tdc_sandbox, "machine-disable")
    assert not answer["done"]
    assert answer["missing"] == ("not done: this lab needs at least 2 machines and the sandbox runs 1 "
                                 '(esa1): stop it and start it with `make sandbox ARGS="--machines 2"`')
    assert [check["done"] for check in answer["checks"]] == [False, True, True]


@pytest.mark.parametrize("tdc_sandbox_settings", [2], indirect=True)
def test_the_machine_disable_lab_with_two_machines(tdc_sandbox: SandboxFacade) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/labs/machine-disable/start")
    assert reasons(tdc_sandbox, "machine-disable")[1].startswith("not done: no machine has the connector")
    client.call("POST", "/tdc/disable", {"level": "machine:esa2"})
    commit(tdc_sandbox)
    answer = lab(tdc_sandbox, "machine-disable")
    assert answer["done"], answer
    assert answer["checks"][2]["reason"] == ("done: the connector runs on no machine: esa1 (disabled at "
                                             "group:Main_Group), esa2 (disabled at machine:esa2)")


def test_the_tls_lab_start_breaks_tls_and_the_fix_and_delivernow_finish_it(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/labs/tls-error/start")
    assert client.get("/faults")["threat_defense"] == ["untrusted-cert"]
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    first, second, third = reasons(tdc_sandbox, "tls-error")
    assert first == "not done: Threat Defense is still scripted with untrusted-cert (Training > Faults)"
    assert second.endswith(f"of message {mid} (esa1) failed with a TLS Error and has not arrived at Threat "
                           "Defense yet")
    assert third.startswith("not done: copies wait in the.tdc.queue: 1 on esa1")
    client.call("PUT", "/faults/threat_defense", [])
    assert not lab(tdc_sandbox, "tls-error")["done"]
    client.deliver_now("the.tdc.queue")
    tdc_sandbox.settle()
    answer = lab(tdc_sandbox, "tls-error")
    assert answer["done"], answer


def test_the_catch_all_lab_is_done_by_a_usedns_route_for_the_intake_domain(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/labs/catch-all-route/start")
    assert [route["domain"] for route in client.get("/routes")["routes"]] == ["ALL"]
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    first, second = reasons(tdc_sandbox, "catch-all-route")
    assert first.startswith("not done: on esa1, mail for intake.threatdefense.test takes the route ALL -> ")
    assert "but has not arrived at Threat Defense" in second
    assert tdc_sandbox.journals() == []
    client.call("POST", "/routes", {"domain": "intake.threatdefense.test", "destination": "USEDNS"})
    assert "submitted but not committed" in reasons(tdc_sandbox, "catch-all-route")[0]
    commit(tdc_sandbox)
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    answer = lab(tdc_sandbox, "catch-all-route")
    assert answer["done"], answer


def test_the_custom_intake_lab_is_done_when_the_policy_copies_reach_the_second_tenant(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    client = tdc_sandbox.admin_client()
    client.call("POST", "/labs/custom-intake/start")
    assert reasons(tdc_sandbox, "custom-intake")[0].startswith("not done: no incoming mail policy has a")
    client.call("POST", "/policies", {"policy": "DEFAULT", "mode": "custom", "address": SECOND_TENANT})
    commit(tdc_sandbox)
    first, second = reasons(tdc_sandbox, "custom-intake")
    assert first == f"done: policy DEFAULT sends its copies to {SECOND_TENANT} (on esa1), committed"
    assert second.startswith(f"not done: no journal for {SECOND_TENANT} has arrived")
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    assert [journal.intake_address for journal in tdc_sandbox.journals()] == [SECOND_TENANT]
    assert lab(tdc_sandbox, "custom-intake")["done"]
