"""System > Mail Log: a machine's mail log, filtered by MID, ICID, DCID and `TDC:`, and its live tail.

Design rule: one pure function, `parse_filter`, reads the filter (a GET form) for the page and for its
event stream alike, so both show the same lines. The page renders the last matching lines itself (it
works without JavaScript); `static/maillog.js` then opens `MAIL_LOG_PATH/events`, a server-sent event
stream of each new matching line, and appends them to the page's list.

How new lines are noticed: each stream polls the sandbox's `recent_log` (the operation the admin API's
tail uses) every POLL_SECONDS, rather than subscribing to the gateway's `MailLog`. The console sees the
sandbox only through `RunningSandbox`; a subscription would need that protocol, the sandbox and a
thread-safe hand-over out of `MailLog` (which any thread may append to), all for lines a person reads a
quarter of a second later anyway. `recent_log` hands out the log's own line objects, so the last line
sent is found again by identity, searching from the end (`lines_after`): a poll costs a snapshot of
references and the new lines. Bounded: there is no queue at all. A stream writes what is new, then
sleeps; a client that reads slowly holds up only its own stream's writes (each waits for the socket to
drain, at most WRITE_TIMEOUT, then the connection is cut), and whatever piled up meanwhile is sent as at
most MOST_PER_POLL lines after one `skipped` marker; at most MOST_STREAMS streams are open at once.
Streams end when the console shuts down (`install` adds the `on_shutdown` hook), so an open page never
delays the sandbox's stop.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web

from simulator.admin.bounds import LARGEST_MID, bounded, whole_number
from simulator.console.render import (
    CONNECTOR_PATH,
    FAULTS_PATH,
    MAIL_LOG_PATH,
    console,
    error_page,
    page,
)
from simulator.console.sessions import COOKIE
from simulator.core.errors import BadRequest
from simulator.core.reports.logformat import LogLine

EVENTS_PATH = f"{MAIL_LOG_PATH}/events"
DEFAULT_LINES, MOST_LINES = 100, 1000
POLL_SECONDS = 0.25  # how soon a new line reaches an open page
HEARTBEAT_SECONDS = 15.0  # a comment on a quiet stream, so a vanished client is noticed
WRITE_TIMEOUT = 10.0  # a client that takes longer to read one write is cut off
MOST_PER_POLL = 200  # lines sent at once; more matched since the last poll: the latest, after a marker
MOST_STREAMS = 32  # live tails open at once, all pages and visitors together
ID_FIELDS = (("mid", "MID"), ("icid", "ICID"), ("dcid", "DCID"))
TDC_PREFIX = "TDC:"
#: Free text a line quotes (a subject, a Message-ID, a reply, an address): IDs in it are not the line's.
FREE_TEXT = re.compile(r"'.*'|<[^<>]*>")
NAMED_ID = re.compile(r"\b(MID|ICID|DCID) (\d+)\b")
TDC_MESSAGES = re.compile(r"TDC: Message (\d+) (?:created from message (\d+) )?")


def named_ids(text: str) -> set[tuple[str, int]]:
    """The IDs a line's text names, as ("MID" | "ICID" | "DCID", number): outside the free text it
    quotes, and a `TDC:` line's messages (the copy and, when it is created, its original)."""
    found = {(kind, int(number)) for kind, number in NAMED_ID.findall(FREE_TEXT.sub(" ", text))}
    if tdc := TDC_MESSAGES.match(text):
        found |= {("MID", int(mid)) for mid in tdc.groups() if mid}
    return found


@dataclass(frozen=True)
class LogFilter:
    """Which lines to show: those naming any of the IDs given (every line if none is given), and only
    the connector's `TDC:` lines if `tdc_only`."""

    mid: int | None = None
    icid: int | None = None
    dcid: int | None = None
    tdc_only: bool = False

    def wanted(self) -> set[tuple[str, int]]:
        ids = (("MID", self.mid), ("ICID", self.icid), ("DCID", self.dcid))
        return {(kind, number) for kind, number in ids if number is not None}

    def matches(self, text: str) -> bool:
        if self.tdc_only and not text.startswith(TDC_PREFIX):
            return False
        wanted = self.wanted()
        return not wanted or not wanted.isdisjoint(named_ids(text))

    def query(self) -> dict[str, str]:
        """The filter as the form's query fields (for the event stream's address)."""
        ids = {name: str(value) for name, value in (("mid", self.mid), ("icid", self.icid),
                                                    ("dcid", self.dcid)) if value is not None}
        return {**ids, **({"tdc": "on"} if self.tdc_only else {})}


