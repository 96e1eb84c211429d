"""The Mail Log's live tail: a server-sent event stream of each new line a filter matches.

Design rule: how new lines are noticed: each stream polls the sandbox's `recent_log` (the operation the
admin API's tail uses) every POLL_SECONDS, rather than subscribing to the gateway's `MailLog`. The
console sees the sandbox only through `RunningSandbox`; a subscription would need that protocol, the
sandbox and a thread-safe hand-over out of `MailLog` (which any thread may append to), all for lines a
person reads a quarter of a second later anyway. A poll asks only for the lines after the last one
polled, by number (`since`), so only new lines cross from a machine's process. The page hands its
stream the number of the newest line it read (`since` in the stream's address), so no line logged in
between is lost; each write names the last line polled (the event stream's `id`), and a browser that
reconnects sends it back (`Last-Event-ID`), so a reconnected stream goes on where it was. Bounded:
there is no queue at all. A stream writes what is
new, then sleeps; a client that reads slowly holds up only its own stream's writes (each waits for the
socket to drain, at most WRITE_TIMEOUT, then the connection is cut), and whatever piled up meanwhile is
sent as at most MOST_PER_POLL lines after one `skipped` marker; at most MOST_STREAMS streams are open at
once. A stream ends when its client leaves, when its session ends (logout, idle limit) and when the
console shuts down (`install` adds the `on_shutdown` hook), so an open page never delays a stop.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from simulator.console.maillog_filter import LogFilter, lines_since
from simulator.console.render import console
from simulator.console.sessions import COOKIE
from simulator.core.reports.logformat import LogLine

POLL_SECONDS = 0.25  # how soon a new line reaches an open page
HEARTBEAT_SECONDS = 15.0  # a comment on a quiet stream, so a vanished client is noticed
WRITE_TIMEOUT = 10.0  # a client that takes longer to read one write is cut off
MOST_PER_POLL = 200  # lines sent at once; more matched since the last poll: the latest, after a marker
MOST_STREAMS = 32  # live tails open at once, all pages and visitors together


def event(data: str, name: str = "") -> bytes:
    """One server-sent event (mail-log lines are one line each: `one_line` escapes line breaks)."""
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode()


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

    def __init__(self, request: web.Request, machine: str, chosen: LogFilter, since: int | None) -> None:
        self.request, self.machine, self.chosen = request, machine, chosen
        self.since = since  # the number of the last line polled (None: every line is new)

    @classmethod
    async def opened(cls, request: web.Request, machine: str, chosen: LogFilter,
                     since: int | None = None) -> LiveTail:
        """A tail of what is logged after line number `since` (None: from now on; what memory holds
        already is not sent)."""
        if since is None:
            recent = await console(request).sandbox.recent_log(machine, 0, 1)
            since = recent[-1].number if recent else None
        return cls(request, machine, chosen, since)

    async def recent(self) -> list[LogLine]:
        """The lines logged since the last poll (that memory still keeps)."""
        return await console(self.request).sandbox.recent_log(self.machine, self.since or 0)

    def new_events(self, recent: list[LogLine]) -> list[bytes]:
        """The events for what `recent` (a poll of the log) has since the last poll (a marker first if
        some are left out)."""
        fresh, missed = lines_since(recent, self.since)
        if fresh:
            self.since = fresh[-1].number
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
                events = self.new_events(await self.recent())
                if events and self.since is not None:  # where a reconnecting browser goes on from
                    events.append(f"id: {self.since}\n\n".encode())
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
