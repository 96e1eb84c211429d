"""Mail Policies > Incoming Mail Policies and Network > SMTP Routes in Chromium (issue 12 points 1, 4, 5):
a policy's Threat Defense column set to Custom through its form, by labels, and left pending; the
catch-all pitfall fixed with the keyboard alone; and these pages' accessibility basics (every field
labelled, readable at 1280x800 with the pitfall shown and a long route), with the shared checks."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import expect

from simulator.console.policies import EDIT_POLICY_PATH
from simulator.console.render import POLICIES_PATH, ROUTES_PATH
from simulator.console.smtp_routes import ADD_ROUTE_PATH
from simulator.core.config.values import DEFAULT_POLICY, GatewayConfig, MailPolicy
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

from .console_site import ConsoleSite
from .test_console_accessibility import LAYOUT, UNLABELLED_FIELDS, in_order, tab_through

SECOND_TENANT = "second-tenant@intake.threatdefense.test"
INTAKE_DOMAIN = "intake.threatdefense.test"


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """SALES, then DEFAULT (the connector starts disabled)."""
    policies = (MailPolicy("SALES", ("@sales.example.com",)), DEFAULT_POLICY)
    return dataclasses.replace(tdc_sandbox_settings, gateway=GatewayConfig(incoming_policies=policies))


def enable_connector(sandbox: SandboxFacade) -> None:
    """Another administrator enables the connector through the admin API, and commits."""
    api = sandbox.admin_client()
    api.call("POST", "/tdc/enable", {"address": sandbox.sandbox.settings.intake_addresses[0]})
    api.call("POST", "/commit", {"comment": "enable TDC"})


def test_a_policys_threat_defense_column_is_set_to_custom_by_its_labels(logged_in: ConsoleSite) -> None:
    page, sandbox = logged_in.page, logged_in.sandbox
    enable_connector(sandbox)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Mail Policies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incoming Mail Policies")
    page.get_by_role("link", name="Edit Threat Defense of SALES").click()
    expect(page.get_by_label("Default Message Intake Address")).to_be_checked()
    page.get_by_label("Custom Message Intake Address").check()
    page.get_by_label("Custom address").fill(SECOND_TENANT)
    page.get_by_role("button", name="Submit").click()

    expect(page).to_have_url(logged_in.url(f"{POLICIES_PATH}?mode=cluster"))
    expect(page.locator("#pending-banner")).to_contain_text("Uncommitted changes")
    expect(page.locator("#notice")).to_contain_text("Policy SALES set to custom at cluster")
    expect(page.locator("#policy-SALES .threat-defense")).to_contain_text(f"Custom: {SECOND_TENANT}")
    pending = sandbox.admin_client().get("/policies", state="pending")["machines"]["esa1"]["policies"]
    assert (pending[0]["tdc"], pending[0]["tdc_intake"]) == ("custom", SECOND_TENANT)
    assert sandbox.config.incoming_policies[0].tdc == "default"  # pending until Commit Changes


def test_the_keyboard_alone_fixes_the_catch_all_route(signed_in: ConsoleSite) -> None:
    page, api = signed_in.page, signed_in.sandbox.admin_client()
    api.call("POST", "/routes", {"domain": "ALL", "destination": "127.0.0.1:2528"})
    signed_in.open(ROUTES_PATH)
    warning = page.locator("#catch-all-warning")
    expect(warning).to_contain_text(f"{INTAKE_DOMAIN} (intake address")
    assert in_order(tab_through(page), ["mode", "change-mode", "fix-catch-all-1", "delete-route-1",
                                        "add-route"])
    page.locator("#add-route").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Add SMTP Route")
    assert in_order(tab_through(page), ["route-domain", "route-destination", "cancel", "submit"])
    page.get_by_label("Receiving Domain").focus()
    page.keyboard.type(INTAKE_DOMAIN)
    page.keyboard.press("Tab")
    page.keyboard.type("USEDNS")
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text(f"Route {INTAKE_DOMAIN} -> USEDNS added at cluster")
    expect(warning).to_have_count(0)

    signed_in.open(f"{EDIT_POLICY_PATH}?policy=SALES")
    assert in_order(tab_through(page), ["td-default", "custom-address", "cancel", "submit"])


def table_pages(site: ConsoleSite) -> list[str]:
    """Log in (by request); leave a catch-all with 32 hosts and a refused Add Route; name every page
    of these two."""
    site.log_in_by_request()
    hosts = ", ".join(f"smarthost-{n}.relay.example.net:2525:{n}" for n in range(32))
    site.sandbox.admin_client().call("POST", "/routes", {"domain": "ALL", "destination": hosts})
    return [POLICIES_PATH, f"{POLICIES_PATH}?mode=machine:esa1", f"{EDIT_POLICY_PATH}?policy=SALES",
            ROUTES_PATH, f"{ROUTES_PATH}?mode=group:Main_Group", ADD_ROUTE_PATH]


def test_every_field_is_labelled_and_every_page_reads_at_1280_by_800(console: ConsoleSite) -> None:
    fields, layouts = [], {}
    for path in table_pages(console):
        page = console.open(path)
        fields += page.evaluate(UNLABELLED_FIELDS)
        layouts[path] = page.evaluate(LAYOUT)
        expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
    page.get_by_label("Receiving Domain").fill("not a domain!")
    page.get_by_label("Destination Hosts").fill("USEDNS")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_label("Receiving Domain")).to_have_accessible_description(
        "A domain (example.com), its sub-domains (.example.com) or ALL for every domain no other route "
        "names. domain: not a domain, .domain or ALL: 'not a domain!'")
    fields += page.evaluate(UNLABELLED_FIELDS)
    layouts["refused"] = page.evaluate(LAYOUT)
    assert {"mode", "td-default", "td-custom", "td-no-scan", "custom-address", "route-domain",
            "route-destination"} <= {field["field"] for field in fields}
    assert [field["field"] for field in fields if not field["labelled"]] == []
    assert {path: layout for path, layout in layouts.items()
            if layout["overflow"] > 0 or layout["smallest"] < 12} == {}
