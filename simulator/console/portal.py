"""The Threat Defense portal: a separate product inside the console, with its own heading, menu and
stylesheet. Home (tenants, mode, the chapter's three steps), Settings > Administration > Business
(Account Details: each tenant's message intake address), and the journals received per tenant,
each with its verdict, true sender, conformance result, remediation and its raw `.eml`.

Design rule: read-only. Every page is a GET over what the running sandbox has (`tenants`, `td_mode`,
its journals, the committed configuration through the admin operations): the portal changes nothing,
so it has no form and no CSRF token to check. A page reads only what it shows (Threat Defense may be
another process): one page of one tenant's journals (`journal_page`), one journal (`journal`), each
tenant's count (an empty page's total). Bytes are read off the event loop
(`portal_journals.off_loop`); an unknown tenant, journal or page is the plain 404 page.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from aiohttp import web

from simulator.admin.bounds import bounded
from simulator.console.guard import see_other
from simulator.console.portal_journals import (
    PAGE_SIZE,
    eml_name,
    off_loop,
    page_count,
    page_number,
    requested_page,
    viewed,
    viewed_all,
)
from simulator.console.portal_steps import guide
from simulator.console.render import COMMIT_PATH, EDIT_CONNECTOR_PATH, PORTAL_PATH, console, error_page, page
from simulator.core.errors import NotFound
from simulator.endpoints.threat_defense import JournalRecord

BUSINESS_PATH = f"{PORTAL_PATH}/settings/administration/business"
MESSAGES_PATH = f"{PORTAL_PATH}/messages"
MODES = {"read": "Read (verdicts only)", "read-write": "Read/Write (verdicts and remediation)"}
UNREADABLE = "The journal's file cannot be read (it was moved or changed since it was received)."


def messages_path(tenant: str) -> str:
    return f"{MESSAGES_PATH}/{quote(tenant, safe='@')}"


def portal_page(request: web.Request, template: str, title: str, **context: Any) -> web.Response:
    """A portal page: what every one of them shows (its menu, the tenants, the mode) and `context`."""
    sandbox = console(request).sandbox
    tenants = [{"address": tenant, "messages": messages_path(tenant)} for tenant in sandbox.tenants()]
    return page(request, template, title=title, tenants=tenants,
                mode_label=MODES.get(sandbox.td_mode(), sandbox.td_mode()), home_path=PORTAL_PATH,
                business_path=BUSINESS_PATH, messages_home=MESSAGES_PATH, unreadable=UNREADABLE, **context)


def tenant_of(request: web.Request) -> str:
    """The tenant the path names (case-insensitively, as Threat Defense compares addresses)."""
    asked = bounded(request.match_info["tenant"], "address")
    for tenant in console(request).sandbox.tenants():
        if tenant.lower() == asked.lower():
            return tenant
    raise NotFound(f"tenant: Threat Defense has no tenant {asked!r}")


def journal_number(request: web.Request) -> int:
    return int(bounded(request.match_info["number"], "journal"))


async def requested_journal(request: web.Request) -> tuple[str, JournalRecord]:
    """The tenant and the journal the path names; NotFound if Threat Defense keeps no such journal."""
    tenant, number = tenant_of(request), journal_number(request)
    record = await console(request).sandbox.journal(tenant, number)
    if record is None:
        raise NotFound(f"journal: {tenant} has no journal {number}")
    return tenant, record


async def home(request: web.Request) -> web.Response:
    current = console(request)
    admin, sandbox = current.ops.config, current.sandbox
    steps = guide(sandbox.tenants(), sandbox.fault_plans().get("threat_defense", ()),
                  admin.tdc("pending")["machines"], admin.tdc("committed")["machines"],
                  {"details": BUSINESS_PATH, "edit": EDIT_CONNECTOR_PATH, "commit": COMMIT_PATH})
    tenants = sandbox.tenants()
    pages = await asyncio.gather(*(sandbox.journal_page(tenant, 0, 0) for tenant in tenants))
    counts = {tenant: each.total for tenant, each in zip(tenants, pages, strict=True)}
    return portal_page(request, "portal.html", "Threat Defense Portal", steps=steps, counts=counts)


async def business(request: web.Request) -> web.Response:
    return portal_page(request, "portal_business.html", "Business")


async def messages_home(request: web.Request) -> web.Response:
    """The default tenant's messages (the first tenant is the default)."""
    tenants = console(request).sandbox.tenants()
    if not tenants:
        raise NotFound("tenant: Threat Defense has no tenant")
    return see_other(messages_path(tenants[0]))


async def messages(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    sandbox = console(request).sandbox
    asked = bounded(request.query.get("page", ""), "page")
    shown = await sandbox.journal_page(tenant, (requested_page(asked) - 1) * PAGE_SIZE, PAGE_SIZE)
    number = page_number(asked, shown.total)
    rows = await off_loop(viewed_all, shown.records, sandbox.td_mode())
    return portal_page(request, "portal_messages.html", f"Messages: {tenant}", tenant=tenant,
                       here=messages_path(tenant), rows=rows, total=shown.total, page_number=number,
                       pages=page_count(shown.total))


async def journal(request: web.Request) -> web.Response:
    tenant, record = await requested_journal(request)
    shown = await off_loop(viewed, record, console(request).sandbox.td_mode())
    base = f"{messages_path(tenant)}/{record.number}"
    return portal_page(request, "portal_journal.html", f"Journal {record.number}", tenant=tenant,
                       journal=shown, back=messages_path(tenant), download=f"{base}.eml",
                       file_name=eml_name(record))


async def download(request: web.Request) -> web.StreamResponse:
    """The journal exactly as received, as a file to save."""
    _, record = await requested_journal(request)
    try:
        data = await off_loop(record.body.read)
    except OSError:
        return error_page(request, 503, UNREADABLE)
    return web.Response(body=data, content_type="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="{eml_name(record)}"'})


ROUTES = (
    ("GET", PORTAL_PATH, home),
    ("GET", BUSINESS_PATH, business),
    ("GET", MESSAGES_PATH, messages_home),
    ("GET", f"{MESSAGES_PATH}/{{tenant}}", messages),
    ("GET", rf"{MESSAGES_PATH}/{{tenant}}/{{number:\d+}}", journal),
    ("GET", rf"{MESSAGES_PATH}/{{tenant}}/{{number:\d+}}.eml", download),
)
