"""Mail Policies > Incoming Mail Policies: the policies table per level with its Threat Defense
column (No Scan, Default, Custom with its intake address), and the edit form of that column.

Design rule: a Submit calls the admin action the API's POST /policies calls (`ConfigAdmin.set_policy`,
the form's fields named as that body's: policy, mode, address, level), so the same input gets the
same refusal, word for word, shown on its field; nothing is then pending. A form loaded before the
configuration changed is stale: nothing is submitted, and the form shows the current state.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulator.admin.bounds import LONGEST
from simulator.console.guard import form_field, see_other_with_notice
from simulator.console.levels import level_settings, mode_label, modes, source
from simulator.console.render import (
    CONNECTOR_PATH,
    POLICIES_PATH,
    config_version,
    console,
    page,
)
from simulator.core.config.cluster import CUSTOM_NEEDS_CONNECTOR, ClusterConfig, Level
from simulator.core.config.values import MailPolicy
from simulator.core.errors import BadRequest, ConfigError, NotFound

EDIT_POLICY_PATH = f"{POLICIES_PATH}/threat-defense"
STALE = ("The configuration changed since this page was loaded (someone committed, abandoned or "
         "submitted changes): nothing was submitted. This is the current state.")
#: The Threat Defense column's choices, in the vendor's words, in the order the form offers them.
TD_CHOICES = (("default", "Default Message Intake Address"), ("custom", "Custom Message Intake Address"),
              ("no-scan", "No Scan"))


def level_named(request: web.Request, text: str) -> Level:
    """The level `text` names (`cluster` when empty; the 404 page for an unknown group or machine)."""
    return console(request).config.level(text or "cluster")


def slug(name: str) -> str:
    """`name` as a piece of an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)


def td_text(policy: MailPolicy, default_address: str) -> str:
    """The Threat Defense column of one policy, in words."""
    if policy.tdc == "custom":
        return f"Custom: {policy.tdc_intake}"
    if policy.tdc == "default":
        return f"Default ({default_address or 'no intake address set'})"
    return "No Scan"


def policies_at(config: ClusterConfig, level: Level) -> tuple[MailPolicy, ...]:
    policies: tuple[MailPolicy, ...] = config.inherited(level, "incoming_policies").value
    return policies


def policy_rows(request: web.Request, level: Level) -> list[dict[str, Any]]:
    """The level's policies after commit, each with what runs now when that differs."""
    admin = console(request).config
    working, running = admin.config(), admin.config("committed")
    address = str(working.inherited(level, "tdc.intake_address").value or "")
    now_address = str(running.inherited(level, "tdc.intake_address").value or "")
    now = {policy.name: td_text(policy, now_address) for policy in policies_at(running, level)}
    rows = []
    for policy in policies_at(working, level):
        shown = td_text(policy, address)
        rows.append({"name": policy.name, "slug": slug(policy.name), "threat_defense": shown,
                     "recipients": ", ".join(policy.recipients) or "All recipients (the rest)",
                     "anti_spam": "On" if policy.anti_spam else "Off",
                     "anti_virus": "On" if policy.anti_virus else "Off",
                     "running": "" if now.get(policy.name, shown) == shown else now.get(policy.name, ""),
                     "edit": f"{EDIT_POLICY_PATH}?{urlencode({'mode': str(level), 'policy': policy.name})}"})
    return rows


def connector_off(config: ClusterConfig, level: Level) -> list[str]:
    """The machines `level` reaches whose connector is disabled (no copies; no Custom choice)."""
    return [machine for machine in config.topology.covered(level)
            if not config.resolve(machine, "tdc.enabled").value]


async def show(request: web.Request) -> web.Response:
    level = level_named(request, request.query.get("mode", ""))
    working = console(request).config.config()
    found = working.inherited(level, "incoming_policies")
    return page(request, "policies.html", title="Incoming Mail Policies", mode=str(level),
                mode_label=mode_label(level), modes=modes(working), policies=policy_rows(request, level),
                table_source=source(found, level), connector=level_settings(working, level),
                connector_off=connector_off(working, level), needs_connector=CUSTOM_NEEDS_CONNECTOR,
                policies_path=POLICIES_PATH, connector_path=CONNECTOR_PATH)


def back_to(level: Level) -> str:
    return f"{POLICIES_PATH}?{urlencode({'mode': str(level)})}"


def policy_named(config: ClusterConfig, level: Level, name: str) -> MailPolicy:
    """The policy `name` as `level` sees it (NotFound: the 404 page)."""
    found = next((policy for policy in policies_at(config, level) if policy.name == name), None)
    if found is None:
        known = ", ".join(policy.name for policy in policies_at(config, level))
        raise NotFound(f"policy: unknown incoming mail policy {name!r} at {level} (policies: {known})")
    return found


def edit_form(request: web.Request, level: Level, name: str, status: int = 200, **shown: Any) -> web.Response:
    """The Threat Defense form of one policy, with its current values unless others are given."""
    working = console(request).config.config()
    policy = policy_named(working, level, name)
    values = {"chosen": policy.tdc, "address": policy.tdc_intake, "address_error": "", "mode_error": "",
              "form_error": "", **shown}
    return page(request, "policies_edit.html", status=status, title="Mail Policies: Threat Defense",
                level=str(level), mode_label=mode_label(level), policy=policy.name, back=back_to(level),
                choices=TD_CHOICES, longest_address=LONGEST["address"], edit_policy_path=EDIT_POLICY_PATH,
                default_address=str(working.inherited(level, "tdc.intake_address").value or ""),
                connector_off=connector_off(working, level), **values)


async def edit(request: web.Request) -> web.Response:
    level = level_named(request, request.query.get("mode", ""))
    return edit_form(request, level, request.query.get("policy", ""))


def on_address(error: ConfigError | BadRequest) -> bool:
    """Is the refusal about the intake address (else it is about the choice of mode)?"""
    return isinstance(error, BadRequest) or error.key == "address" or error.key.endswith("intake address")


async def submit(request: web.Request) -> web.Response:
    level = level_named(request, await form_field(request, "level"))
    name = await form_field(request, "policy")
    admin = console(request).config
    if await form_field(request, "version") != config_version(admin):
        return edit_form(request, level, name, 409, form_error=STALE)
    mode = await form_field(request, "mode")
    shown: dict[str, Any] = {"chosen": mode}
    try:
        address = await form_field(request, "address", LONGEST["address"], "address")
        shown["address"] = address
        # The address field is kept when another choice is ticked: only Custom sends it.
        message = admin.set_policy(name, mode, address if mode == "custom" else "", str(level))
    except (ConfigError, BadRequest) as error:
        shown["address_error" if on_address(error) else "mode_error"] = str(error)
        return edit_form(request, level, name, 422, **shown)
    return see_other_with_notice(request, back_to(level), message)


ROUTES = (
    ("GET", POLICIES_PATH, show),
    ("GET", EDIT_POLICY_PATH, edit),
    ("POST", EDIT_POLICY_PATH, submit),
)
