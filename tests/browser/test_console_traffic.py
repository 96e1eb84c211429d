"""Training > Traffic Generator in Chromium (issue 12 points 1, 4 and 5): a sample picked by its label and
sent shows the MID the gateway gave it (the mail log agrees); the page is used with the keyboard alone,
every field is labelled, and it reads at 1280x800 with a result on it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from simulator.console.render import MAIL_LOG_PATH, TRACKING_PATH, TRAFFIC_PATH

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through


def test_a_sample_picked_by_its_label_and_sent_shows_the_gateways_mid(signed_in: ConsoleSite) -> None:
    page, sandbox = signed_in.open(TRAFFIC_PATH), signed_in.sandbox
    expect(page.get_by_role("heading", level=1)).to_have_text("Traffic Generator")
    page.get_by_label("Phishing", exact=True).check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#sent-mid")).to_contain_text("The gateway accepted the sample as MID")
    mid = int(page.locator("#mid").inner_text())
    sender = page.locator("#envelope-sender").inner_text()
    sandbox.mail_log.wait_for(rf"^MID {mid} ICID \d+ From: <{re.escape(sender)}>$")
    expect(page.get_by_role("link", name=f"Message Tracking for MID {mid}")).to_have_attribute(
        "href", f"{TRACKING_PATH}/esa1/{mid}")
    expect(page.get_by_role("link", name=f"Mail Log lines of MID {mid}")).to_have_attribute(
        "href", f"{MAIL_LOG_PATH}?machine=esa1&mid={mid}")
    expect(page.locator("#recent tbody tr").first).to_contain_text(f"MID {mid}")


def test_the_keyboard_alone_sends_a_sample_and_the_page_reads_at_1280_by_800(signed_in: ConsoleSite) -> None:
    page = signed_in.open(TRAFFIC_PATH)
    assert in_order(tab_through(page), ["kind-clean", "machine", "listener", "seed", "send"])
    page.get_by_label("Clean", exact=True).focus()
    page.keyboard.press("ArrowDown")  # the next sample in the group: Phishing
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Business email compromise (BEC)")).to_be_checked()
    page.get_by_label("Seed").focus()
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    expect(page.locator("#seed-used")).to_have_text("5")
    expect(page.locator("#mid")).to_have_text(re.compile(r"^\d+$"))

    fields = page.evaluate(UNLABELLED_FIELDS)
    assert {"kind-clean", "kind-split", "machine", "listener", "seed"} <= {field["field"] for field in fields}
    assert [field["field"] for field in fields if not field["labelled"]] == []
    layout = page.evaluate(LAYOUT)  # with the result, its replies and Recent samples on the page
    assert layout["overflow"] <= 0 and layout["smallest"] >= 12, layout
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
