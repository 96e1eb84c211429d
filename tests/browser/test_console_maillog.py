"""System > Mail Log and Training > Faults in Chromium (issue 12 points 1, 4 and 5): the live tail
receiving a line without a reload (server-sent events, `static/maillog.js`), the `TDC:` filter, a fault
switched on in the browser producing the seed's TLS line on the open log page, and the accessibility
basics of both pages (labels, keyboard, 1280x800) checked with the accessibility tests' own helpers."""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import Page, expect

from simulator.console.render import FAULTS_PATH, MAIL_LOG_PATH
from simulator.core.mail.samples import MessageFactory
from simulator.sandbox import SandboxSettings

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through

TLS_ERROR = re.compile(r"Info: TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense: "
                       r"TLS Error\.$")


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector enabled, so that every message logs its copy's `TDC:` lines."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=True)


def log_lines(page: Page) -> list[str]:
    return page.locator("#log-lines li").all_inner_texts()


def filter_tdc_only(page: Page) -> None:
    """Tick "TDC: lines only" and apply the filter, as a person would."""
    page.get_by_label("TDC: lines only").check()
    page.get_by_role("button", name="Apply Filter").click()
    expect(page).to_have_url(re.compile(r"tdc=on"))


def test_a_new_line_appears_live_and_the_tdc_filter_keeps_only_the_connectors(
    signed_in: ConsoleSite, tdc_messages: MessageFactory
) -> None:
    page = signed_in.open(MAIL_LOG_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mail Log")
    expect(page.locator("#live-status")).to_contain_text("Live:")
    mid = signed_in.sandbox.send_accepted(tdc_messages.message())
    expect(page.locator("#log-lines li", has_text=f"Start MID {mid} ICID")).to_have_count(1)

    filter_tdc_only(page)
    expect(page.locator("#live-status")).to_contain_text("Live:")
    shown_before = len(log_lines(page))
    second = signed_in.sandbox.send_accepted(tdc_messages.message())
    created = page.locator("#log-lines li", has_text=f"created from message {second} ")
    expect(created).to_have_count(1)
    delivered = " delivered to Cisco Secure Email Threat Defense."
    expect(page.locator("#log-lines li").last).to_contain_text(delivered)
    assert page.locator("#log-lines li", has_text=f"Start MID {second} ").count() == 0
    new = log_lines(page)[shown_before:]
    assert new and all(" Info: TDC: " in line for line in new), new


def test_a_fault_switched_on_in_the_browser_shows_the_tls_line_on_the_open_log(
    signed_in: ConsoleSite, tdc_messages: MessageFactory
) -> None:
    page = signed_in.open(FAULTS_PATH)
    threat_defense = page.locator("#endpoint-threat_defense")
    threat_defense.get_by_label("Untrusted certificate").check()
    threat_defense.get_by_role("button", name="Apply Faults").click()
    expect(page.locator("#notice")).to_contain_text("Threat Defense: untrusted-cert. In effect now")
    expect(page.locator("#threat_defense-plan")).to_have_text("untrusted-cert")

    page.get_by_role("link", name="System > Mail Log, TDC: lines only").click()
    expect(page.get_by_label("TDC: lines only")).to_be_checked()
    expect(page.locator("#live-status")).to_contain_text("Live:")
    signed_in.sandbox.send_accepted(tdc_messages.message())
    expect(page.locator("#log-lines li").filter(has_text=TLS_ERROR)).to_have_count(1)

    signed_in.open(FAULTS_PATH)
    page.locator("#endpoint-threat_defense").get_by_role("button", name="Switch All Off").click()
    expect(page.locator("#threat_defense-plan")).to_have_text("none: the endpoint behaves normally")
    assert signed_in.sandbox.sandbox.threat_defense_faults.faults == ()


def readable(page: Page) -> None:
    """The page as loaded: its heading in view, every field labelled, readable at 1280x800."""
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
    assert [field["field"] for field in page.evaluate(UNLABELLED_FIELDS) if not field["labelled"]] == []
    layout = page.evaluate(LAYOUT)
    assert layout["overflow"] <= 0 and layout["smallest"] >= 12, (page.url, layout)


def test_the_pages_have_labels_read_at_1280_by_800_and_work_by_keyboard(
    signed_in: ConsoleSite, page_console: list[str]
) -> None:
    """Each page checked as loaded, then used by keyboard (the mail log's MID error page is the one the
    keyboard's wrong MID gets)."""
    page = signed_in.open(MAIL_LOG_PATH)
    readable(page)
    assert in_order(tab_through(page, 60), ["machine", "mid", "icid", "dcid", "lines", "tdc",
                                            "apply-filter", "clear-filter", "log-view"])
    page.get_by_label("MID").focus()
    page.keyboard.type("abc")
    page.keyboard.press("Enter")
    expect(page.locator("#mid-error")).to_contain_text("MID must be a whole number from 1 to ")
    readable(page)  # a field with its error

    signed_in.open(FAULTS_PATH)
    readable(page)
    assert in_order(tab_through(page, 80), [
        "threat_defense-untrusted-cert", "threat_defense-tls1.1-only", "threat_defense-down",
        "threat_defense-reply", "threat_defense-reply-command", "threat_defense-reply-code",
        "threat_defense-other", "threat_defense-apply", "threat_defense-clear", "mailbox-untrusted-cert"])
    page.locator("#mailbox-down").focus()
    page.keyboard.press("Space")
    page.locator("#mailbox-apply").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#mailbox-plan")).to_have_text("down")
    # no script or style the page's CSP refused, no script's uncaught error
    assert [text for text in page_console
            if "Content Security Policy" in text or text.startswith("pageerror: ")] == []
