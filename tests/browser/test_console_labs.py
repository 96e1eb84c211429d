"""Training > Labs in Chromium (issue 12 points 2 and 4: "one lab goes from not done to done through the
browser"): lab 1 checked not done, then done in the browser as the chapter says (Edit Global Settings:
enable, the intake address, Submit; Commit Changes: Commit), a message sent, and Check says done; a
lab's Start with its notice; the labs pages readable at 1280x800 and used with the keyboard."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from simulator.console.render import CONNECTOR_PATH, LABS_PATH
from simulator.core.mail.samples import MessageFactory

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through

TENANT = "sandbox-tenant@intake.threatdefense.test"


def check(page: Page) -> None:
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#lab-status")).to_be_visible()


def test_lab_one_goes_from_not_done_to_done_through_the_browser(
    logged_in: ConsoleSite, tdc_messages: MessageFactory
) -> None:
    page = logged_in.page
    page.get_by_role("link", name="Training").click()
    page.get_by_role("link", name="Enable the Threat Defense Connector and see a journal arrive").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Lab 1: Enable the Threat Defense Connector and see a journal arrive")
    check(page)
    expect(page.locator("#lab-status")).to_have_text("Not done")
    checks = page.locator("#lab-checks")
    expect(checks).to_contain_text("not done: the connector is disabled at cluster level")

    page.get_by_role("link", name="Security Services").click()
    expect(page).to_have_url(logged_in.url(CONNECTOR_PATH))
    page.get_by_role("link", name="Edit Global Settings...").click()
    page.get_by_label("Enable Threat Defense Connector").check()
    page.get_by_label("Message Intake Address").fill(TENANT)
    page.get_by_role("button", name="Submit").click()
    page.get_by_role("link", name="Commit Changes").first.click()
    page.get_by_label("Comment").fill("lab 1: enable the connector")
    page.get_by_role("button", name="Commit", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Changes committed: ")

    logged_in.open(f"{LABS_PATH}/enable-connector")
    check(page)
    expect(page.locator("#lab-status")).to_have_text("Not done")  # committed, but no journal yet
    enabled = f"done: the connector is enabled at cluster level with {TENANT}, committed"
    expect(checks).to_contain_text(enabled)
    logged_in.sandbox.send_accepted(tdc_messages.message())
    logged_in.sandbox.settle()
    check(page)
    expect(page.locator("#lab-status")).to_have_text("Done")
    expect(checks).to_contain_text("done: Threat Defense received the journal of message")

    logged_in.open(LABS_PATH)
    expect(page.locator("#lab-enable-connector")).to_contain_text("Done")


def test_start_sets_the_lab_up_and_says_so(logged_in: ConsoleSite) -> None:
    page = logged_in.open(f"{LABS_PATH}/tls-error")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#notice")).to_contain_text("Lab tls-error started: ")
    expect(page.locator("#notice")).to_contain_text("threat_defense scripted with untrusted-cert")
    assert logged_in.sandbox.admin_client().get("/faults")["threat_defense"] == ["untrusted-cert"]
    page.get_by_text("Hints").click()
    expect(page.locator("#lab-hints")).to_contain_text("TLS Error")


def test_the_labs_pages_read_at_1280x800_and_work_with_the_keyboard(logged_in: ConsoleSite) -> None:
    for path in (LABS_PATH, f"{LABS_PATH}/catch-all-route", f"{LABS_PATH}/catch-all-route?check=1"):
        page = logged_in.open(path)
        layout = page.evaluate(LAYOUT)
        assert layout["overflow"] <= 0 and layout["smallest"] >= 12, (path, layout)
        assert [field for field in page.evaluate(UNLABELLED_FIELDS) if not field["labelled"]] == []
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert in_order(tab_through(page), ["start", "check"])
    page.locator("#check").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lab-status")).to_have_text("Not done")
