"""The training console's guard (issue 12, item 3) over real HTTP against a running sandbox: the
login, the session cookie, CSRF on every POST, the security headers, no CORS, plain error pages and
no dead link."""

from __future__ import annotations

import pytest

from fixtures.console_client import ConsoleClient
from simulator.console.render import CONNECTOR_PATH as CONNECTOR
from simulator.console.render import EDIT_CONNECTOR_PATH as EDIT
from simulator.testing.harness import SandboxFacade

SECOND_TENANT = "second-tenant@intake.threatdefense.test"
PAGES = ("/login", CONNECTOR, EDIT, "/commit", f"{CONNECTOR}?mode=machine:esa1")



@pytest.mark.parametrize("secret", ["password", "token"])
def test_admin_logs_in_with_the_password_or_the_api_token(tdc_sandbox: SandboxFacade, secret: str) -> None:
    client = ConsoleClient(tdc_sandbox.console_url)
    token = tdc_sandbox.sandbox.describe()["admin"]["token"]
    page = client.log_in(tdc_sandbox.console_password if secret == "password" else token)
    assert page.status == 200 and page.path == CONNECTOR
    assert "<h1>Threat Defense Connector</h1>" in page.text and 'id="logout"' in page.text


@pytest.mark.bad_input
@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("root", "PASSWORD"), ("admin", ""),
                                                ("admin", "PASSWORD "), ("admin", "x" * 300)])
def test_a_wrong_login_is_the_login_page_again_with_one_message(
    shared: SandboxFacade, user: str, password: str
) -> None:
    client = ConsoleClient(shared.console_url)
    page = client.log_in(password.replace("PASSWORD", shared.console_password), user)
    assert page.status == 200 and "<h1>Log In</h1>" in page.text
    assert page.text.count('role="alert"') == 1 and "Login failed" in page.text
    assert client.request("GET", CONNECTOR).status == 303  # still not logged in


