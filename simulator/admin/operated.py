"""What the admin surface needs from a running sandbox, as a protocol the composition root implements.

Design rule: the admin layer names operations, never object chains (`machine.queues.status()`), and
never imports the sandbox: `sandbox.py` implements `RunningSandbox` and hands itself to the API
(after uvicorn's split of `Config` from `Server`). Machine names are checked by the caller, here.
A part (Threat Defense, the mailbox, a machine) may run in a process of its own: every read of its live
state is async; what the supervisor keeps (the store, the names, the listeners, the fault plans) is not.
A read that may cross processes is bounded by what its caller shows: a page of one tenant's journals,
one journal, the journals or mail-log lines since the caller's last read; the whole of what a part keeps
(`journals()`, `recent_log(machine)`) only where a caller needs all (the tests' records, tracking,
the labs' checks of a machine's log).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from simulator.core.clock import Clock
from simulator.core.config.store import ConfigStore
from simulator.core.mail.messages import HeldMessage
from simulator.core.reports.logformat import LogLine
from simulator.core.reports.status import DestinationStatus
from simulator.endpoints.faults import Fault
from simulator.endpoints.refused import RefusedAttempt

if TYPE_CHECKING:  # a type only: the endpoint's module imports aiosmtpd, which a supervisor never needs
    from simulator.endpoints.threat_defense import JournalRecord


@dataclass(frozen=True)
class JournalPage:
    """Some of one tenant's journals, newest first, and how many Threat Defense keeps for it."""

    total: int
    records: tuple[JournalRecord, ...]


@dataclass(frozen=True)
class JournalWindow:
    """The journals Threat Defense kept after a position (the n-th journal it received is at position
    n), oldest first: `records[0]` is at `first`; a position before `oldest` is no longer kept."""

    oldest: int
    first: int
    records: tuple[JournalRecord, ...]


@dataclass(frozen=True)
class Listeners:
    """Where a machine listens: its public (inbound) and private (relay) listener, (host, port)."""

    inbound: tuple[str, int]
    relay: tuple[str, int]


class RunningSandbox(Protocol):
    """A started sandbox, as the operator sees it; called on the sandbox's event loop. What reads a
    part's live state is async: the part may run in another process."""

    @property
    def clock(self) -> Clock: ...

    def config_store(self) -> ConfigStore:
        """The Submit/Commit store of the cluster configuration."""
        ...

    def machine_names(self) -> Sequence[str]:
        """Every machine, in topology order."""
        ...

    async def delivery_status(self, machine: str) -> list[DestinationStatus]:
        """Each destination queue of `machine` (BEHAVIOUR.md §6.1)."""
        ...

    async def recent_log(self, machine: str, since: int = 0, most: int | None = None) -> list[LogLine]:
        """The mail-log lines `machine` keeps in memory (the latest ones) after line number `since`
        (0: all of them), the last `most` of them (None: all), oldest first."""
        ...

    def log_file(self, machine: str) -> Path | None:
        """`machine`'s `mail.current`, which has every line (None without a data dir)."""
        ...

    async def quarantined(self, machine: str) -> list[HeldMessage]:
        """What `machine`'s quarantines hold."""
        ...

    async def release(self, machine: str, mid: int) -> str:
        """Release a quarantined message on `machine`: delivered, and copied, now."""
        ...

    async def deliver_now(self, machine: str, destination: str | None) -> int:
        """`delivernow` on `machine`: what waits for a retry (every destination, or one) is due now,
        and so is what is being delivered if its attempt fails; how many entries waited (retry counts
        kept)."""
        ...

    async def refused(self, endpoint: str) -> list[RefusedAttempt]:
        """The refused attempts `endpoint` keeps in memory (BEHAVIOUR.md §8.9), oldest first."""
        ...

    def listeners(self, machine: str) -> Listeners:
        """Where `machine`'s public and private listeners accept mail."""
        ...

    def tenants(self) -> tuple[str, ...]:
        """Threat Defense's tenants, by their message intake addresses (the first is the default)."""
        ...

    def td_mode(self) -> str:
        """Threat Defense's mode: "read" (verdicts only) or "read-write" (it remediates too)."""
        ...

    async def journals(self) -> list[JournalRecord]:
        """The journals Threat Defense keeps in memory (the latest), oldest first: every one (the
        tests' records); a page or a check reads `journal_page`, `journal` or `journals_after`."""
        ...

    async def journal_page(self, tenant: str, skip: int, count: int) -> JournalPage:
        """At most `count` of `tenant`'s kept journals after its newest `skip`, newest first, and how
        many it has."""
        ...

    async def journal(self, tenant: str, number: int) -> JournalRecord | None:
        """`tenant`'s journal `number`, if Threat Defense keeps it."""
        ...

    async def journals_after(self, position: int) -> JournalWindow:
        """The kept journals received after `position` (0: every kept one)."""
        ...

    async def configured(self) -> None:
        """Returns once every machine runs the committed configuration (at once in one process; with a
        process per machine, once each has acknowledged it). Every operation that commits awaits it."""
        ...

    def fault_plans(self) -> dict[str, tuple[Fault, ...]]:
        """The faults each endpoint is scripted with, by endpoint name."""
        ...

    async def apply_faults(self, endpoint: str, faults: Iterable[Fault]) -> None:
        """Replace an endpoint's fault plan (`down` stops it listening)."""
        ...
