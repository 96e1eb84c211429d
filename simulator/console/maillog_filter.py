"""The Mail Log page's filter (MID, ICID, DCID, `TDC:` lines only, how many lines), pure.

Design rule: one function, `parse_filter`, reads the filter (a GET form) for the page and for its
event stream alike, so both show the same lines; it never raises: a bad field is an error in the
result, worded by the admin API's rule for whole numbers. A line matches an ID only where the line
itself names it, never inside the free text it quotes (a subject, an address, a reply).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from simulator.admin.bounds import LARGEST_MID, whole_number
from simulator.core.errors import BadRequest
from simulator.core.reports.logformat import LogLine

DEFAULT_LINES, MOST_LINES = 100, 1000
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


def lines_since(snapshot: Sequence[LogLine], since: int | None) -> tuple[Sequence[LogLine], bool]:
    """The lines of `snapshot` after line number `since` (None: every line is new) and whether some may
    be missing: the line after `since` has left memory, so more lines came than memory keeps. Lines
    are told apart by their number, not their text (two may be equal) nor their identity (a machine
    in another process sends copies)."""
    if since is None:
        return snapshot, False
    start = len(snapshot)
    while start > 0 and snapshot[start - 1].number > since:
        start -= 1
    fresh = snapshot[start:]
    return fresh, bool(fresh) and fresh[0].number > since + 1


def last_matching(lines: Sequence[LogLine], chosen: LogFilter, most: int) -> list[LogLine]:
    """The last `most` lines that `chosen` matches, oldest first."""
    found: list[LogLine] = []
    for line in reversed(lines):
        if len(found) == most:
            break
        if chosen.matches(line.text):
            found.append(line)
    return found[::-1]
