"""The training console's pages (issue 12) over real HTTP against a running sandbox: Security
Services > Threat Defense Connector (Edit Global Settings, the mode selector, the machine-disable
rule explained) and Commit Changes (commit, abandon, history, stale forms), checked through the
admin API; the console in sandbox.json and in the start summary."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable

import pytest

from fixtures.console_client import ConsoleClient
from simulator.cli.sandbox import summary
from simulator.console.render import CONNECTOR_PATH as CONNECTOR
from simulator.console.render import EDIT_CONNECTOR_PATH as EDIT
from simulator.core.errors import Refused
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

SECOND_TENANT = "second-tenant@intake.threatdefense.test"



def tdc(sandbox: SandboxFacade, state: str = "committed") -> dict[str, object]:
    """esa1's connector through the admin API."""
    machines = sandbox.admin_client().get("/tdc", state=state)["machines"]
    row: dict[str, object] = machines[0]
    return row


def test_enable_submit_and_commit_change_what_runs(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert "Uncommitted changes" not in browser.go("GET", CONNECTOR).text
    submitted = browser.submit_settings(address=SECOND_TENANT)
    assert submitted.status == 303
    page = browser.go("GET", submitted.headers["Location"])
    assert 'id="pending-banner"' in page.text and "Uncommitted changes" in page.text
    assert f"enabled at cluster with intake address {SECOND_TENANT}" in page.text  # the API's words
    assert tdc(tdc_sandbox)["enabled"] is False  # nothing runs before commit
    assert tdc(tdc_sandbox, "pending")["intake_address"] == SECOND_TENANT
    pending = browser.go("GET", "/commit")
    assert "Uncommitted Changes" in pending.text and SECOND_TENANT in pending.text
    done = browser.go("POST", "/commit", {"csrf_token": pending.hidden("csrf_token"),
                                          "version": pending.hidden("version"), "comment": "enable TDC"})
    assert done.path == "/commit" and "Changes committed: " in done.text
    assert "There is no data to commit." in done.text and "enable TDC" in done.text
    assert "Uncommitted changes" not in done.text
    assert (tdc(tdc_sandbox)["enabled"], tdc(tdc_sandbox)["intake_address"]) == (True, SECOND_TENANT)
    assert tdc_sandbox.config.connector.enabled  # the machine runs with it
    commits = tdc_sandbox.admin_client().get("/commits")["commits"]
    assert [each["comment"] for each in commits] == ["enable TDC"]


def test_abandon_discards_what_was_submitted(tdc_sandbox: SandboxFacade, browser: ConsoleClient) -> None:
    browser.submit_settings(address=SECOND_TENANT)
    page = browser.go("GET", "/commit")
    done = browser.go("POST", "/commit/abandon", {"csrf_token": page.hidden("csrf_token"),
                                                  "version": page.hidden("version")})
    assert "Pending changes discarded." in done.text and "There is no data to commit." in done.text
    assert tdc_sandbox.store.pending is None and tdc_sandbox.store.commits() == ()


def api_refusal(sandbox: SandboxFacade, address: str) -> str:
    """What the admin API answers to enabling the connector with `address`."""
    with pytest.raises(Refused) as refused:
        sandbox.admin_client().call("POST", "/tdc/enable", {"address": address, "level": "cluster"})
    assert refused.value.status in (400, 422)
    return str(refused.value)


@pytest.mark.bad_input
@pytest.mark.parametrize("address", ["", "a@one.test, b@two.test", "two words@x.test", "no-domain",
                                     "a@b.test\r\nRCPT TO:<x@y.test>", "x" * 300 + "@long.test"])
def test_an_invalid_intake_address_is_the_form_again_with_the_apis_error(
    shared: SandboxFacade, shared_browser: ConsoleClient, address: str
) -> None:
    answer = shared_browser.submit_settings(address=address)
    assert answer.status == 422 and "<h1>Edit Global Settings</h1>" in answer.text
    error = re.search(r'<span class="field-error" id="intake-address-error">([^<]*)</span>', answer.text)
    assert error, answer.text
    assert html.unescape(error.group(1)) == api_refusal(shared, address)
    assert 'aria-invalid="true"' in answer.text and 'name="enabled" value="on" checked' in answer.text
    assert shared.store.pending is None and "Uncommitted changes" not in answer.text


def test_a_commit_form_loaded_before_someone_else_committed_commits_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    browser.submit_settings(address=SECOND_TENANT)
    page = browser.go("GET", "/commit")
    tdc_sandbox.admin_client().call("POST", "/commit", {"comment": "from a script"})  # someone else
    for path in ("/commit", "/commit/abandon"):
        answer = browser.request("POST", path, {"csrf_token": page.hidden("csrf_token"),
                                                "version": page.hidden("version"), "comment": "mine"})
        assert answer.status == 409 and 'id="stale"' in answer.text and "nothing was committed" in answer.text
        assert "There is no data to commit." in answer.text  # the current state
        assert "from a script" in answer.text
    assert [each.comment for each in tdc_sandbox.store.commits()] == ["from a script"]


def test_a_commit_form_loaded_before_someone_else_submitted_commits_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    browser.submit_settings(address=SECOND_TENANT)
    page = browser.go("GET", "/commit")
    tdc_sandbox.admin_client().call("POST", "/routes", {"domain": "ALL", "destination": "127.0.0.1:2528"})
    answer = browser.commit("only what I saw", version=page.hidden("version"))
    assert answer.status == 409 and "routes" in answer.text  # the current diff, someone else's change in it
    assert tdc_sandbox.store.commits() == () and tdc_sandbox.store.pending is not None


def test_an_edit_form_loaded_before_a_commit_submits_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    old = browser.go("GET", EDIT).hidden("version")
    tdc_sandbox.admin_client().call("POST", "/tdc/enable", {"address": SECOND_TENANT})
    tdc_sandbox.admin_client().call("POST", "/commit", {"comment": "enabled by a script"})
    answer = browser.submit_settings(enabled=False, version=old)
    assert answer.status == 409 and 'id="form-error"' in answer.text
    assert "nothing was submitted" in answer.text
    assert f'value="{SECOND_TENANT}"' in answer.text and "checked" in answer.text  # the current state
    assert tdc_sandbox.store.pending is None


@pytest.fixture
def two_machines(tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade],
                 tdc_sandbox_settings: SandboxSettings) -> SandboxFacade:
    return tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, machines=2, tdc_enabled=True))


