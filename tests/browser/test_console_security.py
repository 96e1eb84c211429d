"""CSRF in Chromium: a console form whose token was taken out, or a POST made outside the forms with the
session's cookie but no token, is refused with 403 and changes nothing (issue 12 point 3)."""

from __future__ import annotations

import html

import pytest
from playwright.sync_api import expect

from simulator.console.guard import BAD_TOKEN
from simulator.console.render import EDIT_CONNECTOR_PATH

from .console_site import ConsoleSite

SECOND_TENANT = "second-tenant@intake.threatdefense.test"


@pytest.mark.bad_input
def test_a_form_submitted_without_its_csrf_token_is_refused_403(signed_in: ConsoleSite) -> None:
    page = signed_in.open(EDIT_CONNECTOR_PATH)
    tokens = page.locator("input[type=hidden][name=csrf_token]")
    tokens.evaluate_all("fields => fields.forEach(field => field.remove())")
    page.get_by_label("Enable Threat Defense Connector").check()
    page.get_by_label("Message Intake Address").fill(SECOND_TENANT)
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.get_by_role("button", name="Submit").click()
    assert posted.value.status == 403
    expect(page.locator("#reason")).to_have_text(BAD_TOKEN)
    assert signed_in.sandbox.store.pending is None


@pytest.mark.bad_input
@pytest.mark.parametrize("token", [None, "forged"])
def test_a_post_outside_the_forms_with_the_cookie_but_not_the_token_is_refused_403(
    signed_in: ConsoleSite, token: str | None
) -> None:
    form: dict[str, str | float | bool] = {
        "mode": "cluster", "enabled": "on", "intake_address": SECOND_TENANT, "version": ""}
    answer = signed_in.page.request.post(signed_in.url(EDIT_CONNECTOR_PATH), max_redirects=0,
                                         form=form if token is None else {**form, "csrf_token": token})
    assert answer.status == 403 and BAD_TOKEN in html.unescape(answer.text())
    assert signed_in.sandbox.store.pending is None
    signed_in.open("/commit")  # the session is still good
    expect(signed_in.page.get_by_role("heading", level=1)).to_have_text("Commit Changes")
