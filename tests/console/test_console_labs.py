"""Training > Labs over real HTTP (issue 12 point 2): the list with each lab's status, a lab's page
(goal, steps, hints, Start, Check), Check reading the same evaluation as the admin API, Start committing
through the store (CSRF and version required; refused while changes are pending, nothing changed), and
an unknown lab answered by the plain 404 page."""

from __future__ import annotations

import html

from fixtures.console_client import ConsoleClient
from simulator.console.labs import STALE
from simulator.console.render import LABS_PATH
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade

TENANT = "sandbox-tenant@intake.threatdefense.test"
LAB_ONE = f"{LABS_PATH}/enable-connector"


def text(page: str) -> str:
    return html.unescape(page)


def test_the_list_shows_every_lab_with_its_status_and_the_menu_entry(browser: ConsoleClient) -> None:
    page = browser.go("GET", LABS_PATH)
    assert page.status == 200 and "<h1>Labs</h1>" in page.text
    assert f'href="{LABS_PATH}"' in page.text  # the Training menu's entry
    for name in ("enable-connector", "machine-disable", "custom-intake", "tls-error", "catch-all-route"):
        assert f'href="{LABS_PATH}/{name}"' in page.text
    assert 'id="lab-enable-connector"' in page.text and "Not done" in page.text
    assert "the connector is disabled at cluster level" in text(page.text)


def test_a_lab_page_shows_goal_steps_and_hints_and_check_results_only_when_asked(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    page = browser.go("GET", LAB_ONE)
    assert page.status == 200
    assert "Lab 1: Enable the Threat Defense Connector and see a journal arrive" in page.text
    assert "Settings (gear) &gt; Administration &gt; Business" in page.text
    assert '<details id="lab-hints">' in page.text and 'id="start"' in page.text
    assert 'id="lab-status"' not in page.text
    checked = browser.go("GET", f"{LAB_ONE}?check=1")
    assert 'id="lab-status"' in checked.text and ">Not done</p>" in checked.text
    for check in tdc_sandbox.admin_client().get("/labs/enable-connector")["checks"]:
        assert check["reason"] in text(checked.text)  # the API's words


def test_check_goes_done_after_enable_commit_and_a_message(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    assert browser.submit_settings(address=TENANT).status == 303
    assert browser.commit("lab 1").status == 303
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    checked = browser.go("GET", f"{LAB_ONE}?check=1")
    assert ">Done</p>" in checked.text
    assert f"done: the connector is enabled at cluster level with {TENANT}, committed" in text(checked.text)


def test_start_commits_with_a_comment_naming_the_lab_and_says_what_it_set_up(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    page = browser.go("GET", f"{LABS_PATH}/tls-error")
    started = browser.go("POST", f"{LABS_PATH}/tls-error/start",
                         {"csrf_token": page.hidden("csrf_token"), "version": page.hidden("version")})
    assert started.path == f"{LABS_PATH}/tls-error" and started.status == 200
    assert "Lab tls-error started: " in text(started.text) and "untrusted-cert" in started.text
    client = tdc_sandbox.admin_client()
    assert client.get("/faults")["threat_defense"] == ["untrusted-cert"]
    assert client.get("/commits")["commits"][-1]["comment"].startswith("Lab tls-error: start")


def test_start_is_refused_while_changes_are_pending_and_nothing_changes(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    browser.submit_settings(address=TENANT)
    page = browser.go("GET", f"{LABS_PATH}/catch-all-route")
    refused = browser.go("POST", f"{LABS_PATH}/catch-all-route/start",
                         {"csrf_token": page.hidden("csrf_token"), "version": page.hidden("version")})
    assert refused.status == 422 and 'id="lab-error"' in refused.text
    assert "start: there are uncommitted changes" in text(refused.text)
    assert tdc_sandbox.admin_client().get("/commits")["commits"] == []
    assert tdc_sandbox.admin_client().get("/routes")["routes"] == []


def test_a_stale_start_form_starts_nothing(tdc_sandbox: SandboxFacade, browser: ConsoleClient) -> None:
    page = browser.go("GET", f"{LABS_PATH}/tls-error")
    tdc_sandbox.admin_client().call("POST", "/tdc/enable", {"address": TENANT})
    tdc_sandbox.admin_client().call("POST", "/commit", {"comment": "someone else"})
    stale = browser.go("POST", f"{LABS_PATH}/tls-error/start",
                       {"csrf_token": page.hidden("csrf_token"), "version": page.hidden("version")})
    assert stale.status == 409 and STALE in text(stale.text)
    assert tdc_sandbox.admin_client().get("/faults")["threat_defense"] == []


def test_start_without_the_csrf_token_is_refused(tdc_sandbox: SandboxFacade, browser: ConsoleClient) -> None:
    page = browser.go("GET", f"{LABS_PATH}/tls-error")
    refused = browser.request("POST", f"{LABS_PATH}/tls-error/start", {"version": page.hidden("version")})
    assert refused.status == 403
    assert tdc_sandbox.admin_client().get("/faults")["threat_defense"] == []


def test_an_unknown_lab_is_the_plain_404_page_naming_the_closest(browser: ConsoleClient) -> None:
    page = browser.go("GET", f"{LABS_PATH}/tls-eror")
    assert page.status == 404 and "did you mean &#39;tls-error&#39;?" in page.text
    assert "Traceback" not in page.text
    token = browser.go("GET", LABS_PATH).hidden("csrf_token")
    assert browser.go("POST", f"{LABS_PATH}/nope/start", {"csrf_token": token}).status == 404