def test_the_session_cookie_is_httponly_and_samesite_strict(tdc_sandbox: SandboxFacade) -> None:
    client = ConsoleClient(tdc_sandbox.console_url)
    client.log_in(tdc_sandbox.console_password)
    assert len(client.set_cookie_headers) == 2  # the visitor's session, then the logged-in one
    for header in client.set_cookie_headers:
        flags = {flag.strip().lower() for flag in header.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= flags, header
    first, second = (header.split(";")[0] for header in client.set_cookie_headers)
    assert first != second  # a login never keeps the session id the browser came with


def test_every_page_needs_a_login_and_logging_out_ends_the_session(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    stranger = ConsoleClient(tdc_sandbox.console_url)
    for path in PAGES[1:]:
        answer = stranger.request("GET", path)
        assert (answer.status, answer.headers["Location"].split("?")[0]) == (303, "/login"), path
    page = browser.go("GET", CONNECTOR)
    assert browser.go("POST", "/logout", {"csrf_token": page.hidden("csrf_token")}).path.startswith("/login")
    assert browser.request("GET", CONNECTOR).status == 303


def test_after_login_the_console_goes_back_to_a_local_page_only(tdc_sandbox: SandboxFacade) -> None:
    targets = (("/commit", "/commit"), ("//evil.test/x", CONNECTOR), ("http://evil.test/", CONNECTOR))
    for wanted, landed in targets:
        client = ConsoleClient(tdc_sandbox.console_url)
        token = client.go("GET", "/login").hidden("csrf_token")
        answer = client.request("POST", "/login", {"csrf_token": token, "username": "admin",
                                                   "password": tdc_sandbox.console_password, "next": wanted})
        assert answer.headers["Location"] in (wanted, "/") and client.go("GET", "/").path == CONNECTOR
        assert client.go("GET", answer.headers["Location"]).path == landed


@pytest.mark.bad_input
@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, token: str | None
) -> None:
    version = browser.go("GET", EDIT).hidden("version")
    form = {"mode": "cluster", "enabled": "on", "intake_address": SECOND_TENANT, "version": version}
    answer = browser.request("POST", EDIT, form if token is None else {**form, "csrf_token": token})
    assert answer.status == 403 and "security token" in answer.text
    assert tdc_sandbox.store.pending is None
    browser.submit_settings(address=SECOND_TENANT)  # pending now: forged commits and logouts leave it
    for path in ("/commit", "/commit/abandon", "/logout"):
        refused = browser.request("POST", path, {"comment": "forged", "version": version,
                                                 **({} if token is None else {"csrf_token": token})})
        assert refused.status == 403, path
    assert tdc_sandbox.store.pending is not None and tdc_sandbox.store.commits() == ()
    assert browser.go("GET", CONNECTOR).status == 200  # still logged in


def test_a_login_post_without_the_login_pages_token_is_refused(tdc_sandbox: SandboxFacade) -> None:
    client = ConsoleClient(tdc_sandbox.console_url)
    answer = client.request("POST", "/login", {"username": "admin", "password": tdc_sandbox.console_password})
    assert answer.status == 403 and client.request("GET", CONNECTOR).status == 303


@pytest.mark.bad_input
@pytest.mark.parametrize(("path", "status", "reason"), [
    ("/no/such/page", 404, "Not Found: GET /no/such/page"),
    (f"{CONNECTOR}?mode=machine:esa9", 404, "unknown machine"),
    (f"{EDIT}?mode=group:Nope", 404, "unknown group"),
    (f"{CONNECTOR}?mode=planet", 422, "is not cluster, group:NAME or machine:NAME"),
    ("/static/../sandbox.json", 404, "Not Found"),
])
def test_an_error_is_a_plain_page_with_one_reason(
    shared_browser: ConsoleClient, path: str, status: int, reason: str
) -> None:
    answer = shared_browser.request("GET", path)
    assert answer.status == status and reason in answer.text
    assert "Traceback" not in answer.text and answer.text.count('id="reason"') == 1


def test_a_wrong_method_and_a_huge_body_are_plain_pages_too(browser: ConsoleClient) -> None:
    assert browser.request("DELETE", "/commit").status == 405
    token = browser.go("GET", "/commit").hidden("csrf_token")
    answer = browser.request("POST", "/commit", {"csrf_token": token, "comment": "x" * 70_000})
    assert answer.status == 413 and "Traceback" not in answer.text


@pytest.mark.parametrize("path", [*PAGES, "/no/such/page", "/static/console.css"])
def test_every_answer_carries_the_security_headers_and_no_cors(
    shared_browser: ConsoleClient, path: str
) -> None:
    answer = shared_browser.request("GET", path, headers={"Origin": "http://evil.test"})
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert not [name for name in answer.headers if name.lower().startswith("access-control-")]
    if not path.startswith("/static/"):
        assert answer.headers["Cache-Control"] == "no-store"
    preflight = shared_browser.request("OPTIONS", path, headers={"Origin": "http://evil.test",
                                                                 "Access-Control-Request-Method": "POST"})
    assert not [name for name in preflight.headers if name.lower().startswith("access-control-")]


def test_no_dead_links_and_nothing_from_elsewhere(tdc_sandbox: SandboxFacade, browser: ConsoleClient) -> None:
    browser.submit_settings(address=SECOND_TENANT)  # the pending banner and the diff show their links too
    seen: set[str] = set()
    waiting = ["/", *PAGES[1:]]
    while waiting:
        path = waiting.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = browser.go("GET", path)
        assert answer.status == 200, f"{path}: {answer.status}"
        if not path.startswith("/static/"):  # something is pending: every page says so, with its link
            assert '<div class="banner" id="pending-banner" role="status">' in answer.text, path
        for link in answer.links():
            if link.startswith("#"):  # within the page: the target is on it
                assert f'id="{link[1:]}"' in answer.text, f"{path}: no {link}"
                continue
            assert link.startswith("/") and not link.startswith("//"), f"{path} links outside: {link}"
            waiting.append(link.split("#")[0])
    assert {"/static/console.css", "/commit", CONNECTOR} <= seen
