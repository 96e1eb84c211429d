"""System > Mail Log: a machine's mail log, filtered by MID, ICID, DCID and `TDC:`, and its live tail.

Design rule: the page renders the last matching lines itself (it works without JavaScript), read by
the same filter as its event stream (`maillog_filter.py`); `static/maillog.js` then opens
`MAIL_LOG_PATH/events`, the live tail (`live_tail.py`), and appends each new matching line to the list:
the lines after the newest one the page read (its number is the stream's `since`), none lost between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web

from simulator.admin.bounds import LARGEST_LINE, bounded, whole_number
from simulator.console import live_tail
from simulator.console.live_tail import STREAMS, LiveTail
from simulator.console.maillog_filter import DEFAULT_LINES, MOST_LINES, last_matching, parse_filter
from simulator.console.render import (
    CONNECTOR_PATH,
    FAULTS_PATH,
    MAIL_LOG_PATH,
    console,
    error_page,
    page,
)
from simulator.core.errors import BadRequest
from simulator.core.reports.logformat import LogLine

EVENTS_PATH = f"{MAIL_LOG_PATH}/events"


def chosen_machine(request: web.Request) -> str:
    """The machine the query names (the first one if none; the 404 page for an unknown one)."""
    name = bounded(request.query.get("machine", ""), "machine")
    return console(request).ops.monitor.machine(name or None)


async def show(request: web.Request) -> web.Response:
    current = console(request)
    machine = chosen_machine(request)
    form = parse_filter(request.query)
    shown: list[LogLine] = []
    since: dict[str, str] = {}  # the stream starts after the newest line this page read
    if not form.errors:
        recent = await current.sandbox.recent_log(machine)
        loop = asyncio.get_running_loop()  # a long log is filtered off the event loop
        shown = await loop.run_in_executor(None, last_matching, recent, form.chosen, form.lines)
        since = {"since": str(recent[-1].number if recent else 0)}
    events = f"{EVENTS_PATH}?{urlencode({'machine': machine, **form.chosen.query(), **since})}"
    return page(request, "maillog.html", status=422 if form.errors else 200, title="Mail Log",
                machine=machine, machines=list(current.sandbox.machine_names()), form=form,
                tdc_only=form.chosen.tdc_only, lines=[str(line) for line in shown], events=events,
                default_lines=DEFAULT_LINES, most_lines=MOST_LINES, faults_path=FAULTS_PATH,
                connector_path=CONNECTOR_PATH)


def stream_start(request: web.Request) -> int | None:
    """The line number a stream goes on after: a reconnecting browser's `Last-Event-ID`, else the
    page's `since`; None (neither given): from now on. BadRequest for one that is no line number."""
    if resumed := request.headers.get("Last-Event-ID", "").strip():
        return whole_number(resumed, "Last-Event-ID", LARGEST_LINE, lowest=0)
    if "since" in request.query:
        return whole_number(request.query["since"], "since", LARGEST_LINE, lowest=0)
    return None


async def events(request: web.Request) -> web.StreamResponse:
    """`text/event-stream`: each new line of the machine's log that the filter matches."""
    machine = chosen_machine(request)
    form = parse_filter(request.query)
    if form.errors:
        raise BadRequest("; ".join(form.errors.values()))
    since = stream_start(request)
    streams = request.app[STREAMS]
    if streams.full():
        return error_page(request, 503, f"At most {live_tail.MOST_STREAMS} live tails can be open at once: "
                                        "close another Mail Log page and reload this one.")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Content-Type-Options": "nosniff"})
    ending = streams.open()  # before the first await: counted, and a shutdown from now on ends it too
    try:
        tail = await LiveTail.opened(request, machine, form.chosen, since)
        await response.prepare(request)
        await tail.follow(response, ending)
    finally:
        streams.close(ending)
    return response


ROUTES: tuple[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]], ...] = (
    ("GET", MAIL_LOG_PATH, show),
    ("GET", EVENTS_PATH, events),
)
