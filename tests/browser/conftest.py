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
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)

from simulator.console.render import CONNECTOR_PATH
from simulator.console.sessions import COOKIE
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

    def watch(self) -> PageEvidence:
        """Keep what the page's console says, its uncaught errors and its failed loads, from now on."""
        self.page.on("console", self.record)
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        self.page.on("response", self.record_failure)
        return self

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


def new_context(chromium: Browser) -> BrowserContext:
    """A browser context with no cookies, its pages at 1280x800."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    return context


class SharedTab:
    """One browser context and page that a worker's browser tests take turns on, each from a blank page
    and an empty cookie jar. A new context per test cost Chromium more CPU for the same work (measured:
    a new context, page and one page load 0.17 s; that load on the shared page, reset, 0.11 s), over
    some forty tests.

    Design rule: a turn starts with no cookies, no granted permissions and `about:blank` (which ends the
    previous page's scripts and live connections), and a fresh console record; a page that crashed or
    closed is replaced. Tests whose subject is the login state itself take `own_page` instead."""

    def __init__(self, chromium: Browser) -> None:
        self._chromium = chromium
        self._evidence: PageEvidence | None = None

    def turn(self, folder: Path) -> PageEvidence:
        """The page, reset, for one test; its evidence goes to `folder`."""
        evidence = self._evidence
        if evidence is None or evidence.page.is_closed():
            evidence = self._evidence = PageEvidence(new_context(self._chromium).new_page(), folder).watch()
        else:
            evidence.page.context.clear_cookies()
            evidence.page.context.clear_permissions()
        if evidence.page.url != "about:blank":  # the previous test's `leave` took it there already
            evidence.page.goto("about:blank")
        evidence.folder, evidence.console = folder, []
        return evidence

    def leave(self) -> None:
        """Leave the test's page (its scripts, its live connections); a page that cannot is replaced."""
        if self._evidence is None:
            return
        try:
            self._evidence.page.goto("about:blank")
        except Error:
            self._evidence.page.context.close()
            self._evidence = None


@pytest.fixture(scope="package")
def shared_tab(chromium: Browser) -> SharedTab:
    """The page this worker's browser tests take turns on (closed with the browser)."""
    return SharedTab(chromium)


@pytest.fixture
def page(shared_tab: SharedTab, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A blank page at 1280x800 with no cookies (the worker's shared tab, reset); its console is kept
    for the report."""
    evidence = shared_tab.turn(tmp_path)
    request.node.stash[EVIDENCE] = evidence
    try:
        yield evidence.page
    finally:
        shared_tab.leave()


@pytest.fixture
def own_page(chromium: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A page in a browser context of the test's own (for tests whose subject is the login state)."""
    context = new_context(chromium)
    evidence = PageEvidence(context.new_page(), tmp_path).watch()
    request.node.stash[EVIDENCE] = evidence
    try:
        yield evidence.page
    finally:
        context.close()


@pytest.fixture
def page_console(page: Page, request: pytest.FixtureRequest) -> list[str]:
    """What the page's console has said in this test, as kept for a failure report: `type: text` for a
    console message (a script or style the CSP refused is an `error:`), `pageerror: ...` for an
    uncaught script error."""
    evidence: PageEvidence = request.node.stash[EVIDENCE]
    return evidence.console


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
def signed_in(console: ConsoleSite) -> ConsoleSite:
    """The same, logged in as admin by the login form's own request (`log_in_by_request`: the login
    page itself is test_console_login's subject): the session cookie is in the page's jar, no page is
    loaded yet. For a test whose first step opens a page of its own (a page load less); that page
    proves the session, as a browser without one is sent to the login page instead."""
    console.log_in_by_request()
    assert COOKIE in {cookie["name"] for cookie in console.page.context.cookies()}
    return console


@pytest.fixture
def logged_in(signed_in: ConsoleSite) -> ConsoleSite:
    """The same, on the page the login sends the browser to (the console's root): the connector's."""
    signed_in.open("/")
    expect(signed_in.page).to_have_url(signed_in.url(CONNECTOR_PATH))
    return signed_in
