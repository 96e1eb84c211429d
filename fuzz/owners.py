"""Which session a mail-log line is about: its ICID, or its MID traced back to an ICID.

Design rule: sessions (and legitimate messages) connect one at a time, so the k-th `New SMTP ICID`
line of the log is the k-th connection the fuzzer made to a gateway listener; a MID is traced to its
ICID through `Start MID`, a splinter and a journal copy to their original. A line about a connection
the fuzzer no longer remembers (or about none) belongs to nobody, and the caller falls back to the
session that has just run. Memory is bounded: only the last KEPT connections are remembered.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from typing import TypeVar

from fuzz.wire import Transcript

KEPT = 500
Value = TypeVar("Value")
NEW_ICID_RE = re.compile(r"New SMTP ICID (\d+) ")
START_MID_RE = re.compile(r"Start MID (\d+) ICID (\d+)")
DERIVED_RE = re.compile(r"MID (\d+) was split creating MID (\d+)|Message (\d+) created from message (\d+)")
ABOUT_RE = re.compile(r"\b(ICID|MID|Message) (\d+)\b")


class Owners:
    """Gateway connections in the order they were made, and the log's numbers that name them."""

    def __init__(self) -> None:
        self._waiting: deque[Transcript | None] = deque()  # connected, its ICID not yet in the log
        self._by_icid: OrderedDict[int, Transcript | None] = OrderedDict()
        self._icid_of_mid: OrderedDict[int, int] = OrderedDict()

    def connected(self, transcript: Transcript | None) -> None:
        """A connection to a gateway listener was made (None: a legitimate message's)."""
        self._waiting.append(transcript)

    def read(self, lines: list[str]) -> None:
        """Learn the ICIDs and MIDs these log lines introduce."""
        for line in lines:
            if (found := NEW_ICID_RE.search(line)) and self._waiting:
                self._remember(self._by_icid, int(found.group(1)), self._waiting.popleft())
            elif found := START_MID_RE.search(line):
                self._remember(self._icid_of_mid, int(found.group(1)), int(found.group(2)))
            elif found := DERIVED_RE.search(line):
                original, derived = (found.group(1), found.group(2)) if found.group(1) else (
                    found.group(4), found.group(3))
                if int(original) in self._icid_of_mid:
                    self._remember(self._icid_of_mid, int(derived), self._icid_of_mid[int(original)])

    def owner(self, line: str) -> tuple[bool, Transcript | None]:
        """(whether the line names a connection this knows, the session that made it if any)."""
        for kind, number in ABOUT_RE.findall(line):
            icid = int(number) if kind == "ICID" else self._icid_of_mid.get(int(number))
            if icid is not None and icid in self._by_icid:
                return True, self._by_icid[icid]
        return False, None

    @staticmethod
    def _remember(table: OrderedDict[int, Value], key: int, value: Value) -> None:
        table[key] = value
        while len(table) > KEPT:
            table.popitem(last=False)
