"""Training > Faults over real HTTP (issue 12): each endpoint's plan, switched on and off through the
operation the admin API's PUT /faults/{endpoint} calls, in effect at once (checked through the API's
GET /faults and the mail log's seed line, BEHAVIOUR.md §4.2 / §7.3); bad specs, stale forms and unknown
endpoints change nothing."""

from __future__ import annotations

import dataclasses
import html

import pytest

from fixtures.console_client import Answer, ConsoleClient
from simulator.admin.bounds import MOST_FAULTS
from simulator.console.render import DELIVERY_STATUS_PATH, FAULTS_PATH, MAIL_LOG_PATH
from simulator.core.errors import Refused
from simulator.core.mail.messages import TDC_QUEUE
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.messages import MessageFactory

TLS_ERROR = r"^TDC: Message (\d+) delivery failed to Cisco Secure Email Threat Defense: TLS Error\.$"


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector enabled, so that every message has a copy for Threat Defense."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=True)


def apply_faults(browser: ConsoleClient, endpoint: str, plan: str | None = None, **fields: str) -> Answer:
    """Post `endpoint`'s form as loaded (its plan as the page showed it unless `plan` is given) with
    `fields` (check boxes: "on"); redirects not followed."""
    page = browser.go("GET", FAULTS_PATH)
    shown = html.unescape(page.text.split(f'id="{endpoint}-form"', 1)[1])
    loaded = shown.split('name="plan" value="', 1)[1].split('"', 1)[0]
    return browser.request("POST", f"{FAULTS_PATH}/{endpoint}", {
        "csrf_token": page.hidden("csrf_token"), "plan": loaded if plan is None else plan, **fields})


def faults(sandbox: SandboxFacade) -> dict[str, list[str]]:
    plans: dict[str, list[str]] = sandbox.admin_client().get("/faults")
    return plans


