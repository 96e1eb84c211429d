"""Mail Policies > Incoming Mail Policies (issue 12) over real HTTP against a running sandbox: the Threat
Defense column per level, its edit form (Submit pending, Commit Changes runs it), the API's refusals
word for word on their fields, stale forms and CSRF, checked through the admin API."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from fixtures.console_client import Answer, ConsoleClient
from simulator.console.policies import EDIT_POLICY_PATH as EDIT
from simulator.console.render import POLICIES_PATH as POLICIES
from simulator.core.config.cluster import CUSTOM_NEEDS_CONNECTOR
from simulator.core.config.values import DEFAULT_POLICY, GatewayConfig, MailPolicy
from simulator.core.errors import Refused
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

SECOND_TENANT = "second-tenant@intake.threatdefense.test"
SALES = MailPolicy("SALES", ("@sales.example.com",))


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """Two incoming mail policies, SALES then DEFAULT (the connector starts disabled)."""
    gateway = GatewayConfig(incoming_policies=(SALES, DEFAULT_POLICY))
    return dataclasses.replace(tdc_sandbox_settings, gateway=gateway)


def enable_connector(sandbox: SandboxFacade) -> None:
    """The seed's procedure through the admin API: enable at cluster level and commit."""
    api = sandbox.admin_client()
    api.call("POST", "/tdc/enable", {"address": sandbox.sandbox.settings.intake_addresses[0]})
    api.call("POST", "/commit", {"comment": "enable TDC"})


def api_policies(sandbox: SandboxFacade, state: str = "committed") -> dict[str, Any]:
    """esa1's incoming mail policies through the admin API: {name: policy}, and the table's level."""
    machine = sandbox.admin_client().get("/policies", state=state)["machines"]["esa1"]
    return {"level": machine["level"], **{policy["name"]: policy for policy in machine["policies"]}}


def column(answer: Answer, policy: str) -> str:
    """The Threat Defense cell of `policy`'s row, its text only."""
    row = re.search(rf'<tr id="policy-{policy}">(.*?)</tr>', answer.text, flags=re.DOTALL)
    assert row, answer.text
    cell = re.search(r'<td class="threat-defense">(.*?)</td>', row.group(1), flags=re.DOTALL)
    assert cell
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell.group(1))).split())


def edit_path(policy: str, mode: str = "cluster") -> str:
    return f"{EDIT}?{urlencode({'mode': mode, 'policy': policy})}"


def submit_policy(browser: ConsoleClient, policy: str, mode: str, address: str = "", level: str = "cluster",
                  version: str | None = None) -> Answer:
    """The policy's Threat Defense form as loaded, `mode` ticked, `address` typed, Submit."""
    form = browser.go("GET", edit_path(policy, level))
    fields = {"csrf_token": form.hidden("csrf_token"), "level": level, "policy": policy, "mode": mode,
              "address": address, "version": form.hidden("version") if version is None else version}
    return browser.request("POST", EDIT, fields)


