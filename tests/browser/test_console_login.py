"""Logging in to the console in Chromium: the login page, a good login (password or API token), a wrong
one, the page asked for before login, logging out (issue 12 points 3 and 4)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from simulator.console.login import WRONG_LOGIN
from simulator.console.render import COMMIT_PATH, CONNECTOR_PATH
from simulator.console.sessions import COOKIE

from .console_site import ConsoleSite


@pytest.fixture
def page(own_page: Page) -> Page:
    """Login state is this module's subject: each test has a browser context of its own, as a person
    opening the console for the first time has (the other modules share one, its cookies cleared)."""
    return own_page


def test_the_login_page_renders_with_its_labelled_fields(console: ConsoleSite) -> None:
    page = console.open("/")
    expect(page).to_have_url(console.url("/login?next=/"))
    expect(page).to_have_title("Log In | tdc-simulator console")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log In")
    expect(page.get_by_label("User name")).to_have_value("admin")
    expect(page.get_by_label("Password")).to_be_focused()
    expect(page.get_by_role("navigation", name="Main menu")).to_have_count(0)  # no menus before login


@pytest.mark.parametrize("secret", ["password", "token"])
def test_admin_logs_in_with_the_printed_password_or_the_api_token(console: ConsoleSite, secret: str) -> None:
    token = console.sandbox.sandbox.describe()["admin"]["token"]
    page = console.log_in(console.sandbox.console_password if secret == "password" else token)
    expect(page).to_have_url(console.url(CONNECTOR_PATH))
    expect(page.get_by_role("heading", level=1)).to_have_text("Threat Defense Connector")
    expect(page.get_by_role("navigation", name="Main menu")).to_contain_text("Security Services")
    (cookie,) = [each for each in page.context.cookies() if each["name"] == COOKIE]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")


@pytest.mark.bad_input
@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("root", "PASSWORD")])
def test_a_wrong_login_is_the_login_page_again_with_one_message(
    console: ConsoleSite, user: str, password: str
) -> None:
    page = console.log_in(password.replace("PASSWORD", console.sandbox.console_password), user)
    expect(page.get_by_role("alert")).to_have_text(WRONG_LOGIN)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log In")
    expect(page.get_by_label("Password")).to_have_value("")  # the password is never sent back
    console.open(CONNECTOR_PATH)
    expect(page).to_have_url(console.url(f"/login?next={CONNECTOR_PATH}"))  # still not logged in


def test_the_page_asked_for_before_login_opens_after_it(console: ConsoleSite) -> None:
    page = console.open(COMMIT_PATH)
    expect(page).to_have_url(console.url(f"/login?next={COMMIT_PATH}"))
    console.log_in()
    expect(page).to_have_url(console.url(COMMIT_PATH))
    expect(page.get_by_role("heading", level=1)).to_have_text("Commit Changes")


def test_log_out_ends_the_session(logged_in: ConsoleSite) -> None:
    page = logged_in.page
    page.get_by_role("button", name="Log Out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log In")
    logged_in.open(CONNECTOR_PATH)
    expect(page).to_have_url(logged_in.url(f"/login?next={CONNECTOR_PATH}"))
