"""Network > SMTP Routes (issue 12) over real HTTP against a running sandbox: the routes table per level
(USEDNS included), Add Route and Delete Route (pending until Commit Changes), the API's refusals word
for word on their fields, stale forms, CSRF, and the catch-all pitfall shown until a USEDNS route for
the intake domain fixes it; and the pure check behind that warning."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urljoin

import pytest

from fixtures.console_client import Answer, ConsoleClient
from simulator.admin.bounds import LONGEST
from simulator.console.render import ROUTES_PATH as ROUTES
from simulator.console.smtp_routes import ADD_ROUTE_PATH as ADD
from simulator.console.smtp_routes import DELETE_ROUTE_PATH as DELETE
from simulator.console.smtp_routes import CaughtIntake, caught_by_catch_all
from simulator.core.config.text import parse_route
from simulator.core.config.values import SmtpRoute
from simulator.core.errors import Refused
from simulator.testing.harness import SandboxFacade

INTAKE_DOMAIN = "intake.threatdefense.test"
SMARTHOST = "127.0.0.1:2528"


def api_routes(sandbox: SandboxFacade, state: str = "committed", level: str = "cluster") -> list[str]:
    """The routes at `level` through the admin API, as `domain -> destination`."""
    answer = sandbox.admin_client().get("/routes", level=level, state=state)
    return [f"{route['domain']} -> {route['destination']}" for route in answer["routes"]]


def add_route(browser: ConsoleClient, domain: str, destination: str, level: str = "cluster",
              version: str | None = None) -> Answer:
    """Add Route at `level`: the form as loaded, filled in, Submit."""
    form = browser.go("GET", f"{ADD}?{urlencode({'mode': level})}")
    return browser.request("POST", ADD, {
        "csrf_token": form.hidden("csrf_token"), "level": level, "domain": domain,
        "destination": destination, "version": form.hidden("version") if version is None else version})


def delete_route(browser: ConsoleClient, domain: str, version: str | None = None) -> Answer:
    """Delete Route at cluster level (the page's token; the version of the page as loaded unless
    another is given)."""
    page = browser.go("GET", ADD)
    return browser.request("POST", DELETE, {
        "csrf_token": page.hidden("csrf_token"), "level": "cluster", "domain": domain,
        "version": page.hidden("version") if version is None else version})


def rows(answer: Answer) -> list[str]:
    """The routes table's rows, each as its cells' text, ` | ` apart."""
    found = re.findall(r'<tr id="route-\d+">(.*?)</tr>', answer.text, flags=re.DOTALL)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.DOTALL) for row in found]
    return [" | ".join(html.unescape(re.sub(r"<[^>]+>", "", cell.replace("<br>", " "))).strip()
                       for cell in row[:4]) for row in cells]


def test_the_table_shows_the_routes_the_api_added_per_level(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    page = browser.go("GET", ROUTES)
    assert "<h1>SMTP Routes</h1>" in page.text and 'id="no-routes"' in page.text
    api = tdc_sandbox.admin_client()
    api.call("POST", "/routes", {"domain": INTAKE_DOMAIN, "destination": "USEDNS"})
    api.call("POST", "/routes", {"domain": ".partner.test", "destination": "mx1.partner.test:25:10, "
                                                                            "mx2.partner.test:2525:20"})
    api.call("POST", "/routes", {"domain": "junk.test", "destination": "/dev/null"})
    api.call("POST", "/commit", {"comment": "routes"})
    td_port = tdc_sandbox.listener_address("threat_defense")[1]
    page = browser.go("GET", ROUTES)
    assert rows(page) == [
        f"1 | {INTAKE_DOMAIN} | USEDNS | MX records: 127.0.0.1:{td_port}:10",
        "2 | .partner.test | mx1.partner.test:25:10, mx2.partner.test:2525:20 | "
        "these hosts, lowest priority first",
        "3 | junk.test | /dev/null | mail is dropped"]
    assert "This table: <strong>set at this level</strong>" in page.text
    machine = browser.go("GET", f"{ROUTES}?mode=machine:esa1")
    assert rows(machine) == rows(page)
    assert "This table: <strong>inherited from Cluster</strong>" in machine.text
    assert re.findall(r'<option value="([^"]+)"', machine.text) == ["cluster", "group:Main_Group",
                                                                    "machine:esa1"]


def test_add_and_delete_are_pending_until_commit_changes(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    added = add_route(browser, "partner.test", "mx.partner.test:25")
    assert added.status == 303
    page = browser.go("GET", added.headers["Location"])
    added_text = "Route partner.test -&gt; mx.partner.test:25:0 added at cluster (pending until commit)"
    assert added_text in page.text  # the API's words
    assert 'id="pending-banner"' in page.text and rows(page)[0].startswith("1 | partner.test | ")
    assert api_routes(tdc_sandbox, "pending") == ["partner.test -> mx.partner.test:25:0"]
    assert api_routes(tdc_sandbox) == [] and not tdc_sandbox.config.routes  # nothing runs before commit
    assert browser.commit("partner route").status == 303
    assert api_routes(tdc_sandbox) == ["partner.test -> mx.partner.test:25:0"]
    assert tdc_sandbox.config.routes == (parse_route("partner.test", "mx.partner.test:25"),)

    deleted = delete_route(browser, "partner.test")
    assert deleted.status == 303
    page = browser.go("GET", deleted.headers["Location"])
    assert "Route partner.test deleted at cluster (pending until commit)" in page.text
    assert api_routes(tdc_sandbox, "pending") == [] and api_routes(tdc_sandbox) != []
    browser.commit("no partner route")
    assert api_routes(tdc_sandbox) == [] and not tdc_sandbox.config.routes


def test_a_route_added_at_machine_level_is_set_there(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert add_route(browser, "ALL", SMARTHOST, level="machine:esa1").status == 303
    assert api_routes(tdc_sandbox, "pending", "machine:esa1") == [f"ALL -> {SMARTHOST}:0"]
    assert api_routes(tdc_sandbox, "pending") == []
    assert 'id="no-routes"' in browser.go("GET", ROUTES).text


def api_refusal(sandbox: SandboxFacade, domain: str, destination: str) -> str:
    """What the admin API's POST /routes answers to the same route."""
    with pytest.raises(Refused) as refused:
        sandbox.admin_client().call("POST", "/routes", {"domain": domain, "destination": destination})
    assert refused.value.status in (400, 422)
    return str(refused.value)