@dataclass(frozen=True)
class FilterForm:
    """The filter form as read: the filter, how many lines to show, the fields as typed (to show them
    again) and the error of each field that could not be read."""

    chosen: LogFilter
    lines: int
    typed: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def parse_filter(query: Mapping[str, str]) -> FilterForm:
    """Read the filter fields `mid`, `icid`, `dcid` (empty: any), `tdc` ("on": `TDC:` lines only) and
    `lines` (how many of the last matching lines; DEFAULT_LINES if empty). Pure: a bad field is an
    error in the result, never an exception."""
    typed = {name: query.get(name, "").strip() for name in ("mid", "icid", "dcid", "lines")}
    errors: dict[str, str] = {}
    ids: dict[str, int | None] = {}
    for name, label in ID_FIELDS:
        ids[name] = _number(typed[name], label, LARGEST_MID, name, errors) if typed[name] else None
    lines = _number(typed["lines"] or str(DEFAULT_LINES), "lines", MOST_LINES, "lines", errors)
    chosen = LogFilter(ids["mid"], ids["icid"], ids["dcid"], tdc_only=query.get("tdc") == "on")
    return FilterForm(chosen, lines or DEFAULT_LINES, typed, errors)


def _number(text: str, label: str, highest: int, name: str, errors: dict[str, str]) -> int | None:
    """`text` read by the API's rule for whole numbers; on failure its message goes to `errors`."""
    try:
        return whole_number(text, label, highest)
    except BadRequest as error:
        errors[name] = str(error)
        return None


def lines_after(snapshot: Sequence[LogLine], last: LogLine | None) -> tuple[Sequence[LogLine], bool]:
    """The lines of `snapshot` after `last` (the last one already sent; None: every line is new) and
    whether some may be missing: `last` has left memory, so more lines came than memory keeps."""
    if last is None:
        return snapshot, False
    for index in range(len(snapshot) - 1, -1, -1):
        if snapshot[index] is last:
            return snapshot[index + 1:], False
    return snapshot, True


def last_matching(lines: Sequence[LogLine], chosen: LogFilter, most: int) -> list[LogLine]:
    """The last `most` lines that `chosen` matches, oldest first."""
    found: list[LogLine] = []
    for line in reversed(lines):
        if len(found) == most:
            break
        if chosen.matches(line.text):
            found.append(line)
    return found[::-1]


def event(data: str, name: str = "") -> bytes:
    """One server-sent event (mail-log lines are one line each: `one_line` escapes line breaks)."""
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode()


# The live tail's lifetime: every open stream, ended at the console's shutdown.

class OpenStreams:
    """The console's open event streams (at most MOST_STREAMS), each with the event that ends it."""

    def __init__(self) -> None:
        self._ending: set[asyncio.Event] = set()
        self._ended = False

    def full(self) -> bool:
        return len(self._ending) >= MOST_STREAMS

    def open(self) -> asyncio.Event:
        """A new stream's ending, already set if the console is shutting down."""
        ending = asyncio.Event()
        self._ending.add(ending)
        if self._ended:
            ending.set()
        return ending

    def close(self, ending: asyncio.Event) -> None:
        self._ending.discard(ending)

    def end_all(self) -> None:
        self._ended = True
        for ending in self._ending:
            ending.set()


STREAMS = web.AppKey("maillog_streams", OpenStreams)


def install(app: web.Application) -> None:
    """Give `app` its open-stream registry and end every stream at its shutdown (before aiohttp waits
    for the handlers, which an open stream would otherwise keep waiting)."""
    app[STREAMS] = OpenStreams()
    app.on_shutdown.append(end_streams)


async def end_streams(app: web.Application) -> None:
    app[STREAMS].end_all()


