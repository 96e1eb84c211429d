"""The console as a browser test sees it: its pages' addresses, the login form filled by its labels,
and the same login sent by the browser context's request API for tests whose subject comes after it.

Design rule: `log_in` is a person at the login form (the login tests, the keyboard test, `make
screenshots`); `log_in_by_request` is the browser context posting that form's own fields (its CSRF token,
`next`), so the session cookie is the one the console sets, in the context's jar, without drawing and
filling the login page: a page load, two fills and a click less for each test that only starts logged in.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from playwright.sync_api import Page

from simulator.console.guard import LOGIN_PATH
from simulator.testing.harness import SandboxFacade


def hidden_field(form: str, name: str) -> str:
    """The value of the (first) hidden field called `name` in the HTML `form`."""
    found = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)"', form)
    assert found, f"no hidden field {name!r} in the login page"
    return html.unescape(found.group(1))


@dataclass(frozen=True)
class ConsoleSite:
    """The console of one running sandbox, as a browser page sees it."""

    page: Page
    sandbox: SandboxFacade

    def url(self, path: str) -> str:
        return urljoin(self.sandbox.console_url, path)

    def open(self, path: str) -> Page:
        """Go to `path` (and whatever it redirects to); the page, once loaded."""
        self.page.goto(self.url(path))
        return self.page

    def log_in(self, password: str | None = None, user: str = "admin") -> Page:
        """Fill the login form as a person would, by its labels, and press Log In."""
        page = self.page if "/login" in self.page.url else self.open("/login")
        page.get_by_label("User name").fill(user)
        page.get_by_label("Password").fill(self.sandbox.console_password if password is None else password)
        page.get_by_role("button", name="Log In").click()
        return page

    def log_in_by_request(self) -> str:
        """Log in as admin by the login form's own GET and POST, sent by the page's browser context (the
        cookie the console sets lands in its jar); the path the console sends the login on to."""
        request = self.page.request
        form = request.get(self.url(LOGIN_PATH)).text()
        fields = {name: hidden_field(form, name) for name in ("csrf_token", "next")}
        answer = request.post(self.url(LOGIN_PATH), max_redirects=0, form={
            **fields, "username": "admin", "password": self.sandbox.console_password})
        assert answer.status == 303, f"the login answered {answer.status}, not 303: {answer.text()}"
        return answer.headers["location"]
