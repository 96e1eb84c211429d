"""The snapshot the labs' checks read, and what it says about journal copies.

Design rule: pure and frozen. `LabState` holds what the running sandbox shows at one moment (committed
and pending configuration, the last commit's time, Threat Defense's tenants and the journals it holds,
the fault plans, the.tdc.queue per machine, each machine's latest mail-log lines); the copies are read
from the mail log's `TDC:` lines, and a copy has arrived when Threat Defense holds its journal (not when
the gateway's log says delivered: a catch-all route delivers copies elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from simulator.core.config.cluster import ClusterConfig
from simulator.core.mail.connector import SERVICE
from simulator.core.reports.logformat import LogLine, format_timestamp

CREATED = re.compile(r"TDC: Message (\d+) created from message (\d+) for (\S+)\.$")
FAILED = re.compile(rf"TDC: Message (\d+) delivery failed to {re.escape(SERVICE)}: (.*)\.$")




@dataclass(frozen=True)
class Arrival:
    """A journal Threat Defense holds: to which intake address, from which machine's copy of which MID."""

    intake_address: str
    machine: str
    copy_mid: int
    original_mid: int


@dataclass(frozen=True)
class Copy:
    """A journal copy the mail log shows created: where, when, of which message, for which address."""

    machine: str
    copy_mid: int
    original_mid: int
    intake_address: str
    at: datetime


@dataclass(frozen=True)
class LabState:
    """What the checks read: a snapshot of the running sandbox."""

    committed: ClusterConfig
    pending: ClusterConfig | None
    #: From when a journal counts: this lab's latest start, else the last commit (None: any time).
    since: datetime | None
    tenants: tuple[str, ...]
    faults: Mapping[str, tuple[str, ...]]
    tdc_queue: Mapping[str, int]  # copies waiting in the.tdc.queue, by machine
    log: Mapping[str, tuple[LogLine, ...]]  # each machine's latest mail-log lines
    arrivals: tuple[Arrival, ...]
    since_what: str = "the last commit"  # what `since` is, in words
    commits: tuple[tuple[datetime, str], ...] = ()  # (when, comment), oldest first

    @property
    def machines(self) -> tuple[str, ...]:
        return self.committed.topology.machines

    @property
    def tenant(self) -> str:
        """The tenant's message intake address (Threat Defense's first)."""
        return self.tenants[0]


@dataclass(frozen=True)
class Result:
    """One check's answer; `reason` starts with `done:` or `not done:`."""

    done: bool
    reason: str


def done(reason: str) -> Result:
    return Result(True, f"done: {reason}")


def missing(reason: str) -> Result:
    return Result(False, f"not done: {reason}")


def copies(state: LabState) -> Iterator[Copy]:
    """Every copy the kept mail-log lines show created, machine by machine."""
    for machine, lines in state.log.items():
        for line in lines:
            if found := CREATED.search(line.text):
                yield Copy(machine, int(found[1]), int(found[2]), found[3], line.at)


def arrived(state: LabState, copy: Copy) -> bool:
    key = (copy.machine, copy.copy_mid, copy.original_mid)
    return any((a.machine, a.copy_mid, a.original_mid) == key for a in state.arrivals)


def since_commit(state: LabState) -> str:
    return f"since {state.since_what} ({format_timestamp(state.since)})" if state.since else "yet"


def start_comment(lab_id: str, title: str) -> str:
    """The comment of a lab's start commit (how its start is found again in the history)."""
    return f"Lab {lab_id}: start ({title})"


def for_lab(state: LabState, lab_id: str) -> LabState:
    """`state` as one lab sees it: a journal counts since the lab's latest start (another lab's start, or
    any later commit, does not undo a lab already done), else since the last commit."""
    starts = [at for at, comment in state.commits if comment.startswith(f"Lab {lab_id}: start (")]
    if starts:
        return replace(state, since=starts[-1], since_what="this lab's start")
    last = state.commits[-1][0] if state.commits else None
    return replace(state, since=last, since_what="the last commit")
