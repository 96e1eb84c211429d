"""The console as a browser test sees it: its pages' addresses and the login form filled by its labels."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from playwright.sync_api import Page

from simulator.testing.harness import SandboxFacade


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
