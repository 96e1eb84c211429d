"""Journal latency split into hops (issue 13): where a journal's time between the client's 250 and
its record at Threat Defense goes.

Design rule: pure functions over the client's 250 times and what the filesystem oracle read from
each journal's `<n>.json` (`JournalTimes`); no clock, no files. Every timestamp is CLOCK_REALTIME of
one machine, in ns: *accepted*, the client's wall clock as esa1's 250 came; *received*, the record's
`received_at`, Threat Defense's system clock when the journal's DATA had ended (µs: `isoformat`);
*stored*, the record's mtime, written just before Threat Defense answers 250 (from the kernel's
coarse clock: a few ms early, so *received -> stored* may come out negative). A connection carries
its journals one after another, so a later journal's turn on it came once it was accepted *and* the
previous journal's 250 was back (the later of the two): its hop to Threat Defense splits into waiting
for its turn (behind its batch-mates) and sending (MAIL to the end of DATA; with a connection kept
open between batches, the wait for the journal itself is in neither). The first journal of a
connection has no such mark: its hop holds the queue, connecting and STARTTLS together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any

from bench.report import percentiles

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Each hop's key in the latency phase's `hops`, and what it holds, in the order a journal goes.
HOPS: tuple[tuple[str, str], ...] = (
    ("to_threat_defense_ms", "accepted → Threat Defense has the DATA (queue, connection, sending)"),
    ("at_threat_defense_ms", "Threat Defense has the DATA → stored (examine, write)"),
    ("first_on_connection_ms", "first of a connection: accepted → DATA (with connect, STARTTLS)"),
    ("waiting_ms", "later on a connection: accepted → its turn (the previous one's 250)"),
    ("sending_ms", "later on a connection: its turn → DATA"),
)


@dataclass(frozen=True)
class JournalTimes:
    """When Threat Defense had a journal's DATA and stored it, and where on its connection it came."""

    received_ns: int | None  # None: the record has no `received_at` (a sandbox without a clock)
    stored_ns: int
    connection: int
    position: int  # 1 for the first journal of its connection


def journal_times(record: Mapping[str, Any], stored_ns: int) -> JournalTimes:
    """The times of one journal from its `.json` record and that file's mtime."""
    received = record.get("received_at")
    return JournalTimes(received_ns=None if not received else iso_ns(str(received)), stored_ns=stored_ns,
                        connection=int(record.get("connection") or 0),
                        position=int(record.get("message_on_connection") or 0))


def iso_ns(text: str) -> int:
    """An ISO 8601 time as ns since the epoch, exactly (no float on the way); a time without an offset
    is UTC, as the sandbox's clocks are (never the local time of the machine reading it)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def split(accepted_ns: Mapping[int, int], times: Mapping[int, JournalTimes]) -> dict[str, Any]:
    """Every hop of `HOPS` with its label and percentiles (ms) over the journals that have the times
    it needs (the labels travel with the figures: the table and the README show them as they are),
    and how many journals a connection carried."""
    stored_at = {(each.connection, each.position): each.stored_ns for each in times.values()}
    spans: dict[str, list[float]] = {name: [] for name, _ in HOPS}
    for seq, journal in times.items():
        if seq in accepted_ns and journal.received_ns is not None:
            _add_spans(spans, accepted_ns[seq], journal, stored_at)
    carried: dict[int, int] = {}  # connection -> the most journals seen on it
    for each in times.values():
        carried[each.connection] = max(each.position, carried.get(each.connection, 0))
    return {**{name: {"label": label, **percentiles(spans[name])} for name, label in HOPS},
            "connections": len(carried),
            "journals_per_connection": round(fmean(carried.values()), 2) if carried else None}


def _add_spans(spans: dict[str, list[float]], accepted: int, journal: JournalTimes,
               stored_at: Mapping[tuple[int, int], int]) -> None:
    received = journal.received_ns
    assert received is not None
    spans["to_threat_defense_ms"].append(_ms(accepted, received))
    spans["at_threat_defense_ms"].append(_ms(received, journal.stored_ns))
    if journal.position == 1:
        spans["first_on_connection_ms"].append(_ms(accepted, received))
    elif (previous := stored_at.get((journal.connection, journal.position - 1))) is not None:
        turn = max(accepted, previous)  # not sent before it was accepted, nor before the previous 250
        spans["waiting_ms"].append(_ms(accepted, turn))
        spans["sending_ms"].append(_ms(turn, received))


def _ms(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e6
