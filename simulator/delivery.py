"""Destination queues and the workers that empty them, `the.tdc.queue` among them.

Design rule: one queue and one worker per destination; a worker takes what is due (at most
`messages_per_connection` entries), delivers them over one connection, and puts failures back with
the schedule the retry value gives. Time is read from the clock; `poke` re-checks after the clock
moved. Nothing taken from a queue leaves it except as delivered or bounced.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta

from simulator.clock import Clock
from simulator.config import ConfigHolder
from simulator.delivery_log import DeliveryLog
from simulator.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from simulator.lifecycle import MessageState
from simulator.maillog import MailLog
from simulator.messages import TDC_QUEUE, IdCounters, QueueEntry
from simulator.outbound import OutboundSession
from simulator.retry import RetriesExhausted
from simulator.routing import NoRoute, resolve
from simulator.spool import Spool

OnBounce = Callable[[QueueEntry, DeliveryError], None]

LONGEST_NAP = timedelta(minutes=5)


class Destination:
    """The entries waiting for one destination, and its worker's bookkeeping."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: list[QueueEntry] = []
        self.wake = asyncio.Event()
        self.in_flight = 0
        self.task: asyncio.Task[None] | None = None

    def take_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        """Remove and return up to `limit` due entries, oldest first."""
        due = [entry for entry in self.entries if entry.schedule.is_due(now)][:limit]
        self.entries = [entry for entry in self.entries if entry not in due]
        return due

    def has_due(self, now: datetime) -> bool:
        return any(entry.schedule.is_due(now) for entry in self.entries)

    def nap(self, now: datetime) -> float:
        """Seconds until the next entry is due (capped)."""
        waits = [entry.schedule.next_attempt - now for entry in self.entries]
        return min([LONGEST_NAP, *waits]).total_seconds()


class DeliveryQueues:
    """All destination queues of one machine."""

    def __init__(
        self, holder: ConfigHolder, log: MailLog, ids: IdCounters, clock: Clock,
        tls_client: ssl.SSLContext, spool: Spool, on_bounce: OnBounce = lambda entry, error: None,
    ) -> None:
        self._holder, self._ids, self._clock, self._tls = holder, ids, clock, tls_client
        self._spool, self._on_bounce = spool, on_bounce
        self._log = DeliveryLog(log)
        self.destinations: dict[str, Destination] = {}
        self._changed = asyncio.Event()
        self._stopping = False

    def enqueue(self, entry: QueueEntry) -> None:
        """Put `entry` in its destination's queue and wake that worker."""
        destination = self.destinations.get(entry.destination)
        if destination is None:
            destination = self.destinations[entry.destination] = Destination(entry.destination)
            destination.task = asyncio.get_running_loop().create_task(self._work(destination))
        destination.entries.append(entry)
        destination.wake.set()
        self._changed.set()

    def poke(self) -> None:
        """Re-check every queue (call after the clock moved or the routes changed)."""
        for destination in self.destinations.values():
            destination.wake.set()
        self._changed.set()

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
            if destination.task is not None:
                destination.wake.set()
                destination.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await destination.task

    async def _work(self, destination: Destination) -> None:
        while not self._stopping:
            limit = self._holder.current.messages_per_connection
            batch = destination.take_due(self._clock.now(), limit)
            if not batch:
                destination.wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(destination.nap(self._clock.now())):
                        await destination.wake.wait()
                continue
            destination.in_flight = len(batch)
            try:
                await self._deliver(destination, [e.moved_to(MessageState.DELIVERING) for e in batch])
            finally:
                destination.in_flight = 0
                self._changed.set()

    async def _deliver(self, destination: Destination, batch: list[QueueEntry]) -> None:
        config = self._holder.current
        dcid = self._ids.next_dcid()
        pending = list(batch)
        try:
            hop = resolve(batch[0].domain, config.routes, config.dns_zone).hosts[0]
            require_tls = destination.name == TDC_QUEUE
            async with OutboundSession(hop, self._tls, require_tls, config.hostname) as session:
                self._log.connected(dcid, session, hop)
                while pending:
                    self._settle(destination, pending[0], await self._send(session, dcid, pending[0]))
                    pending.pop(0)
        except NoRoute as missing:
            self._fail_all(destination, dcid, pending,
                           TransientDeliveryError(f"No route for {missing}", enhanced="4.4.0"))
        except DeliveryError as error:
            self._fail_all(destination, dcid, pending, error)
        except Exception as bug:  # a bug here must not lose mail: log it loudly, keep the entries
            self._log.unexpected(dcid, bug)
            self._fail_all(destination, dcid, pending, TransientDeliveryError("Internal error"))
        finally:
            self._log.closed(dcid)

    def _fail_all(
        self, destination: Destination, dcid: int, entries: list[QueueEntry], error: DeliveryError
    ) -> None:
        for entry in entries:
            self._settle(destination, entry, self._failed(dcid, entry, error))

    async def _send(self, session: OutboundSession, dcid: int, entry: QueueEntry) -> list[QueueEntry]:
        """Deliver one entry; returns what remains of it to retry (refused recipients)."""
        self._log.started(dcid, entry)
        try:
            response, refused = await session.send(entry.sender, entry.recipients, entry.data)
        except DeliveryError as error:
            return self._failed(dcid, entry, error)
        accepted = [r for r in entry.recipients if r not in refused]
        self._log.done(dcid, entry.subset(accepted), response)
        return [successor for address, refusal in refused.items()
                for successor in self._failed(dcid, entry.subset([address]), refusal)]

    def _failed(self, dcid: int, entry: QueueEntry, error: DeliveryError) -> list[QueueEntry]:
        """The entry to retry, or none when it is hard-bounced (5xx, or retries exhausted)."""
        if not isinstance(error, PermanentDeliveryError):
            try:
                schedule = entry.schedule.after_failure(self._clock.now())
            except RetriesExhausted:
                pass
            else:
                self._log.delayed(dcid, entry, error)
                return [entry.retried(schedule)]
        bounced = entry.moved_to(MessageState.BOUNCED)
        self._log.bounced(dcid, bounced, error)
        self._on_bounce(bounced, error)
        return []

    def _settle(self, destination: Destination, entry: QueueEntry, successors: list[QueueEntry]) -> None:
        """Record on disk that `entry` is done and `successors` wait; then queue the successors."""
        try:
            self._spool.replace(entry, successors)
        except OSError as error:  # the in-memory queue still holds them: nothing is lost while we run
            self._log.spool_trouble(entry, error)
        destination.entries.extend(successors)
