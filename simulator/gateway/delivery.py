"""Destination queues and the workers that empty them, `the.tdc.queue` among them.

Design rule: one queue and one worker per destination; a worker takes what is due (at most
`messages_per_connection` entries), moves them to `DELIVERING`, hands them to `BatchDelivery` (one
connection), and puts back the parts that come back `DEFERRED`, with the schedule the retry value
gave them. Time is read from the clock; `poke` re-checks after the clock moved. Nothing taken from a
queue leaves it except as delivered or bounced. Each destination keeps a `DestinationTally`; its
status counts recipients queued or in flight as active.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import datetime, timedelta

from simulator.core.clock import Clock
from simulator.core.config.values import ConfigHolder
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import IdCounters, QueueEntry
from simulator.core.reports.status import DestinationStatus, DestinationTally
from simulator.gateway.batch_delivery import Batch, BatchDelivery, OnBounce
from simulator.gateway.delivery_log import DeliveryLog
from simulator.gateway.maillog import MailLog
from simulator.gateway.spool import Spool

#: Connections a destination may have open at once, each carrying its own batch.
CONNECTIONS_PER_DESTINATION = 4
LONGEST_NAP = timedelta(minutes=5)


class Destination:
    """The entries waiting for one destination, and its worker's bookkeeping."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: list[QueueEntry] = []
        self.wake = asyncio.Event()
        self.in_flight = 0  # entries of the batches being delivered (until their connections close)
        self.unsettled = 0  # recipients of those batches not yet delivered, bounced or put back
        self.tally = DestinationTally()
        self.tasks: list[asyncio.Task[None]] = []

    def take_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        """Remove and return up to `limit` due entries of one domain (one route), oldest first."""
        taken: list[QueueEntry] = []
        waiting: list[QueueEntry] = []
        for entry in self.entries:  # one pass, no comparisons of whole entries (they hold the bytes)
            fits = len(taken) < limit and (not taken or entry.domain == taken[0].domain)
            (taken if fits and entry.schedule.is_due(now) else waiting).append(entry)
        self.entries = waiting
        return taken

    def has_due(self, now: datetime) -> bool:
        return any(entry.schedule.is_due(now) for entry in self.entries)

    def nap(self, now: datetime) -> float:
        """Seconds until the next entry is due (capped)."""
        waits = [entry.schedule.next_attempt - now for entry in self.entries]
        return min([LONGEST_NAP, *waits]).total_seconds()

    def status(self) -> DestinationStatus:
        """Delivery status now: active recipients are those queued or in flight."""
        queued = sum(len(entry.recipients) for entry in self.entries)
        return self.tally.snapshot(self.name, queued + self.unsettled)


class DeliveryQueues:
    """All destination queues of one machine."""

    def __init__(
        self, holder: ConfigHolder, log: MailLog, ids: IdCounters, clock: Clock,
        tls_client: ssl.SSLContext, spool: Spool, on_bounce: OnBounce = lambda entry, error: None,
    ) -> None:
        self._holder, self._clock, self._spool = holder, clock, spool
        self._log = DeliveryLog(log)
        self._batches = BatchDelivery(holder, self._log, ids, clock, tls_client, on_bounce)
        self.destinations: dict[str, Destination] = {}
        self._changed = asyncio.Event()
        self._stopping = False

    def enqueue(self, entry: QueueEntry) -> None:
        """Put `entry` in its destination's queue and wake that worker."""
        destination = self.destinations.get(entry.destination)
        if destination is None:
            destination = self.destinations[entry.destination] = Destination(entry.destination)
            loop = asyncio.get_running_loop()
            destination.tasks = [loop.create_task(self._work(destination))
                                 for _ in range(CONNECTIONS_PER_DESTINATION)]
        destination.entries.append(entry)
        destination.wake.set()
        self._changed.set()

    def poke(self) -> None:
        """Re-check every queue (call after the clock moved or the routes changed)."""
        for destination in self.destinations.values():
            destination.wake.set()
        self._changed.set()

    def status(self) -> list[DestinationStatus]:
        """Every destination's delivery status (BEHAVIOUR.md §6.1), by name."""
        return [self.destinations[name].status() for name in sorted(self.destinations)]

    def next_attempt(self) -> datetime | None:
        """When the earliest waiting entry is due (None when every queue is empty)."""
        times = [e.schedule.next_attempt for d in self.destinations.values() for e in d.entries]
        return min(times, default=None)

    def is_idle(self) -> bool:
        """Nothing in flight and nothing due: what is left waits for a retry."""
        now = self._clock.now()
        return all(not d.in_flight and not d.has_due(now) for d in self.destinations.values())

    async def wait_idle(self) -> None:
        """Return once `is_idle()` holds."""
        while not self.is_idle():
            self._changed.clear()
            await self._changed.wait()

    async def stop(self) -> None:
        """Stop every worker, even one whose cancellation a client library swallowed."""
        self._stopping = True
        for destination in self.destinations.values():
            destination.wake.set()
            for task in destination.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _work(self, destination: Destination) -> None:
        while not self._stopping:
            limit = self._holder.current.messages_per_connection
            batch = destination.take_due(self._clock.now(), limit)
            if batch:
                await self._deliver(destination, batch)
            else:
                await self._nap(destination)

    async def _nap(self, destination: Destination) -> None:
        """Wait until woken or until the next entry is due."""
        destination.wake.clear()
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(destination.nap(self._clock.now())):
                await destination.wake.wait()

    async def _deliver(self, destination: Destination, batch: list[QueueEntry]) -> None:
        recipients = sum(len(entry.recipients) for entry in batch)
        settled = [0]  # recipients of this batch settled so far (other batches run alongside)
        destination.in_flight += len(batch)
        destination.unsettled += recipients

        def settle(taken: QueueEntry, parts: list[QueueEntry]) -> None:
            settled[0] += len(taken.recipients)
            self._settle(destination, taken, parts)

        try:
            entries = tuple(entry.moved_to(MessageState.DELIVERING) for entry in batch)
            await self._batches.deliver(Batch(destination.name, entries, destination.tally, settle))
        finally:
            destination.in_flight -= len(batch)
            destination.unsettled -= recipients - settled[0]
            self._changed.set()

    def _settle(self, destination: Destination, taken: QueueEntry, parts: list[QueueEntry]) -> None:
        """Record on disk that `taken` is done and its deferred parts wait; then queue those again."""
        deferred = [part for part in parts if part.state is MessageState.DEFERRED]
        try:
            self._spool.replace(taken, deferred)
        except OSError as error:  # the in-memory queue still holds them: nothing is lost while we run
            self._log.spool_trouble(taken, error)
        destination.unsettled -= len(taken.recipients)
        destination.entries.extend(deferred)