def test_the_machine_disable_rule_is_explained_where_it_applies(two_machines: SandboxFacade) -> None:
    browser = ConsoleClient(two_machines.console_url)
    browser.log_in(two_machines.console_password)
    page = browser.go("GET", f"{CONNECTOR}?mode=machine:esa2")
    assert 'id="machine-disable-rule"' not in page.text
    edit = browser.go("GET", f"{EDIT}?mode=machine:esa2")
    assert 'id="machine-disable-rule"' in edit.text  # the form warns before the untick
    assert "<h1>Edit Global Settings</h1>" in browser.go("GET", f"{EDIT}?mode=cluster").text
    assert 'id="machine-disable-rule"' not in browser.go("GET", f"{EDIT}?mode=cluster").text
    done = browser.go("POST", EDIT, {"csrf_token": edit.hidden("csrf_token"), "mode": "machine:esa2",
                                     "version": edit.hidden("version"), "intake_address": ""})
    assert "by the machine-disable rule also at group:Main_Group, cluster" in done.text  # the API's words
    rule = re.search(r'<p class="rule" id="machine-disable-rule" role="note">([^<]*)</p>', done.text)
    assert rule and "disabled at machine level on esa2" in rule.group(1) and "Main_Group" in rule.group(1)
    esa1 = re.search(r'<tr id="machine-esa1">(.*?)</tr>', done.text, flags=re.DOTALL)
    assert esa1 and "Disabled" in esa1.group(1) and "machine-disable rule (disabled on esa2)" in esa1.group(1)
    assert "running now: Enabled" in esa1.group(1)  # until commit
    cluster = browser.go("GET", f"{CONNECTOR}?mode=cluster")
    assert ("<td>Disabled</td><td>set at this level; by the machine-disable rule (disabled on esa2)</td>"
            in cluster.text)


def test_the_mode_selector_shows_where_each_value_comes_from(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    page = browser.go("GET", CONNECTOR)
    options = re.findall(r'<option value="([^"]+)"', page.text)
    assert options == ["cluster", "group:Main_Group", "machine:esa1"]
    assert 'id="change-mode"' in page.text
    group = browser.go("GET", f"{CONNECTOR}?mode=group:Main_Group")
    assert "Group: Main_Group" in group.text and "inherited from Cluster" in group.text
    assert "<td>Disabled</td><td>inherited from Cluster</td>" in group.text
    cluster = browser.go("GET", CONNECTOR)
    assert "<td>Disabled</td><td>set at this level</td>" in cluster.text


def test_the_console_is_in_sandbox_json_and_the_start_summary(tdc_sandbox: SandboxFacade) -> None:
    description = tdc_sandbox.sandbox.describe()
    assert description["console"] == {"url": tdc_sandbox.console_url, "user": "admin",
                                      "password": tdc_sandbox.console_password}
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", tdc_sandbox.console_url)
    (row,) = [line for line in summary(description).splitlines() if line.strip().startswith("Console ")]
    assert row.split()[1:] == [tdc_sandbox.console_url, "(user", "admin,", "password",
                               f"{tdc_sandbox.console_password})"]


