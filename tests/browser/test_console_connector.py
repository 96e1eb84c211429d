"""Security Services > Threat Defense Connector and Commit Changes in Chromium: Edit Global Settings,
enable, intake address, Submit, Commit with a comment; the effective configuration checked through the
admin API, and a journal copy arriving; a wrong address; Abandon; a form gone stale under another
administrator's commit; the machine-disable rule shown (issue 12 points 1 and 4, BEHAVIOUR.md §1, §5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from simulator.console.connector import STALE
from simulator.console.render import COMMIT_PATH, CONNECTOR_PATH
from simulator.core.config.store import NOTHING_TO_COMMIT
from simulator.core.mail.samples import MessageFactory
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

from .console_site import ConsoleSite

SECOND_TENANT = "second-tenant@intake.threatdefense.test"


def connector(sandbox: SandboxFacade, state: str = "committed", machine: int = 0) -> dict[str, Any]:
    """One machine's connector as the admin API reports it (`committed` runs; `pending` after commit)."""
    row: dict[str, Any] = sandbox.admin_client().get("/tdc", state=state)["machines"][machine]
    return row


def level_setting(page: Page, label: str) -> list[str]:
    """The Value and Where-it-comes-from cells of one row of the level's settings table."""
    row = page.locator("#level-settings tr", has=page.get_by_role("rowheader", name=label, exact=True))
    return [cell.strip() for cell in row.locator("td").all_inner_texts()]


def edit_global_settings(page: Page, enabled: bool, address: str | None = None) -> None:
    """Edit Global Settings..., tick or untick Enable, type the address, Submit."""
    page.get_by_role("link", name="Edit Global Settings...").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Global Settings")
    page.get_by_label("Enable Threat Defense Connector").set_checked(enabled)
    if address is not None:
        page.get_by_label("Message Intake Address").fill(address)
    page.get_by_role("button", name="Submit").click()


def commit_changes(page: Page, comment: str) -> None:
    """The header's Commit Changes, a comment, Commit."""
    page.get_by_role("link", name="Commit Changes").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commit Changes")
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Commit", exact=True).click()


def test_enable_submit_and_commit_through_the_forms_changes_what_runs(
    logged_in: ConsoleSite, tdc_messages: MessageFactory
) -> None:
    page, sandbox = logged_in.page, logged_in.sandbox
    assert level_setting(page, "Threat Defense Connector") == ["Disabled", "set at this level"]
    edit_global_settings(page, enabled=True, address=SECOND_TENANT)
    expect(page).to_have_url(logged_in.url(f"{CONNECTOR_PATH}?mode=cluster"))
    expect(page.locator("#notice")).to_contain_text(
        f"Threat Defense Connector enabled at cluster with intake address {SECOND_TENANT}")
    expect(page.locator("#pending-banner")).to_contain_text("Uncommitted changes")
    assert level_setting(page, "Threat Defense Connector") == ["Enabled", "set at this level"]
    assert connector(sandbox)["enabled"] is False  # submitted, not committed: nothing runs yet
    assert connector(sandbox, "pending")["intake_address"] == SECOND_TENANT

    comment = "enable the connector for the second tenant"
    commit_changes(page, comment)
    expect(page).to_have_url(logged_in.url(COMMIT_PATH))
    expect(page.locator("#notice")).to_contain_text("Changes committed: ")
    expect(page.locator("#nothing-to-commit")).to_have_text(NOTHING_TO_COMMIT)
    expect(page.locator("#history tbody tr").first).to_contain_text(comment)
    expect(page.locator("#pending-banner")).to_have_count(0)
    assert (connector(sandbox)["enabled"], connector(sandbox)["intake_address"]) == (True, SECOND_TENANT)
    assert sandbox.config.connector.enabled and sandbox.config.connector.intake_address == SECOND_TENANT

    sandbox.send_accepted(tdc_messages.message())
    sandbox.settle()
    assert [journal.intake_address for journal in sandbox.journals()] == [SECOND_TENANT]


