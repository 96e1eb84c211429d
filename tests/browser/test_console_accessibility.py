"""Accessibility basics in Chromium (issue 12 point 5): the console is used with the keyboard alone, every
form field has a label, and every page reads at 1280x800 with no horizontal scrolling."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from simulator.console.render import COMMIT_PATH, CONNECTOR_PATH, EDIT_CONNECTOR_PATH

from .console_site import ConsoleSite

SECOND_TENANT = "second-tenant@intake.threatdefense.test"
#: Each form field (not hidden) and whether a label with text, or an ARIA name, names it.
UNLABELLED_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(field => field.type !== 'hidden')
  .map(field => ({field: field.id || field.name,
                  labelled: [...(field.labels || [])].some(label => label.textContent.trim() !== '')
                            || !!field.getAttribute('aria-label')
                            || !!field.getAttribute('aria-labelledby')}))"""
#: What a reader at 1280x800 needs: no horizontal scroll, and no text smaller than 12px.
LAYOUT = """() => {
  const page = document.documentElement;
  const texts = [...document.body.querySelectorAll('*')].filter(element =>
      element.offsetParent !== null && [...element.childNodes].some(node =>
          node.nodeType === Node.TEXT_NODE && node.textContent.trim() !== ''));
  return {overflow: page.scrollWidth - page.clientWidth,
          smallest: Math.min(...texts.map(element => parseFloat(getComputedStyle(element).fontSize)))};
}"""
FOCUSED = """() => { const element = document.activeElement;
  if (element === document.body) return {name: 'BODY', outline: ''};
  return {name: element.id || element.getAttribute('name') || element.textContent.trim(),
          outline: getComputedStyle(element).outlineStyle}; }"""
#: Focus the page itself, so that the next Tab goes to its first control.
TO_THE_TOP = """() => { const body = document.body;
  body.tabIndex = -1; body.focus(); body.removeAttribute('tabindex'); }"""


def tab_through(page: Page, most: int = 40) -> list[str]:
    """Press Tab from the top of the page until focus leaves it: each control reached, in order. Every
    one of them must show where the focus is."""
    page.evaluate(TO_THE_TOP)
    reached: list[str] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["name"] in ("BODY", *reached[:1]):
            break
        assert focused["outline"] != "none", f"{focused['name']} shows no focus outline"
        reached.append(focused["name"])
    return reached


def in_order(reached: list[str], wanted: list[str]) -> bool:
    positions = [reached.index(name) if name in reached else -1 for name in wanted]
    return -1 not in positions and positions == sorted(positions)


def test_the_keyboard_alone_logs_in_enables_submits_and_commits(console: ConsoleSite) -> None:
    page = console.open("/login")
    reached = tab_through(page)
    assert reached[:1] == ["Skip to content"]
    assert in_order(reached, ["username", "password", "login"])
    page.get_by_label("Password").focus()
    page.keyboard.type(console.sandbox.console_password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(console.url(CONNECTOR_PATH))
    assert in_order(tab_through(page), ["Skip to content", "Security Services", "commit-changes", "logout",
                                        "mode", "change-mode", "edit-global-settings"])

    console.open(EDIT_CONNECTOR_PATH)
    assert in_order(tab_through(page), ["tdc-enabled", "intake-address", "cancel", "submit"])
    page.get_by_label("Enable Threat Defense Connector").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(SECOND_TENANT)
    page.keyboard.press("Enter")
    expect(page.locator("#pending-banner")).to_be_visible()

    console.open(COMMIT_PATH)
    assert in_order(tab_through(page), ["comment", "commit", "abandon"])
    page.get_by_label("Comment").focus()
    page.keyboard.type("by keyboard")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("Changes committed: ")
    assert console.sandbox.config.connector.intake_address == SECOND_TENANT


def main_pages(console: ConsoleSite) -> list[str]:
    """Log in, leave a change pending (so Commit Changes shows its form) and name every main page."""
    console.log_in()
    console.open(EDIT_CONNECTOR_PATH)
    console.page.get_by_label("Enable Threat Defense Connector").check()
    console.page.get_by_role("button", name="Submit").click()
    expect(console.page.locator("#pending-banner")).to_be_visible()
    return [CONNECTOR_PATH, f"{CONNECTOR_PATH}?mode=machine:esa1", EDIT_CONNECTOR_PATH,
            f"{EDIT_CONNECTOR_PATH}?mode=machine:esa1", COMMIT_PATH, "/no-such-page"]


def test_every_form_field_has_a_label_and_every_page_reads_at_1280_by_800(console: ConsoleSite) -> None:
    """Both checks on each page as it is loaded once: its fields' labels and its layout."""
    fields = console.open("/login").evaluate(UNLABELLED_FIELDS)
    layouts = {"/login": console.page.evaluate(LAYOUT)}
    for path in main_pages(console):
        fields += console.open(path).evaluate(UNLABELLED_FIELDS)
        layouts[path] = console.page.evaluate(LAYOUT)
        expect(console.page.get_by_role("heading", level=1)).to_be_in_viewport()
    assert {"username", "password", "mode", "tdc-enabled", "intake-address", "comment"} <= {
        field["field"] for field in fields}
    assert [field["field"] for field in fields if not field["labelled"]] == []
    assert {path: layout for path, layout in layouts.items()
            if layout["overflow"] > 0 or layout["smallest"] < 12} == {}


def test_the_checks_find_an_unlabelled_field_a_wide_page_and_tiny_text(page: Page) -> None:
    page.set_content('<p style="width: 1400px">wide</p><small style="font-size: 9px">tiny</small>'
                     '<label for="a">A</label><input id="a"><label for="b"> </label><input id="b">'
                     '<input name="c" aria-label="C"><textarea name="d"></textarea>'
                     '<input type="hidden" name="e">')
    assert [(field["field"], field["labelled"]) for field in page.evaluate(UNLABELLED_FIELDS)] == [
        ("a", True), ("b", False), ("c", True), ("d", False)]
    assert page.evaluate(LAYOUT) == {"overflow": 1400 + 8 - 1280, "smallest": 9}
