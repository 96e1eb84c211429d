"""Monitor > Message Tracking and Delivery Status in Chromium (issue 12 points 1, 4 and 5): a message
sent with the connector enabled is found through the search form by its subject, its detail shows the
original's events and, beside them, its journal copy's `TDC:` events; a search finding nothing says
"No messages match"; tophosts is chosen by machine and sort; and the pages pass the accessibility
checks of test_console_accessibility.py (labels, keyboard, 1280x800). The tests only read: they share
one sandbox, each taking its turn on it (fixtures/shared_sandbox.py)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from fixtures.shared_sandbox import module_settings, turn_on
from simulator.console.render import DELIVERY_STATUS_PATH, TRACKING_PATH
from simulator.console.tracking import NO_MATCH
from simulator.core.mail.messages import TDC_QUEUE
from simulator.testing.harness import SandboxFacade, shared_by_module
from simulator.testing.messages import MessageFactory
from simulator.testing.plugin import seed_of
from simulator.transport.tls import SandboxTls

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through

SUBJECT = "Invoice 4711 overdue"


@dataclasses.dataclass(frozen=True)
class Tracked:
    """The module's sandbox and the MID of the one message sent to it."""

    sandbox: SandboxFacade
    mid: int


@pytest.fixture(scope="module")
def tracked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls
) -> Iterator[Tracked]:
    """One sandbox (the connector enabled) with one message sent and its copy delivered to Threat
    Defense, for the module's tests, which only read: started and sent to once for the module, not once
    per test (its faker seed is the module's `seed_of`)."""
    settings = module_settings(tmp_path_factory, "browser-tracking", tdc_enabled=True)
    seed = seed_of(request)
    with shared_by_module(settings, tdc_tls) as sandbox:
        mid = sandbox.send_accepted(MessageFactory(seed).message(subject=SUBJECT))
        sandbox.mail_log.wait_for(rf"TDC: Message \d+ created from message {mid} ")
        sandbox.mail_log.wait_for(r"TDC: Message \d+ delivered to ")
        sandbox.settle()
        assert not sandbox.unexpected_warnings(), sandbox.unexpected_warnings()
        yield Tracked(sandbox, mid)


@pytest.fixture
def console(page: Page, tracked: Tracked, request: pytest.FixtureRequest) -> Iterator[ConsoleSite]:
    """The shared sandbox's console, for one test's turn: the test fails if it changed the sandbox or
    logged a warning."""
    with turn_on(tracked.sandbox, request):
        yield ConsoleSite(page, tracked.sandbox)


def search_by_subject(page: Page, subject: str) -> None:
    """Monitor > Message Tracking, the subject typed, Search."""
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Monitor").click()
    page.get_by_role("navigation", name="Monitor").get_by_role("link", name="Message Tracking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message Tracking")
    page.get_by_label("Subject").fill(subject)
    page.get_by_role("button", name="Search").click()


def test_a_message_is_found_by_its_subject_and_its_detail_shows_the_copys_tdc_events(
    logged_in: ConsoleSite, tracked: Tracked
) -> None:
    page, sandbox, mid = logged_in.page, logged_in.sandbox, tracked.mid
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


def test_a_search_that_finds_nothing_says_so(signed_in: ConsoleSite) -> None:
    page = signed_in.open(TRACKING_PATH)  # reached by its menus in the test before
    page.get_by_label("Subject").fill("no such subject")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#no-match")).to_have_text(NO_MATCH)
    expect(page.get_by_label("Subject")).to_have_value("no such subject")


def test_tophosts_is_chosen_by_machine_and_sort(signed_in: ConsoleSite) -> None:
    page = signed_in.open(DELIVERY_STATUS_PATH)
    expect(page.locator("#status-esa1 tbody tr").filter(has_text=TDC_QUEUE)).to_have_count(1)
    expect(page.locator("#machine-mode-only")).to_contain_text("machine mode only")
    page.get_by_label("Machine", exact=True).select_option("esa1")
    page.get_by_label("Sort by").select_option(label="Delivered Recipients")
    page.get_by_role("button", name="Show tophosts").click()
    expect(page).to_have_url(signed_in.url(f"{DELIVERY_STATUS_PATH}?machine=esa1&sort=delivered"))
    expect(page.locator("#tophosts th[aria-sort=descending]")).to_have_text("Deliv. Recip.")


def my_pages(mid: int) -> list[str]:
    """The pages checked; the empty search form last, as the keyboard's part of the test goes on there."""
    return [DELIVERY_STATUS_PATH, f"{DELIVERY_STATUS_PATH}?machine=esa1&sort=soft",
            f"{TRACKING_PATH}?subject=invoice", f"{TRACKING_PATH}?subject=nothing",
            f"{TRACKING_PATH}?mid=abc&since=yesterday", f"{TRACKING_PATH}/esa1/{mid}", TRACKING_PATH]


def test_the_monitor_pages_have_labels_read_at_1280_by_800_and_work_by_keyboard(
    signed_in: ConsoleSite, tracked: Tracked
) -> None:
    page = signed_in.page
    unlabelled, layouts = [], {}
    for path in my_pages(tracked.mid):
        signed_in.open(path)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        unlabelled += [field["field"] for field in page.evaluate(UNLABELLED_FIELDS) if not field["labelled"]]
        layouts[path] = page.evaluate(LAYOUT)
    assert unlabelled == []
    assert {path: layout for path, layout in layouts.items()
            if layout["overflow"] > 0 or layout["smallest"] < 12} == {}

    assert page.url == signed_in.url(TRACKING_PATH)
    assert in_order(tab_through(page), ["search-sender", "search-recipient", "search-subject",
                                        "search-message_id", "search-mid", "search-since", "search-until",
                                        "search-machine", "search", "clear"])
    page.get_by_label("Subject").focus()
    page.keyboard.type(SUBJECT)
    page.keyboard.press("Enter")
    expect(page.locator("#results tbody tr")).to_have_count(1)
