"""Commit Changes: the pending diff, a comment, Commit or Abandon, and the history of commits.

Design rule: the same store and actions as the API's POST /commit and /clear (`ConfigAdmin`), so
the answers are the vendor's lines: `Changes committed: <date>`, `There is no data to commit.`. A
form loaded before the configuration changed commits nothing: what it would commit is not what its
page showed, so the current state is shown with a message instead.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from simulator.admin.bounds import LONGEST
from simulator.admin.history import differences
from simulator.console.guard import form_field, see_other_with_notice
from simulator.console.render import COMMIT_PATH, config_version, console, page
from simulator.core.config.store import NOTHING_TO_COMMIT
from simulator.core.reports.logformat import format_timestamp

STALE = ("The configuration changed since this page was loaded (someone else committed, abandoned or "
         "submitted changes): nothing was committed or abandoned. This is the current state.")
SETTING_NAMES = {"tdc.enabled": "Threat Defense Connector", "tdc.intake_address": "Message Intake Address"}


def shown_value(key: str, side: dict[str, Any] | None) -> str:
    """One side of a change in words: `(not set)`, Enabled/Disabled, the text, or compact JSON."""
    if side is None:
        return "(not set)"
    value = side["value"]
    if key == "tdc.enabled":
        return "Enabled" if value else "Disabled"
    return value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))


def change_rows(request: web.Request) -> list[dict[str, str]]:
    store = console(request).config.store
    return [{"level": change["level"], "setting": SETTING_NAMES.get(change["key"], change["key"]),
             "committed": shown_value(change["key"], change["committed"]),
             "pending": shown_value(change["key"], change["pending"])}
            for change in differences(store.committed, store.pending)["changes"]]


def commit_page(request: web.Request, status: int = 200, stale: str = "") -> web.Response:
    store = console(request).config.store
    history = [{"at": format_timestamp(each.at), "comment": each.comment}
               for each in reversed(store.commits())]
    return page(request, "commit.html", status=status, title="Commit Changes", stale=stale,
                pending=store.pending is not None, changes=change_rows(request), history=history,
                nothing=NOTHING_TO_COMMIT, longest_comment=LONGEST["comment"])


async def show(request: web.Request) -> web.Response:
    return commit_page(request)


async def fresh(request: web.Request) -> bool:
    """Was the posted form loaded from the configuration as it is now?"""
    return await form_field(request, "version") == config_version(console(request).config)


def done(request: web.Request, message: str) -> web.Response:
    return see_other_with_notice(request, COMMIT_PATH, message)


async def commit(request: web.Request) -> web.Response:
    comment = await form_field(request, "comment", LONGEST["comment"])
    if not await fresh(request):
        return commit_page(request, 409, STALE)
    return done(request, await console(request).config.commit(comment))


async def abandon(request: web.Request) -> web.Response:
    if not await fresh(request):
        return commit_page(request, 409, STALE)
    return done(request, console(request).config.clear())


ROUTES = (
    ("GET", COMMIT_PATH, show),
    ("POST", COMMIT_PATH, commit),
    ("POST", f"{COMMIT_PATH}/abandon", abandon),
)
