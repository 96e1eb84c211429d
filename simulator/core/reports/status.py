"""Delivery status per destination queue (BEHAVIOUR.md §6): the counters, `tophosts`, the status table.

Design rule: pure. `DestinationTally` counts what the delivery queues tell it as it happens;
`DestinationStatus` is a frozen snapshot; the formatters only lay snapshots out. Counting choices:
a soft bounce event is one recipient of one failed attempt that will be retried (an attempt that
ends in a hard bounce counts only as hard bounced recipients); a /dev/null route counts as delivered;
a destination is down when its last connection attempt failed (every host of its route refused);
a connection out is one open, including one that has sent its batch and waits a moment for more
(`gateway/delivery.py`'s `LINGER`), as an appliance's open connection counts until it closes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from simulator.core.reports.layout import aligned
from simulator.core.reports.logformat import format_timestamp

DOWN_NOTE = "Hosts marked with '*' were down as of the last delivery attempt."


@dataclass(frozen=True)
class DestinationStatus:
    """One destination queue's counters at one moment (a row of `tophosts`)."""

    host: str
    active_recipients: int = 0
    connections_out: int = 0
    delivered_recipients: int = 0
    soft_bounced_events: int = 0
    hard_bounced_recipients: int = 0
    down: bool = False
    last_attempt: datetime | None = None  # the last connection attempt, successful or not


class DestinationTally:
    """The running counters of one destination queue; `snapshot` freezes them."""

    def __init__(self) -> None:
        self.connections_out = self.delivered = self.soft_bounced = self.hard_bounced = 0
        self.down = False
        self.last_attempt: datetime | None = None

    def connected(self, at: datetime) -> None:
        """A connection was opened: the destination is up, one more connection is out."""
        self.connections_out += 1
        self.down, self.last_attempt = False, at

    def unreachable(self, at: datetime) -> None:
        """A connection attempt failed: down until one succeeds."""
        self.down, self.last_attempt = True, at

    def disconnected(self) -> None:
        self.connections_out -= 1

    def snapshot(self, host: str, active_recipients: int) -> DestinationStatus:
        """The counters now, with the queue's current active recipients."""
        return DestinationStatus(host, active_recipients, self.connections_out, self.delivered,
                                 self.soft_bounced, self.hard_bounced, self.down, self.last_attempt)


Counter = Callable[[DestinationStatus], int]
#: The sortable counters: (CLI name, tophosts heading, full name, value), in the vendor's order.
COUNTERS: tuple[tuple[str, str, str, Counter], ...] = (
    ("active", "Active Recip.", "Active Recipients", lambda row: row.active_recipients),
    ("conn", "Conn. Out", "Connections Out", lambda row: row.connections_out),
    ("delivered", "Deliv. Recip.", "Delivered Recipients", lambda row: row.delivered_recipients),
    ("soft", "Soft Bounced", "Soft Bounced Events", lambda row: row.soft_bounced_events),
    ("hard", "Hard Bounced", "Hard Bounced Recipients", lambda row: row.hard_bounced_recipients),
)
SORT_KEYS = tuple(name for name, *_ in COUNTERS)
DEFAULT_SORT = "active"


def sort_key(name: str) -> Callable[[DestinationStatus], tuple[int, str]]:
    """Sorts rows by the counter `name`, largest first, then by host; raises ValueError naming the keys."""
    counters = {key: value for key, _, _, value in COUNTERS}
    if name not in counters:
        raise ValueError(f"unknown sort key {name!r}: valid keys: {', '.join(SORT_KEYS)}")
    counter = counters[name]
    return lambda row: (-counter(row), row.host)


def _counts(row: DestinationStatus) -> list[str]:
    return [f"{value(row):,}" for *_, value in COUNTERS]


def format_tophosts(rows: Iterable[DestinationStatus], now: datetime, sort: str = DEFAULT_SORT) -> str:
    """`tophosts` in the vendor's layout: numbered rows, `*` after the number of a down host."""
    ordered = sorted(rows, key=sort_key(sort))
    cells = [[f"{number}{'*' if row.down else ' '}", row.host, *_counts(row)]
             for number, row in enumerate(ordered, start=1)]
    headings = ["#", "Recipient Host", *(heading for _, heading, _, _ in COUNTERS)]
    head = [f"Status as of: {format_timestamp(now)} GMT", DOWN_NOTE, ""]
    return "\n".join([*head, aligned(headings, cells, left=2)])


def format_delivery_status(rows: Iterable[DestinationStatus]) -> str:
    """Delivery status: one row per destination (by name), the five counters by their full names."""
    cells = [[row.host, *_counts(row)] for row in sorted(rows, key=lambda row: row.host)]
    headings = ["Destination", *(full for _, _, full, _ in COUNTERS)]
    return aligned(headings, cells, left=1)