class LiveTail:
    """One client's stream: the new lines of one machine's log that its filter matches."""

    def __init__(self, request: web.Request, machine: str, chosen: LogFilter) -> None:
        self.request, self.machine, self.chosen = request, machine, chosen
        recent = self.recent()
        self.last: LogLine | None = recent[-1] if recent else None

    def recent(self) -> list[LogLine]:
        return console(self.request).sandbox.recent_log(self.machine)

    def new_events(self) -> list[bytes]:
        """The events for what was logged since the last poll (a marker first if some are left out)."""
        fresh, missed = lines_after(self.recent(), self.last)
        if fresh:
            self.last = fresh[-1]
        matching = [line for line in fresh if self.chosen.matches(line.text)]
        events = [event(str(line)) for line in matching[-MOST_PER_POLL:]]
        if missed or len(matching) > MOST_PER_POLL:
            left_out = max(len(matching) - MOST_PER_POLL, 0)
            events.insert(0, event(f"[{left_out or 'some'} matching lines not shown: the log moved on "
                                   "faster than this page read it; the mail log file has every line]",
                                   "skipped"))
        return events

    async def follow(self, response: web.StreamResponse, ending: asyncio.Event) -> None:
        """Write new lines until the client leaves, reads too slowly, or the console shuts down."""
        ended = asyncio.ensure_future(ending.wait())
        quiet = 0.0
        try:
            while not self.gone():
                events = self.new_events()
                quiet = 0.0 if events else quiet + POLL_SECONDS
                if quiet >= HEARTBEAT_SECONDS:
                    events, quiet = [b": still here\n\n"], 0.0
                if events and not await self.write(response, b"".join(events)):
                    return
                if (await asyncio.wait({ended}, timeout=POLL_SECONDS))[0]:
                    await self.write(response, event("The console is stopping: the live tail ended.", "end"))
                    return
        finally:
            ended.cancel()

    def gone(self) -> bool:
        """The client left, or its session ended (logged out elsewhere, or idle too long)."""
        transport = self.request.transport
        if transport is None or transport.is_closing():
            return True
        return not console(self.request).sessions.logged_in(self.request.cookies.get(COOKIE))

    async def write(self, response: web.StreamResponse, data: bytes) -> bool:
        """Write `data`; False if the client left or took longer than WRITE_TIMEOUT (then it is cut off)."""
        try:
            await asyncio.wait_for(response.write(data), WRITE_TIMEOUT)
            return True
        except TimeoutError:
            if self.request.transport is not None:
                self.request.transport.abort()
            return False
        except ConnectionError:
            return False


def chosen_machine(request: web.Request) -> str:
    """The machine the query names (the first one if none; the 404 page for an unknown one)."""
    name = bounded(request.query.get("machine", ""), "machine")
    return console(request).ops.monitor.machine(name or None)


async def show(request: web.Request) -> web.Response:
    current = console(request)
    machine = chosen_machine(request)
    form = parse_filter(request.query)
    shown: list[LogLine] = []
    if not form.errors:
        recent = current.sandbox.recent_log(machine)
        loop = asyncio.get_running_loop()  # a long log is filtered off the event loop
        shown = await loop.run_in_executor(None, last_matching, recent, form.chosen, form.lines)
    events = f"{EVENTS_PATH}?{urlencode({'machine': machine, **form.chosen.query()})}"
    return page(request, "maillog.html", status=422 if form.errors else 200, title="Mail Log",
                machine=machine, machines=list(current.sandbox.machine_names()), form=form,
                tdc_only=form.chosen.tdc_only, lines=[str(line) for line in shown], events=events,
                default_lines=DEFAULT_LINES, most_lines=MOST_LINES, faults_path=FAULTS_PATH,
                connector_path=CONNECTOR_PATH)


async def events(request: web.Request) -> web.StreamResponse:
    """`text/event-stream`: each new line of the machine's log that the filter matches."""
    machine = chosen_machine(request)
    form = parse_filter(request.query)
    if form.errors:
        raise BadRequest("; ".join(form.errors.values()))
    streams = request.app[STREAMS]
    if streams.full():
        return error_page(request, 503, f"At most {MOST_STREAMS} live tails can be open at once: "
                                        "close another Mail Log page and reload this one.")
    tail = LiveTail(request, machine, form.chosen)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Content-Type-Options": "nosniff"})
    ending = streams.open()  # before the first await: a shutdown from now on ends this stream too
    try:
        await response.prepare(request)
        await tail.follow(response, ending)
    finally:
        streams.close(ending)
    return response


ROUTES: tuple[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]], ...] = (
    ("GET", MAIL_LOG_PATH, show),
    ("GET", EVENTS_PATH, events),
)
