"""Monitor > Message Tracking and Delivery Status in Chromium (issue 12 points 1, 4 and 5): a message
sent with the connector enabled is found through the search form by its subject, its detail shows the
original's events and, beside them, its journal copy's `TDC:` events; a search finding nothing says
"No messages match"; tophosts is chosen by machine and sort; and the pages pass the accessibility
checks of test_console_accessibility.py (labels, keyboard, 1280x800)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from simulator.console.render import DELIVERY_STATUS_PATH, TRACKING_PATH
from simulator.console.tracking import NO_MATCH
from simulator.core.mail.messages import TDC_QUEUE
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES
from simulator.testing.harness import SandboxFacade
from simulator.testing.messages import MessageFactory

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through

SUBJECT = "Invoice 4711 overdue"


def send_with_the_connector(sandbox: SandboxFacade, messages: MessageFactory) -> int:
    """Enable the connector through the admin API, commit, send one message; its MID once copied."""
    client = sandbox.admin_client()
    client.call("POST", "/tdc/enable", {"address": DEFAULT_INTAKE_ADDRESSES[0]})
    client.call("POST", "/commit", {"comment": "enable for the tracking test"})
    mid = sandbox.send_accepted(messages.message(subject=SUBJECT))
    sandbox.mail_log.wait_for(rf"TDC: Message \d+ created from message {mid} ")
    sandbox.mail_log.wait_for(r"TDC: Message \d+ delivered to ")
    sandbox.settle()
    return mid


def search_by_subject(page: Page, subject: str) -> None:
    """Monitor > Message Tracking, the subject typed, Search."""
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Monitor").click()
    page.get_by_role("navigation", name="Monitor").get_by_role("link", name="Message Tracking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message Tracking")
    page.get_by_label("Subject").fill(subject)
    page.get_by_role("button", name="Search").click()


def test_a_message_is_found_by_its_subject_and_its_detail_shows_the_copys_tdc_events(
    logged_in: ConsoleSite, tdc_messages: MessageFactory
) -> None:
    page, sandbox = logged_in.page, logged_in.sandbox
    mid = send_with_the_connector(sandbox, tdc_messages)
    search_by_subject(page, "invoice 4711")
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(SUBJECT)
    results.first.get_by_role("link", name=str(mid), exact=True).click()

    expect(page).to_have_url(logged_in.url(f"{TRACKING_PATH}/esa1/{mid}"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Message {mid}")
    originals = page.locator("#history td.original")
    expect(originals.filter(has_text=f"Message {mid} queued for delivery.")).to_have_count(1)
    expect(originals.filter(has_text=re.compile(r"^TDC: "))).to_have_count(0)
    copies = page.locator("#history td.copy").filter(has_text=re.compile(r"^TDC: Message \d+ "))
    expect(copies.filter(has_text=f"created from message {mid} for ")).to_have_count(1)
    expect(copies.filter(has_text="delivered to Cisco Secure Email Threat Defense.")).to_have_count(1)
    history = sandbox.admin_client().get(f"/tracking/{mid}")["history"]
    expect(page.locator("#tracking-text")).to_have_text("\n".join(history))


def test_a_search_that_finds_nothing_says_so(logged_in: ConsoleSite) -> None:
    search_by_subject(logged_in.page, "no such subject")
    expect(logged_in.page.locator("#no-match")).to_have_text(NO_MATCH)
    expect(logged_in.page.get_by_label("Subject")).to_have_value("no such subject")


def test_tophosts_is_chosen_by_machine_and_sort(logged_in: ConsoleSite) -> None:
    page = logged_in.open(DELIVERY_STATUS_PATH)
    expect(page.locator("#status-esa1 tbody tr").filter(has_text=TDC_QUEUE)).to_have_count(1)
    expect(page.locator("#machine-mode-only")).to_contain_text("machine mode only")
    page.get_by_label("Machine", exact=True).select_option("esa1")
    page.get_by_label("Sort by").select_option(label="Delivered Recipients")
    page.get_by_role("button", name="Show tophosts").click()
    expect(page).to_have_url(logged_in.url(f"{DELIVERY_STATUS_PATH}?machine=esa1&sort=delivered"))
    expect(page.locator("#tophosts th[aria-sort=descending]")).to_have_text("Deliv. Recip.")


def my_pages(logged_in: ConsoleSite, mid: int) -> list[str]:
    return [DELIVERY_STATUS_PATH, f"{DELIVERY_STATUS_PATH}?machine=esa1&sort=soft", TRACKING_PATH,
            f"{TRACKING_PATH}?subject=invoice", f"{TRACKING_PATH}?subject=nothing",
            f"{TRACKING_PATH}?mid=abc&since=yesterday", f"{TRACKING_PATH}/esa1/{mid}"]


def test_the_monitor_pages_have_labels_read_at_1280_by_800_and_work_by_keyboard(
    logged_in: ConsoleSite, tdc_messages: MessageFactory
) -> None:
    page = logged_in.page
    mid = send_with_the_connector(logged_in.sandbox, tdc_messages)
    unlabelled, layouts = [], {}
    for path in my_pages(logged_in, mid):
        logged_in.open(path)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        unlabelled += [field["field"] for field in page.evaluate(UNLABELLED_FIELDS) if not field["labelled"]]
        layouts[path] = page.evaluate(LAYOUT)
    assert unlabelled == []
    assert {path: layout for path, layout in layouts.items()
            if layout["overflow"] > 0 or layout["smallest"] < 12} == {}

    logged_in.open(TRACKING_PATH)
    assert in_order(tab_through(page), ["search-sender", "search-recipient", "search-subject",
                                        "search-message_id", "search-mid", "search-since", "search-until",
                                        "search-machine", "search", "clear"])
    page.get_by_label("Subject").focus()
    page.keyboard.type(SUBJECT)
    page.keyboard.press("Enter")
    expect(page.locator("#results tbody tr")).to_have_count(1)
