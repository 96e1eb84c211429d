"""The Threat Defense portal in Chromium: the chapter's three steps done by hand as a trainee does them
(read the intake address under Account Details, enable the connector with it, Submit, Commit Changes),
then a sample's journal appearing with its verdict, opened, and its .eml downloaded byte for byte, lab 1
("Enable the Threat Defense Connector and see a journal arrive") going from not done to done along the
way; and the portal's pages passing the console's accessibility checks."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

from playwright.sync_api import Page, expect

from simulator.console.portal import BUSINESS_PATH, messages_path
from simulator.console.render import LABS_PATH, PORTAL_PATH
from simulator.core.config.values import ConnectorSettings
from simulator.core.mail.samples import Outgoing
from simulator.testing.messages import MessageFactory
from simulator.testing.smtp_client import send

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through

SEED = 1212
PHISHING = "Urgent: verify your account"
DEFAULT, SECOND = "sandbox-tenant@intake.threatdefense.test", "second-tenant@intake.threatdefense.test"


def marks(page: Page) -> list[str]:
    return [page.locator(f"#step-{number}-mark").inner_text() for number in (1, 2, 3)]


def check_lab_one(site: ConsoleSite, status: str, line: str) -> None:
    """Lab 1's page, Check: its status, and one of its checks' lines."""
    page = site.open(f"{LABS_PATH}/enable-connector")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#lab-status")).to_have_text(status)
    expect(page.locator("#lab-checks")).to_contain_text(line)


def test_a_trainee_enables_the_connector_with_the_portals_address_and_sees_the_journal(
    logged_in: ConsoleSite, tmp_path: Path
) -> None:
    """Also lab 1 going from not done to done through the browser (issue 12 point 2): the lab is this
    very exercise, so it is checked along the way rather than done again in a test of its own."""
    page = logged_in.page
    page.get_by_role("link", name="Training").click()
    page.get_by_role("link", name="Enable the Threat Defense Connector and see a journal arrive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Lab 1: Enable the Threat Defense Connector and see a journal arrive")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#lab-status")).to_have_text("Not done")
    expect(page.locator("#lab-checks")).to_contain_text(
        "not done: the connector is disabled at cluster level")

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Threat Defense").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Threat Defense Portal")
    assert marks(page) == ["Done", "Not done", "Not done"]

    page.get_by_role("navigation", name="Threat Defense portal").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(logged_in.url(BUSINESS_PATH))
    expect(page.get_by_role("heading", name="Account Details")).to_be_visible()
    address = page.get_by_role("textbox", name="Message Intake Address (default tenant)").input_value()
    assert address == DEFAULT
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=logged_in.url("/"))
    page.get_by_role("button", name="Copy Message Intake Address (default tenant)").click()
    expect(page.locator("#intake-address-1-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == DEFAULT

    page.get_by_role("link", name="Home").click()
    page.locator("#step-3").get_by_role("link", name="Edit Global Settings").click()
    page.get_by_label("Enable Threat Defense Connector").check()
    page.get_by_label("Message Intake Address").fill("")
    page.get_by_label("Message Intake Address").press("ControlOrMeta+V")  # pasted, as a trainee does
    expect(page.get_by_label("Message Intake Address")).to_have_value(address)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#pending-banner")).to_be_visible()
    page.locator("#commit-changes").click()
    page.get_by_label("Comment").fill("Threat Defense Connector on, as the chapter says")
    page.get_by_role("button", name="Commit", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Changes committed: ")
    check_lab_one(logged_in, "Not done",  # committed, but no journal yet
                  f"done: the connector is enabled at cluster level with {DEFAULT}, committed")

    mail = MessageFactory(SEED).message(subject=PHISHING)
    logged_in.sandbox.send_accepted(mail)
    logged_in.sandbox.settle()
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Threat Defense").click()
    assert marks(page) == ["Done", "Done", "Done"]
    page.get_by_role("navigation", name="Threat Defense portal").get_by_role("link", name="Messages").click()
    row = page.locator("#journal-1")
    expect(row.locator(".verdict")).to_have_text("Phishing")
    expect(row).to_contain_text(PHISHING)
    expect(row).to_contain_text(mail.mail_from)

    row.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal 1")
    expect(page.locator("#verdict")).to_have_text("Phishing")
    expect(page.locator("#conformance")).to_contain_text("Valid")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download sandbox-tenant-1.eml").click()
    download = downloading.value
    assert download.suggested_filename == "sandbox-tenant-1.eml"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    [journal] = logged_in.sandbox.journals()
    assert saved.read_bytes() == journal.data

    check_lab_one(logged_in, "Done", "done: Threat Defense received the journal of message")
    logged_in.open(LABS_PATH)
    expect(page.locator("#lab-enable-connector")).to_contain_text("Done")


def portal_pages(console: ConsoleSite, tls: ssl.SSLContext) -> list[str]:
    """Log in (by request), give the second tenant a message that is no journal and the default one a
    journal of a sample with a long subject; the portal's pages."""
    console.log_in_by_request()
    body = b"Subject: not a journal\r\nFrom: someone@gateway.test\r\n\r\n" + b"text\r\n" * 20
    outcome = send(*console.sandbox.listener_address("threat_defense"),
                   Outgoing("someone@gateway.test", (SECOND,), body), tls=tls)
    assert outcome.accepted, outcome
    console.sandbox.reconfigure(lambda config: dataclasses.replace(
        config, connector=ConnectorSettings(enabled=True, intake_address=DEFAULT)))
    console.sandbox.send_accepted(MessageFactory(SEED).message(subject=PHISHING + " " + "word " * 30))
    console.sandbox.settle()
    return [PORTAL_PATH, BUSINESS_PATH, messages_path(DEFAULT), messages_path(SECOND),
            f"{messages_path(DEFAULT)}/1", f"{messages_path(SECOND)}/1", f"{messages_path(SECOND)}/9"]


def test_the_portal_pages_are_labelled_readable_at_1280_by_800_and_keyboard_reachable(
    console: ConsoleSite, tdc_client_tls: ssl.SSLContext
) -> None:
    layouts, unlabelled = {}, []
    for path in portal_pages(console, tdc_client_tls):
        page = console.open(path)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
        if page.locator("details").count():
            page.locator("details summary").first.click()  # the broken rules, shown
        layouts[path] = page.evaluate(LAYOUT)
        unlabelled += [field["field"] for field in page.evaluate(UNLABELLED_FIELDS) if not field["labelled"]]
    assert unlabelled == []
    assert {path: layout for path, layout in layouts.items()
            if layout["overflow"] > 0 or layout["smallest"] < 12} == {}

    page = console.open(BUSINESS_PATH)
    assert in_order(tab_through(page), ["Skip to content", "Threat Defense", "portal-home", "portal-messages",
                                        "portal-settings", "intake-address-1", "intake-address-2"])
    page = console.open(messages_path(SECOND))
    summary = page.locator("details summary").inner_text()
    assert summary.startswith("Breaks ")
    assert in_order(tab_through(page), ["portal-messages", DEFAULT, SECOND, "1", summary])
    page.locator("details summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#journal-1 li").first).to_be_visible()
    page.locator("#journal-1").get_by_role("link", name="1", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Journal 1")
    expect(page.locator("#broken-rules li")).not_to_have_count(0)