def test_the_threat_defense_column_shows_what_the_api_changed(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    intake = tdc_sandbox.sandbox.settings.intake_addresses[0]
    page = browser.go("GET", POLICIES)
    assert "<h1>Incoming Mail Policies</h1>" in page.text and 'id="connector-disabled"' in page.text
    assert (column(page, "SALES"), column(page, "DEFAULT")) == (f"Default ({intake})", f"Default ({intake})")
    assert "This table: <strong>built-in default</strong>" in page.text
    enable_connector(tdc_sandbox)
    api = tdc_sandbox.admin_client()
    api.call("POST", "/policies", {"policy": "SALES", "mode": "custom", "address": SECOND_TENANT})
    api.call("POST", "/policies", {"policy": "DEFAULT", "mode": "no-scan"})
    page = browser.go("GET", POLICIES)
    assert 'id="connector-disabled"' not in page.text and 'id="pending-banner"' in page.text
    assert column(page, "SALES") == f"Custom: {SECOND_TENANT} running now: Default ({intake})"
    assert column(page, "DEFAULT") == f"No Scan running now: Default ({intake})"
    api.call("POST", "/commit", {"comment": "per-policy journaling"})
    page = browser.go("GET", POLICIES)
    assert (column(page, "SALES"), column(page, "DEFAULT")) == (f"Custom: {SECOND_TENANT}", "No Scan")
    assert "This table: <strong>set at this level</strong>" in page.text
    machine = browser.go("GET", f"{POLICIES}?mode=machine:esa1")
    assert "This table: <strong>inherited from Cluster</strong>" in machine.text
    assert column(machine, "SALES") == f"Custom: {SECOND_TENANT}"
    assert re.findall(r'<option value="([^"]+)"', machine.text) == ["cluster", "group:Main_Group",
                                                                    "machine:esa1"]


def test_a_submit_is_pending_until_commit_changes(tdc_sandbox: SandboxFacade, browser: ConsoleClient) -> None:
    enable_connector(tdc_sandbox)
    form = browser.go("GET", edit_path("SALES"))
    assert "<h1>Mail Policies: Threat Defense</h1>" in form.text
    assert 'id="td-default" name="mode" value="default" checked' in form.text
    submitted = submit_policy(browser, "SALES", "custom", SECOND_TENANT)
    assert submitted.status == 303
    page = browser.go("GET", submitted.headers["Location"])
    assert page.path == f"{POLICIES}?mode=cluster" and 'id="pending-banner"' in page.text
    assert "Policy SALES set to custom at cluster (pending until commit)" in page.text  # the API's words
    pending = api_policies(tdc_sandbox, "pending")
    assert pending["SALES"] == {**pending["SALES"], "tdc": "custom", "tdc_intake": SECOND_TENANT}
    assert api_policies(tdc_sandbox)["SALES"]["tdc"] == "default"
    assert tdc_sandbox.config.incoming_policies[0].tdc == "default"  # nothing runs before commit
    committed = browser.commit("SALES to a second tenant")
    assert committed.status == 303 and tdc_sandbox.store.pending is None
    assert api_policies(tdc_sandbox)["SALES"] == pending["SALES"]
    assert tdc_sandbox.config.incoming_policies[0] == dataclasses.replace(
        SALES, tdc="custom", tdc_intake=SECOND_TENANT)


def test_a_submit_at_machine_level_sets_the_table_there(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert submit_policy(browser, "DEFAULT", "no-scan", level="machine:esa1").status == 303
    pending = api_policies(tdc_sandbox, "pending")
    assert pending["level"] == "machine:esa1" and pending["DEFAULT"]["tdc"] == "no-scan"
    machine = browser.go("GET", f"{POLICIES}?mode=machine:esa1")
    assert column(machine, "DEFAULT").startswith("No Scan")
    assert "This table: <strong>set at this level</strong>" in machine.text
    assert column(browser.go("GET", POLICIES), "DEFAULT").startswith("Default (")  # the cluster's table


def api_refusal(sandbox: SandboxFacade, body: dict[str, str]) -> str:
    """What the admin API's POST /policies answers to `body`."""
    with pytest.raises(Refused) as refused:
        sandbox.admin_client().call("POST", "/policies", body)
    assert refused.value.status in (400, 422)
    return str(refused.value)


def field_error(answer: Answer, field: str) -> str:
    found = re.search(rf'<span class="field-error" id="{field}">([^<]*)</span>', answer.text)
    assert found, answer.text
    return html.unescape(found.group(1))


@pytest.mark.bad_input
@pytest.mark.parametrize("address", ["", "a@one.test, b@two.test", "two words@x.test", "no-domain",
                                     "a@b.test\r\nRCPT TO:<x@y.test>", "x" * 300 + "@long.test"])
def test_an_invalid_custom_address_is_the_form_again_with_the_apis_error(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, address: str
) -> None:
    enable_connector(tdc_sandbox)
    answer = submit_policy(browser, "SALES", "custom", address)
    assert answer.status == 422 and "<h1>Mail Policies: Threat Defense</h1>" in answer.text
    refusal = api_refusal(tdc_sandbox, {"policy": "SALES", "mode": "custom", "address": address})
    assert field_error(answer, "custom-address-error") == refusal
    assert 'aria-invalid="true"' in answer.text and 'value="custom" checked' in answer.text
    assert tdc_sandbox.store.pending is None and 'id="pending-banner"' not in answer.text


@pytest.mark.bad_input
@pytest.mark.parametrize(("mode", "address", "enabled"), [
    ("sometimes", "", True),
    ("custom", SECOND_TENANT, False),  # a Custom address needs the connector enabled first (§5.5)
])
def test_a_refused_choice_is_the_form_again_with_the_apis_error(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, mode: str, address: str, enabled: bool
) -> None:
    if enabled:
        enable_connector(tdc_sandbox)
    answer = submit_policy(browser, "SALES", mode, address)
    assert answer.status == 422
    refusal = api_refusal(tdc_sandbox, {"policy": "SALES", "mode": mode, "address": address})
    assert field_error(answer, "mode-error") == refusal
    assert enabled or (CUSTOM_NEEDS_CONNECTOR in refusal and 'id="connector-disabled"' in answer.text)
    assert tdc_sandbox.store.pending is None


def test_the_address_typed_is_ignored_unless_custom_is_chosen(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert submit_policy(browser, "SALES", "no-scan", "left over@typed.test").status == 303
    assert api_policies(tdc_sandbox, "pending")["SALES"]["tdc"] == "no-scan"


def test_a_form_loaded_before_someone_else_committed_submits_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    enable_connector(tdc_sandbox)
    old = browser.go("GET", edit_path("SALES")).hidden("version")
    api = tdc_sandbox.admin_client()
    api.call("POST", "/policies", {"policy": "SALES", "mode": "no-scan"})
    api.call("POST", "/commit", {"comment": "someone else"})
    answer = submit_policy(browser, "SALES", "custom", SECOND_TENANT, version=old)
    assert answer.status == 409 and 'id="form-error"' in answer.text
    assert "nothing was submitted" in answer.text
    assert 'id="td-no-scan" name="mode" value="no-scan" checked' in answer.text  # the current state
    assert tdc_sandbox.store.pending is None
    assert api_policies(tdc_sandbox)["SALES"]["tdc"] == "no-scan"


@pytest.mark.bad_input
def test_an_unknown_policy_or_level_is_the_plain_404_page(browser: ConsoleClient) -> None:
    for path in (edit_path("NOSUCH"), edit_path("SALES", "machine:esa9"), f"{POLICIES}?mode=group:none"):
        answer = browser.go("GET", path)
        assert answer.status == 404 and 'id="reason"' in answer.text and "Traceback" not in answer.text


@pytest.mark.bad_input
def test_a_post_without_the_csrf_token_is_403(tdc_sandbox: SandboxFacade, browser: ConsoleClient) -> None:
    enable_connector(tdc_sandbox)
    form = browser.go("GET", edit_path("SALES"))
    answer = browser.request("POST", EDIT, {"level": "cluster", "policy": "SALES", "mode": "no-scan",
                                            "address": "", "version": form.hidden("version")})
    assert answer.status == 403 and "security token" in answer.text
    assert tdc_sandbox.store.pending is None
