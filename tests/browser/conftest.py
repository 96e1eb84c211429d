"""Browser tests (issue 12 point 4): Playwright (the PyPI package) drives the distribution's Chromium.

Design rule: Playwright cannot download its own browser on these machines, so the tests launch the one
the Makefile provides (`make chromium`): `$TDC_CHROMIUM`, else `chromium-headless-shell`, `chromium` or
`chromium-browser` on PATH (chromium.py says why the headless shell comes first).
A missing browser fails every browser test with one line saying what to do; it never skips them.
Playwright and Chromium live for this folder's tests only (package scope, hence its `__init__.py`):
while it runs, the sync API marks the worker's thread as running an event loop, which would break a
later test's `asyncio.run`; pytest stops it before the worker's next test from another folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)

from simulator.console.render import CONNECTOR_PATH
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade

from .chromium import CHROMIUM_HINT, chromium_args, chromium_executable
from .console_site import ConsoleSite

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
EVIDENCE = pytest.StashKey["PageEvidence"]()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """The distribution's Chromium, headless, shared by this folder's tests on one worker."""
    executable = chromium_executable()
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                                 args=chromium_args())
        except Error as error:
            pytest.fail(f"{executable} did not start ({error.message.splitlines()[0]}); {CHROMIUM_HINT}",
                        pytrace=False)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageEvidence:
    """What a failing browser test's report shows: a screenshot and the page's console."""

    page: Page
    folder: Path
    console: list[str] = field(default_factory=list)

    def record(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def record_failure(self, response: Response) -> None:
        """A failed load names its address (the console's own message does not)."""
        if response.status >= 400:
            self.console.append(f"response: {response.status} {response.request.method} {response.url}")

    def report(self) -> str:
        shot = self.folder / "failure.png"
        try:
            self.page.screenshot(path=shot, full_page=True)
            where = f"screenshot: {shot} (page {self.page.url})"
        except Error as error:
            where = f"no screenshot: {error.message.splitlines()[0]}"
        return "\n".join([where, "--- browser console ---", *(self.console or ["(nothing)"])])


@pytest.fixture
def page(chromium: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A new browser context (no cookies) and page at 1280x800; its console is kept for the report."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    evidence = PageEvidence(opened, tmp_path)
    opened.on("console", evidence.record)
    opened.on("pageerror", lambda error: evidence.console.append(f"pageerror: {error}"))
    opened.on("response", evidence.record_failure)
    request.node.stash[EVIDENCE] = evidence
    try:
        yield opened
    finally:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Attach a screenshot (its path) and the browser console to a failing browser test's report."""
    report = yield
    evidence = item.stash.get(EVIDENCE, None)
    if report.when in ("setup", "call") and report.failed and evidence is not None:
        report.sections.append(("browser", evidence.report()))
    return report


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector starts disabled, as before the seed's enable procedure (a trainee's first task)."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False)


@pytest.fixture
def console(page: Page, tdc_sandbox: SandboxFacade) -> ConsoleSite:
    """The console of a running sandbox (connector disabled), nobody logged in yet."""
    return ConsoleSite(page, tdc_sandbox)


@pytest.fixture
def logged_in(console: ConsoleSite) -> ConsoleSite:
    """The same, logged in as admin by the login form's own request (`log_in_by_request`: the login
    page itself is test_console_login's subject); the page is the connector's."""
    console.open(console.log_in_by_request())
    expect(console.page).to_have_url(console.url(CONNECTOR_PATH))
    return console