def test_the_page_shows_each_plan_says_faults_apply_at_once_and_where_to_watch(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    tdc_sandbox.set_faults("mailbox", "delay:2")
    page = browser.go("GET", FAULTS_PATH)
    assert page.status == 200 and "<h1>Faults</h1>" in page.text
    assert 'id="threat_defense-plan">none: the endpoint behaves normally<' in page.text
    assert 'id="mailbox-plan">delay:2<' in page.text
    assert 'id="mailbox-other" name="other"' in page.text and ">delay:2</textarea>" in page.text
    assert "take effect <strong>at once</strong>" in page.text and "nothing to Submit or Commit" in page.text
    assert "TDC: Message N delivery failed to Cisco Secure Email Threat Defense: TLS Error." in page.text
    assert f'href="{MAIL_LOG_PATH}?tdc=on"' in page.text and f'href="{DELIVERY_STATUS_PATH}"' in page.text
    assert "the.tdc.queue" in page.text
    assert ConsoleClient(tdc_sandbox.console_url).request("GET", FAULTS_PATH).status == 303  # needs the login


def test_an_untrusted_certificate_switched_on_fails_the_copies_with_the_seeds_tls_line_then_off(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    switched = apply_faults(browser, "threat_defense", **{"untrusted-cert": "on"})
    assert (switched.status, switched.headers["Location"]) == (303, FAULTS_PATH)
    assert faults(tdc_sandbox) == {"threat_defense": ["untrusted-cert"], "mailbox": []}
    page = browser.go("GET", FAULTS_PATH)
    assert "Threat Defense: untrusted-cert. In effect now: faults are not configuration" in page.text
    assert 'id="threat_defense-untrusted-cert" name="untrusted-cert" value="on" checked' in page.text
    assert "Uncommitted changes" not in page.text

    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    (failed,) = tdc_sandbox.mail_log.wait_for(TLS_ERROR)
    copy = failed.text.split()[2]
    assert tdc_sandbox.mail_log.matching(rf"^TDC: Message {copy} created from message {mid} ")
    assert [entry.mid for entry in tdc_sandbox.queued(TDC_QUEUE)] == [int(copy)]
    assert str(failed) in html.unescape(browser.go("GET", f"{MAIL_LOG_PATH}?tdc=on").text)

    cleared = apply_faults(browser, "threat_defense", clear="on")
    assert cleared.status == 303 and faults(tdc_sandbox)["threat_defense"] == []
    tdc_sandbox.admin_client().deliver_now(TDC_QUEUE)
    tdc_sandbox.mail_log.wait_for(rf"^TDC: Message {copy} delivered to Cisco Secure Email Threat Defense\.$")


def test_the_common_faults_switch_on_together_and_off_by_unticking(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    on = apply_faults(browser, "mailbox", **{"tls1.1-only": "on", "down": "on", "reply": "on",
                                             "reply_command": "RCPT", "reply_code": "452",
                                             "other": "delay:1\r\n\r\nfail-next:2\n"})
    assert on.status == 303
    assert faults(tdc_sandbox)["mailbox"] == ["tls1.1-only", "down", "reply:RCPT=452", "delay:1",
                                              "fail-next:2"]
    assert tdc_sandbox.sandbox.mailbox_faults.down  # in effect: the endpoint stopped listening
    page = browser.go("GET", FAULTS_PATH)
    assert 'id="mailbox-down" name="down" value="on" checked' in page.text
    assert '<option value="RCPT" selected>' in page.text and 'value="452"' in page.text
    off = apply_faults(browser, "mailbox", **{"tls1.1-only": "on", "other": "delay:1"})
    assert off.status == 303 and faults(tdc_sandbox)["mailbox"] == ["tls1.1-only", "delay:1"]
    assert not tdc_sandbox.sandbox.mailbox_faults.down


def api_refusal(sandbox: SandboxFacade, specs: list[str]) -> str:
    with pytest.raises(Refused) as refused:
        sandbox.admin_client().call("PUT", "/faults/threat_defense", specs)
    return str(refused.value)


@pytest.mark.bad_input
@pytest.mark.parametrize(("fields", "field", "specs"), [
    ({"reply": "on", "reply_command": "MAIL", "reply_code": "399"}, "reply_code", ["reply:MAIL=399"]),
    ({"reply": "on", "reply_command": "MAIL", "reply_code": ""}, "reply_code", ["reply:MAIL="]),
    ({"other": "bogus"}, "other", ["bogus"]),
    ({"untrusted-cert": "on", "other": "delay:soon"}, "other", ["untrusted-cert", "delay:soon"]),
    ({"other": "down\n" * (MOST_FAULTS + 1)}, "other", ["down"] * (MOST_FAULTS + 1)),
    ({"other": "x" * 300}, "other", ["x" * 300]),
])
def test_a_bad_fault_is_the_form_again_with_the_apis_refusal_and_nothing_changed(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, fields: dict[str, str], field: str, specs: list[str]
) -> None:
    tdc_sandbox.set_faults("threat_defense", "delay:1")
    answer = apply_faults(browser, "threat_defense", **fields)
    assert answer.status == 422
    error = html.unescape(answer.text.split(f'id="threat_defense-{field.replace("_", "-")}-error">', 1)[1]
                          .split("</span>", 1)[0])
    assert error.endswith(api_refusal(tdc_sandbox, specs).split(": ", 1)[1])  # the API's words
    assert 'aria-invalid="true"' in answer.text and "Traceback" not in answer.text
    assert faults(tdc_sandbox)["threat_defense"] == ["delay:1"]  # nothing changed
    assert 'id="threat_defense-plan">delay:1<' in answer.text


@pytest.mark.bad_input
def test_a_form_loaded_before_the_plan_changed_changes_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    answer = apply_faults(browser, "threat_defense", plan="tls1.1-only", down="on")
    assert answer.status == 409 and "changed since this page was loaded" in answer.text
    assert faults(tdc_sandbox)["threat_defense"] == []


@pytest.mark.bad_input
def test_an_unknown_endpoint_is_the_plain_404_page_and_a_post_needs_its_token(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    page = browser.go("GET", FAULTS_PATH)
    answer = browser.request("POST", f"{FAULTS_PATH}/smtp_relay",
                             {"csrf_token": page.hidden("csrf_token"), "plan": "", "down": "on"})
    assert answer.status == 404 and "unknown endpoint &#39;smtp_relay&#39;" in answer.text
    without_token = browser.request("POST", f"{FAULTS_PATH}/threat_defense", {"plan": "", "down": "on"})
    assert without_token.status == 403 and faults(tdc_sandbox) == {"threat_defense": [], "mailbox": []}
