"""Training > Labs in Chromium (issue 12 points 2 and 4): a lab's Start with its notice; the labs pages
readable at 1280x800 and used with the keyboard. "One lab goes from not done to done through the
browser" is lab 1, checked along the trainee's own run of that exercise in test_console_portal.py (the
portal's intake address, Edit Global Settings, Commit Changes, a journal arriving): the same steps
done twice would prove nothing more."""

from __future__ import annotations

from playwright.sync_api import expect

from simulator.console.render import LABS_PATH

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through


def test_start_sets_the_lab_up_and_says_so(signed_in: ConsoleSite) -> None:
    page = signed_in.open(f"{LABS_PATH}/tls-error")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#notice")).to_contain_text("Lab tls-error started: ")
    expect(page.locator("#notice")).to_contain_text("threat_defense scripted with untrusted-cert")
    assert signed_in.sandbox.admin_client().get("/faults")["threat_defense"] == ["untrusted-cert"]
    page.get_by_text("Hints").click()
    expect(page.locator("#lab-hints")).to_contain_text("TLS Error")


def test_the_labs_pages_read_at_1280x800_and_work_with_the_keyboard(signed_in: ConsoleSite) -> None:
    for path in (LABS_PATH, f"{LABS_PATH}/catch-all-route", f"{LABS_PATH}/catch-all-route?check=1"):
        page = signed_in.open(path)
        layout = page.evaluate(LAYOUT)
        assert layout["overflow"] <= 0 and layout["smallest"] >= 12, (path, layout)
        assert [field for field in page.evaluate(UNLABELLED_FIELDS) if not field["labelled"]] == []
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert in_order(tab_through(page), ["start", "check"])
    page.locator("#check").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lab-status")).to_have_text("Not done")