def field_error(answer: Answer, field: str) -> str:
    found = re.search(rf'<span class="field-error" id="{field}">([^<]*)</span>', answer.text)
    assert found, answer.text
    return html.unescape(found.group(1))


@pytest.mark.bad_input
@pytest.mark.parametrize(("domain", "destination", "field"), [
    ("", "USEDNS", "route-domain-error"),
    ("two words.test", "USEDNS", "route-domain-error"),
    ("-bad.test", SMARTHOST, "route-domain-error"),
    ("x" * (LONGEST["domain"] + 1), "USEDNS", "route-domain-error"),
    ("partner.test", "", "route-destination-error"),
    ("partner.test", "mx.partner.test", "route-destination-error"),
    ("partner.test", "mx.partner.test:99999", "route-destination-error"),
    ("partner.test", "USEDNS, mx.partner.test:25", "route-destination-error"),
    ("partner.test", "a:25\r\nQUIT", "route-destination-error"),
    ("partner.test", ", ".join(["mx.partner.test:25"] * 33), "route-destination-error"),
])
def test_an_invalid_route_is_the_form_again_with_the_apis_error(
    shared: SandboxFacade, shared_browser: ConsoleClient, domain: str, destination: str, field: str
) -> None:
    answer = add_route(shared_browser, domain, destination)
    assert answer.status == 422 and "<h1>Add SMTP Route</h1>" in answer.text
    assert field_error(answer, field) == api_refusal(shared, domain, destination)
    assert 'aria-invalid="true"' in answer.text
    assert shared.store.pending is None and 'id="pending-banner"' not in answer.text


