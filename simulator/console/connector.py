"""Security Services > Threat Defense Connector: the settings per level and machine, the mode
selector, and Edit Global Settings (enable, intake address, Submit).

Design rule: a Submit calls the admin actions the API calls (`ConfigAdmin.enable` / `disable`), so
the same input gets the same refusal, word for word, shown on its field; nothing is then pending.
A form loaded before the configuration changed (a commit, an abandon, someone else's Submit) is
stale: nothing is submitted, and the page shows the current state with a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulator.admin.bounds import LONGEST
from simulator.console.guard import form_field, see_other_with_notice
from simulator.console.levels import (
    enabled_text,
    level_settings,
    mode_label,
    modes,
    rule_explanation,
    stopped_by_rule,
)
from simulator.console.render import (
    CONNECTOR_PATH,
    EDIT_CONNECTOR_PATH,
    config_version,
    console,
    page,
)
from simulator.core.config.cluster import Level
from simulator.core.errors import BadRequest, ConfigError

STALE = ("The configuration changed since this page was loaded (someone committed, abandoned or "
         "submitted changes): nothing was submitted. This is the current state.")
ADDRESS_FIELD = "intake_address"


def chosen_level(request: web.Request, mode: str) -> Level:
    """The level the mode names (a 404 page for an unknown group or machine)."""
    return console(request).config.level(mode or "cluster")


def machine_rows(request: web.Request) -> list[dict[str, Any]]:
    """Each machine's effective settings after commit, with what runs now when that differs."""
    admin = console(request).config
    pending, running = admin.tdc("pending")["machines"], admin.tdc("committed")["machines"]
    working = admin.config()
    rows = []
    for row, now in zip(pending, running, strict=True):
        rows.append({**row, "enabled_text": enabled_text(row["enabled"]),
                     "running": "" if now == row else
                     f"{enabled_text(now['enabled'])}, {now['intake_address'] or '(none)'}",
                     "stopped_by": stopped_by_rule(working, row["machine"])})
    return rows


async def show(request: web.Request) -> web.Response:
    level = chosen_level(request, request.query.get("mode", "cluster"))
    working = console(request).config.config()
    return page(request, "connector.html", title="Threat Defense Connector", mode=str(level),
                mode_label=mode_label(level), modes=modes(working),
                settings=level_settings(working, level), machines=machine_rows(request),
                rule=rule_explanation(working), edit_path=EDIT_CONNECTOR_PATH)


def edit_form(request: web.Request, level: Level, status: int = 200, **shown: Any) -> web.Response:
    """The Edit Global Settings form, with the level's current values unless others are given."""
    working = console(request).config.config()
    values = {"enabled": bool(working.inherited(level, "tdc.enabled").value),
              "address": str(working.inherited(level, "tdc.intake_address").value or ""),
              "address_error": "", "form_error": "", **shown}
    rule_applies = level.kind == "machine" and working.disable_rule == "propagate"
    return page(request, "connector_edit.html", status=status, title="Edit Global Settings",
                mode=str(level), mode_label=mode_label(level), back=back_to(level),
                rule_applies=rule_applies, **values)


def back_to(level: Level) -> str:
    return f"{CONNECTOR_PATH}?{urlencode({'mode': str(level)})}"


async def edit(request: web.Request) -> web.Response:
    return edit_form(request, chosen_level(request, request.query.get("mode", "cluster")))


async def submit(request: web.Request) -> web.Response:
    level = chosen_level(request, await form_field(request, "mode"))
    admin = console(request).config
    if await form_field(request, "version") != config_version(admin):
        return edit_form(request, level, 409, form_error=STALE)
    enabled = await form_field(request, "enabled") == "on"
    shown: dict[str, Any] = {"enabled": enabled}
    try:
        address = await form_field(request, ADDRESS_FIELD, LONGEST["address"], "address")
        shown["address"] = address
        message = admin.enable(address, str(level)) if enabled else admin.disable(str(level))
    except (ConfigError, BadRequest) as error:
        on_address = isinstance(error, BadRequest) or error.key.startswith("intake address")
        shown["address_error" if on_address else "form_error"] = str(error)
        return edit_form(request, level, 422, **shown)
    return see_other_with_notice(request, back_to(level), message)


ROUTES = (
    ("GET", CONNECTOR_PATH, show),
    ("GET", EDIT_CONNECTOR_PATH, edit),
    ("POST", EDIT_CONNECTOR_PATH, submit),
)
