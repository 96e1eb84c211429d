"""Monitor > Message Tracking: a search of the mail log by envelope sender, recipient, subject,
Message-ID, MID, time range and machine, and one message's history in the seed's form with its
journal copy's `TDC:` events beside the original's (BEHAVIOUR.md §7.3).

Design rule: the search is a GET form (a page to bookmark, nothing changed) read by
`MonitorAdmin.search`, the detail the words of `MonitorAdmin.tracking`, the same as `tdcsim
tracking MID`; both read the log off the event loop. Every field is bounded; a field that is not
what it should be shows the form again with its error (422), an unknown machine or MID the plain
404 page; a search that finds nothing says "No messages match" (200). Times are UTC, as the log's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import web

from simulator.admin.bounds import LARGEST_MID, LONGEST, LONGEST_TEXT, bounded, whole_number
from simulator.console.render import TRACKING_PATH, console, page
from simulator.core.errors import BadRequest
from simulator.core.reports.search import Query, utc_time
from simulator.core.reports.tracking import render, stamp

T = TypeVar("T")
NO_MATCH = "No messages match"
GMT = " (GMT +00:00) "
LONGEST_TIME = len("2022-08-17T05:52:04")
#: The search's text fields: (name, label, bound).
TEXT_FIELDS = (("sender", "Envelope sender", LONGEST["address"]),
               ("recipient", "Envelope recipient", LONGEST["address"]),
               ("subject", "Subject", LONGEST_TEXT), ("message_id", "Message-ID", LONGEST_TEXT))
FIELDS = (*(name for name, _, _ in TEXT_FIELDS), "mid", "since", "until", "machine")


@dataclass
class SearchForm:
    """The search form as filled in: its values as typed and each field's error."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def read(self, name: str, reading: Callable[[str], T]) -> T | None:
        """`reading` of the field's value, or None with the field's error kept."""
        try:
            return reading(self.values[name])
        except BadRequest as error:
            self.errors[name] = str(error)
            return None

    @property
    def machine(self) -> str | None:
        return self.values["machine"] or None


def text_field(name: str, longest: int) -> Callable[[str], str]:
    return lambda value: bounded(value, name, longest).strip()


def mid_field(value: str) -> int | None:
    return whole_number(value.strip(), "MID", LARGEST_MID) if value.strip() else None


def time_field(label: str, to_the_end: bool = False) -> Callable[[str], datetime | None]:
    """A `datetime-local` field read as UTC; BadRequest naming the field as `label`."""
    def read(value: str) -> datetime | None:
        try:
            return utc_time(bounded(value, label, LONGEST_TIME), to_the_end)
        except ValueError as error:
            raise BadRequest(f"{label}: {error}") from None
    return read


def read_form(request: web.Request) -> tuple[SearchForm, Query]:
    """The form as typed and the query its fields ask for (an error on each field that is not what
    it should be)."""
    form = SearchForm({name: request.query.get(name, "") for name in FIELDS})
    texts = {name: form.read(name, text_field(name, longest)) or "" for name, _, longest in TEXT_FIELDS}
    mid = form.read("mid", mid_field)
    since = form.read("since", time_field("From"))
    until = form.read("until", time_field("To", to_the_end=True))
    if since and until and until < since:
        form.errors["until"] = "To: earlier than From, so no message can match"
    bounded(form.values["machine"], "machine")  # an unknown machine is the 404 page (MonitorAdmin.machine)
    return form, Query(**texts, mid=mid, since=since, until=until)


def detail_path(machine: str, mid: int) -> str:
    return f"{TRACKING_PATH}/{quote(machine, safe='')}/{mid}"


def how_many(total: int, shown: int) -> str:
    """`1 message matches.`, `3 messages match.`, or `The newest 500 of 812 messages that match.`"""
    if total > shown:
        return f"The newest {shown} of {total} messages that match."
    return "1 message matches." if total == 1 else f"{total} messages match."


def result_rows(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**message, "time": stamp(datetime.fromisoformat(message["at"])),
             "link": detail_path(message["machine"], message["mid"])} for message in messages]


async def search(request: web.Request) -> web.Response:
    current = console(request)
    form, query = read_form(request)
    asked = any(name in request.query for name in FIELDS)
    found: dict[str, Any] | None = None
    if asked and not form.errors:
        found = await current.ops.monitor.search(query, form.machine)
    elif form.machine is not None:
        current.ops.monitor.machine(form.machine)  # the 404 page for a machine that is not there
    return page(request, "tracking.html", status=422 if form.errors else 200, title="Message Tracking",
                values=form.values, errors=form.errors, text_fields=TEXT_FIELDS,
                machines=list(current.sandbox.machine_names()), no_match=NO_MATCH,
                found=found, rows=result_rows(found["messages"]) if found else [],
                how_many=how_many(found["total"], len(found["messages"])) if found else "")


@dataclass(frozen=True)
class Event:
    """One line of a history: when, and what happened to the original or to its journal copy."""

    time: str
    original: str = ""
    copy: str = ""


def beside(history: list[str], mid: int) -> tuple[list[Event], list[int]]:
    """The history's events, each in the column of the message it is about: the original's, or (a
    `TDC:` event of a journal copy of it) the copy's; and the copies' MIDs."""
    made = re.compile(rf"TDC: Message (\d+) created from message {mid} ")
    events = [line.partition(GMT) for line in history]
    copies = sorted({int(found[1]) for _, _, event in events if (found := made.match(event))})
    of_copy = re.compile(rf"TDC: Message (?:{'|'.join(map(str, copies))}) ") if copies else None
    return [Event(f"{time}{GMT.rstrip()}", copy=event) if of_copy and of_copy.match(event)
            else Event(f"{time}{GMT.rstrip()}", original=event) for time, _, event in events], copies


async def detail(request: web.Request) -> web.Response:
    monitor = console(request).ops.monitor
    machine = bounded(request.match_info["machine"], "machine")
    mid = whole_number(request.match_info["mid"], "MID", LARGEST_MID)
    tracked = await monitor.tracking(machine, mid)  # NotFound: the 404 page
    about = await monitor.search(Query(mid=mid), machine)
    summary = next((message for message in about["messages"] if message["mid"] == mid), None)
    events, copies = beside(tracked["history"], mid)
    return page(request, "tracking_detail.html", title=f"Message {mid}", machine=machine, mid=mid,
                events=events, copies=copies, text=render(tracked["history"]), summary=summary,
                detail_path=detail_path, search_path=TRACKING_PATH)


ROUTES = (
    ("GET", TRACKING_PATH, search),
    ("GET", f"{TRACKING_PATH}/{{machine}}/{{mid}}", detail),
)