@pytest.mark.bad_input
def test_an_invalid_intake_address_is_the_form_again_with_the_fields_error(logged_in: ConsoleSite) -> None:
    page = logged_in.page
    edit_global_settings(page, enabled=True, address="not an address")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Global Settings")
    field = page.get_by_label("Message Intake Address")
    expect(field).to_have_value("not an address")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#intake-address-error")).to_be_visible()
    expect(field).to_have_accessible_description(page.locator("#intake-address-error").inner_text())
    expect(page.locator("#pending-banner")).to_have_count(0)
    assert logged_in.sandbox.store.pending is None  # nothing submitted


def test_abandon_discards_what_was_submitted(logged_in: ConsoleSite) -> None:
    page = logged_in.page
    edit_global_settings(page, enabled=True, address=SECOND_TENANT)
    expect(page.locator("#pending-banner")).to_be_visible()
    page.locator("#pending-banner").get_by_role("link", name="Commit Changes").click()
    expect(page.locator("#changes")).to_contain_text(SECOND_TENANT)
    page.get_by_role("button", name="Abandon").click()
    expect(page.locator("#pending-banner")).to_have_count(0)
    expect(page.locator("#nothing-to-commit")).to_have_text(NOTHING_TO_COMMIT)
    assert logged_in.sandbox.store.pending is None and connector(logged_in.sandbox)["enabled"] is False


@pytest.fixture
def two_machines(
    page: Page, tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade],
    tdc_sandbox_settings: SandboxSettings,
) -> ConsoleSite:
    """A cluster of esa1 and esa2 with the connector enabled at cluster level; logged in."""
    sandbox = tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, machines=2, tdc_enabled=True))
    site = ConsoleSite(page, sandbox)
    site.open(site.log_in_by_request())
    expect(page).to_have_url(site.url(CONNECTOR_PATH))
    return site


def test_disabling_one_machine_shows_the_machine_disable_rule(two_machines: ConsoleSite) -> None:
    page, sandbox = two_machines.page, two_machines.sandbox
    expect(page.locator("#machine-disable-rule")).to_have_count(0)
    page.get_by_label("Mode").select_option(label="Machine: esa2")
    page.get_by_role("button", name="Change mode").click()
    expect(page.locator("#current-mode")).to_have_text("Machine: esa2")
    page.get_by_role("link", name="Edit Global Settings...").click()
    expect(page.get_by_role("note")).to_contain_text("machine-disable rule")  # warned before the untick
    page.get_by_label("Enable Threat Defense Connector").uncheck()
    page.get_by_role("button", name="Submit").click()

    rule = page.locator("#machine-disable-rule")
    expect(rule).to_be_visible()
    expect(rule).to_contain_text("disabled at machine level on esa2")
    expect(rule).to_contain_text("Main_Group")
    esa1 = page.locator("#machine-esa1")
    expect(esa1).to_contain_text("by the machine-disable rule (disabled on esa2)")
    expect(esa1).to_contain_text("running now: Enabled")  # until the commit

    commit_changes(page, "disable esa2")
    expect(page.locator("#notice")).to_contain_text("Changes committed: ")
    assert [connector(sandbox, machine=n)["enabled"] for n in (0, 1)] == [False, False]
    assert not sandbox.machine_named("esa1").holder.current.connector.enabled


@pytest.mark.bad_input
def test_a_form_loaded_before_someone_else_committed_submits_nothing(logged_in: ConsoleSite) -> None:
    page, admin = logged_in.page, logged_in.sandbox.admin_client()
    page.get_by_role("link", name="Edit Global Settings...").click()
    admin.call("POST", "/tdc/enable", {"address": SECOND_TENANT})  # another administrator, by the API
    admin.call("POST", "/commit", {"comment": "the other administrator"})
    page.get_by_label("Enable Threat Defense Connector").uncheck()
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.get_by_role("button", name="Submit").click()
    assert posted.value.status == 409
    expect(page.get_by_role("alert")).to_have_text(STALE)
    expect(page.get_by_label("Enable Threat Defense Connector")).to_be_checked()  # the current state
    expect(page.get_by_label("Message Intake Address")).to_have_value(SECOND_TENANT)
    assert logged_in.sandbox.store.pending is None and connector(logged_in.sandbox)["enabled"] is True