@pytest.mark.bad_input
def test_a_domain_routed_already_is_refused_on_its_field(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    tdc_sandbox.admin_client().call("POST", "/routes", {"domain": "partner.test", "destination": "USEDNS"})
    tdc_sandbox.admin_client().call("POST", "/commit", {"comment": ""})
    answer = add_route(browser, "PARTNER.test", SMARTHOST)
    assert answer.status == 422
    assert field_error(answer, "route-domain-error") == api_refusal(tdc_sandbox, "PARTNER.test", SMARTHOST)
    assert "exists already" in answer.text and tdc_sandbox.store.pending is None


def test_forms_loaded_before_someone_else_committed_change_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    old = browser.go("GET", ADD).hidden("version")
    api = tdc_sandbox.admin_client()
    api.call("POST", "/routes", {"domain": "partner.test", "destination": "USEDNS"})
    api.call("POST", "/commit", {"comment": "someone else"})
    answer = add_route(browser, "other.test", SMARTHOST, version=old)
    assert answer.status == 409 and 'id="form-error"' in answer.text and "nothing was changed" in answer.text
    assert 'value="other.test"' in answer.text and rows(answer)[0].startswith("1 | partner.test | USEDNS")
    answer = delete_route(browser, "partner.test", version=old)
    assert answer.status == 409 and 'id="stale"' in answer.text
    assert rows(answer)[0].startswith("1 | partner.test | USEDNS")  # the current state
    assert tdc_sandbox.store.pending is None


@pytest.mark.bad_input
def test_an_unknown_route_or_level_is_the_plain_404_page(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert delete_route(browser, "nosuch.test").status == 404
    assert browser.go("GET", f"{ROUTES}?mode=machine:esa9").status == 404
    assert tdc_sandbox.store.pending is None


@pytest.mark.bad_input
@pytest.mark.parametrize("path", [ADD, DELETE])
def test_a_post_without_the_csrf_token_is_403(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, path: str
) -> None:
    version = browser.go("GET", ADD).hidden("version")
    answer = browser.request("POST", path, {"level": "cluster", "domain": "ALL", "destination": SMARTHOST,
                                            "version": version})
    assert answer.status == 403 and "security token" in answer.text
    assert tdc_sandbox.store.pending is None


def warnings(answer: Answer) -> list[str]:
    """The catch-all warning's text (none: [])."""
    found = re.findall(r'<div class="pitfall" id="catch-all-warning" role="note">(.*?)</div>',
                       answer.text, flags=re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", each)).split()) for each in found]


def test_the_catch_all_pitfall_is_shown_until_a_usedns_route_fixes_it(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert warnings(browser.go("GET", ROUTES)) == []
    assert add_route(browser, "ALL", f"{SMARTHOST}, 127.0.0.2:25").status == 303
    page = browser.go("GET", ROUTES)
    (warning,) = warnings(page)
    intake = tdc_sandbox.sandbox.settings.intake_addresses[0]
    assert f"The catch-all route ALL (to {SMARTHOST}:0 and 1 more) takes the mail" in warning
    assert f"{INTAKE_DOMAIN} (intake address {intake}): Add Route {INTAKE_DOMAIN} → USEDNS" in warning
    assert "add a route for each of these domains with destination USEDNS" in warning
    assert "“Enabling the Threat Defense Connector on the Email Gateway”" in warning and "§4.6" in warning
    machine = browser.go("GET", f"{ROUTES}?mode=machine:esa1")
    assert len(warnings(machine)) == 1  # the machine inherits the catch-all

    fix = re.search(r'<a href="([^"]+)" id="fix-catch-all-1">', page.text)
    assert fix
    form = browser.go("GET", html.unescape(fix.group(1)))  # the Add Route form, filled in
    assert f'value="{INTAKE_DOMAIN}"' in form.text and 'value="USEDNS"' in form.text
    done = browser.go("POST", ADD, {"csrf_token": form.hidden("csrf_token"), "level": "cluster",
                                    "version": form.hidden("version"), "domain": INTAKE_DOMAIN,
                                    "destination": "USEDNS"})
    assert done.path == urljoin(ROUTES, f"{ROUTES}?mode=cluster") and warnings(done) == []
    assert api_routes(tdc_sandbox, "pending") == [f"ALL -> {SMARTHOST}:0, 127.0.0.2:25:0",
                                                  f"{INTAKE_DOMAIN} -> USEDNS"]


def test_a_custom_policy_address_in_another_domain_is_checked_too(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    api = tdc_sandbox.admin_client()
    api.call("POST", "/tdc/enable", {"address": tdc_sandbox.sandbox.settings.intake_addresses[0]})
    api.call("POST", "/policies", {"policy": "DEFAULT", "mode": "custom", "address": "t2@eu.intake.test"})
    api.call("POST", "/routes", {"domain": "ALL", "destination": SMARTHOST})
    api.call("POST", "/routes", {"domain": INTAKE_DOMAIN, "destination": "USEDNS"})
    (warning,) = warnings(browser.go("GET", ROUTES))
    assert "eu.intake.test (intake address t2@eu.intake.test): Add Route" in warning
    assert f"{INTAKE_DOMAIN} (intake address" not in warning


ALL_TO_SMARTHOST = parse_route("ALL", SMARTHOST)


@pytest.mark.parametrize(("routes", "caught"), [
    ((), []),
    ((ALL_TO_SMARTHOST,), [CaughtIntake("intake.td.test", ("a@intake.td.test", "b@Intake.TD.test"),
                                        f"{SMARTHOST}:0")]),
    ((parse_route("ALL", "/dev/null"),), [CaughtIntake("intake.td.test", ("a@intake.td.test",
                                                                          "b@Intake.TD.test"), "/dev/null")]),
    ((parse_route("ALL", "USEDNS"),), []),  # a catch-all to DNS takes nothing from DNS
    ((parse_route("intake.td.test", "USEDNS"), ALL_TO_SMARTHOST), []),
    ((parse_route("INTAKE.td.test", "mx.td.test:25"), ALL_TO_SMARTHOST), []),  # a route of its own
    ((parse_route(".td.test", "USEDNS"), ALL_TO_SMARTHOST), []),  # the sub-domains' route
    ((parse_route("other.test", "USEDNS"), ALL_TO_SMARTHOST),
     [CaughtIntake("intake.td.test", ("a@intake.td.test", "b@Intake.TD.test"), f"{SMARTHOST}:0")]),
])
def test_the_catch_all_catches_an_intake_domain_without_a_route_of_its_own(
    routes: tuple[SmtpRoute, ...], caught: list[CaughtIntake]
) -> None:
    addresses = ("a@intake.td.test", "b@Intake.TD.test")
    assert caught_by_catch_all(addresses, routes) == caught
