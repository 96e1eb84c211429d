"""Destination queues and the workers that empty them, `the.tdc.queue` among them.

Design rule: one queue and its workers per destination; a worker takes what is due (at most
`messages_per_connection` entries), moves them to `DELIVERING`, hands them to `BatchDelivery` (one
connection), and puts back the parts that come back `DEFERRED`, with the schedule the retry value
gave them. Time is read from the clock; `poke` re-checks after the clock moved; `deliver_now` (the
operator's `delivernow`) makes what waits for a retry due at once, and what is out in a batch at that
moment due at once if it comes back deferred (the operator asked for it *now*, not after a first wait);
each keeps its retry count, so the bounce profile's limits still hold. Nothing taken from a
queue leaves it except as delivered or bounced. No worker dies of an entry: whatever handling a batch
raises parks each entry it had not settled on its retry schedule (`BatchDelivery.park`). A queue
empty and idle for `IDLE_RELEASE` lets its workers end; its `DestinationTally` stays (its status
counts recipients queued or in flight as active) and the next entry starts them again.
A connection that has sent its batch and has room for more (BEHAVIOUR.md §4.3: at most
`messages_per_connection`) takes the due entries of its domain at once, else lingers: it waits, in real
time, up to `LINGER` for its queue to get one (`enqueue` hands it a new entry of its domain rather than
waking a worker that would open another connection). A lingering connection is open: it counts in
Connections Out, and its worker is busy. Lingering ends at once on `stop` (QUIT sent), `poke` (a commit,
a clock moved), `delivernow`, `wait_idle` (a settled gateway has no connection out) and when the queue
holds a due entry of another domain. It never holds back what is due by the clock, manual or not:
`poke` looks again. The module is longer than most: a queue's workers and their connections' reuse
share their bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Iterable
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

QueueSettle = Callable[["Destination", QueueEntry, list[QueueEntry]], None]
More = Callable[["InFlight", int], Awaitable[list[QueueEntry]]]

#: Connections a destination may have open at once, each carrying its own batch.
CONNECTIONS_PER_DESTINATION = 4
LONGEST_NAP = timedelta(minutes=5)
#: How long a destination's queue stays empty, nothing in flight, before its workers end.
IDLE_RELEASE = timedelta(minutes=5)
#: A worker that hit a bug outside any batch waits this long (real time) before it goes on.
PAUSE_AFTER_BUG = 1.0
#: How long (real time) an open connection with room waits for more of its queue: our choice. It
#: spans the gap between paced messages (tens a second) so that each does not pay a new connection
#: and STARTTLS, and is short enough that a quiet queue closes its connection soon.
LINGER = 0.5
#: How long `stop` lets lingering connections say QUIT before it cancels their workers.
QUIT_GRACE = 1.0


class Destination:
    """The entries waiting for one destination, and its worker's bookkeeping."""

    def __init__(self, name: str, now: datetime) -> None:
        self.name = name
        self.entries: list[QueueEntry] = []
        self.wake = asyncio.Event()
        self.in_flight = 0  # entries of the batches being delivered (until their connections close)
        self.unsettled = 0  # recipients of those batches not yet delivered, bounced or put back
        self.tally = DestinationTally()
        self.tasks: list[asyncio.Task[None]] = []  # its workers; none once it was idle for a while
        self.last_busy = now  # when an entry last came in or a batch last ended
        self.deliver_now_calls = 0  # how often `delivernow` reached this queue (batches compare it)
        self.lingering: dict[asyncio.Task[None], str] = {}  # workers whose connection waits: its domain
        self.linger_news = asyncio.Event()  # something lingering connections must look at
        self.linger_generation = 0  # raised to end every linger (and the reuse of open connections)

    def end_lingering(self) -> None:
        """Every open connection of this queue closes once its batch is sent, or now if it waits."""
        self.linger_generation += 1
        self.linger_news.set()

    def is_released(self, now: datetime) -> bool:
        """Empty, nothing in flight, and so for `IDLE_RELEASE`: its workers may end."""
        return not self.entries and not self.in_flight and now - self.last_busy >= IDLE_RELEASE

    def take_due(self, now: datetime, limit: int, domain: str | None = None) -> list[QueueEntry]:
        """Remove and return up to `limit` due entries of one domain (one route; `domain` if given),
        oldest first."""
        return self.take_due_noting(now, limit, domain)[0]

    def take_due_noting(
        self, now: datetime, limit: int, domain: str | None = None
    ) -> tuple[list[QueueEntry], set[str]]:
        """`take_due`, and the domains of the due entries it left in the queue."""
        taken: list[QueueEntry] = []
        waiting: list[QueueEntry] = []
        due_left: set[str] = set()
        for entry in self.entries:  # one pass, no comparisons of whole entries (small ones hold bytes)
            if not entry.schedule.is_due(now):
                waiting.append(entry)
                continue
            domain = domain or entry.domain  # unless given, the first due entry's
            if len(taken) < limit and entry.domain == domain:
                taken.append(entry)
            else:
                waiting.append(entry)
                due_left.add(entry.domain)
        self.entries = waiting
        return taken, due_left

    def deliver_now(self, now: datetime) -> int:
        """Make every entry waiting for a retry due at once (its retry count kept); how many. The
        batches out now see the call when they settle (`InFlight.settle`)."""
        self.deliver_now_calls += 1
        waiting = [index for index, entry in enumerate(self.entries) if not entry.schedule.is_due(now)]
        for index in waiting:
            self.entries[index] = self.entries[index].due_now()
        return len(waiting)

    def has_due(self, now: datetime) -> bool:
        return any(entry.schedule.is_due(now) for entry in self.entries)

    def nap(self, now: datetime) -> float:
        """Seconds until the next entry is due, or the queue may be released (capped)."""
        waits = [entry.schedule.next_attempt - now for entry in self.entries]
        if not self.entries:
            waits.append(self.last_busy + IDLE_RELEASE - now)
        return min([LONGEST_NAP, *waits]).total_seconds()

    def status(self) -> DestinationStatus:
        """Delivery status now: active recipients are those queued or in flight."""
        return self.tally.snapshot(self.name, _recipients(self.entries) + self.unsettled)


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
        self._settling = 0  # callers of `wait_idle` waiting: no connection starts to linger

    def enqueue(self, entry: QueueEntry) -> None:
        """Put `entry` in its destination's queue and wake its workers (started if released)."""
        now = self._clock.now()
        destination = self.destinations.get(entry.destination)
        if destination is None:
            destination = self.destinations[entry.destination] = Destination(entry.destination, now)
        destination.entries.append(entry)
        destination.last_busy = now
        loop = asyncio.get_running_loop()
        while len(destination.tasks) < CONNECTIONS_PER_DESTINATION and not self._stopping:
            destination.tasks.append(loop.create_task(self._work(destination)))
        if destination.lingering:  # one of its domain takes it; others leave for it
            destination.linger_news.set()
        if entry.domain not in destination.lingering.values():
            destination.wake.set()
        self._changed.set()

    def poke(self) -> None:
        """Re-check every queue (call after the clock moved or the routes changed)."""
        for destination in self.destinations.values():
            destination.end_lingering()
            destination.wake.set()
        self._changed.set()

    def deliver_now(self, destination: str | None = None) -> int:
        """`delivernow`: what waits for a retry in every queue, or in `destination`'s (any case), is due
        at once and its workers wake; how many entries. An entry out in a batch now finishes its
        attempt; if that fails it is due at once too (not counted here)."""
        now = self._clock.now()
        chosen = [queue for name, queue in self.destinations.items()
                  if destination is None or name.lower() == destination.lower()]
        rescheduled = sum(queue.deliver_now(now) for queue in chosen)
        for queue in chosen:
            queue.end_lingering()
            queue.wake.set()  # a queue holding entries keeps its workers: waking them is enough
        self._changed.set()
        return rescheduled

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
        """Return once `is_idle()` holds and the spool has recorded what the queues settled; no
        connection lingers meanwhile (those that do close), so none is out when it returns."""
        self._settling += 1
        try:
            for destination in self.destinations.values():
                destination.end_lingering()
            while not self.is_idle():
                self._changed.clear()
                await self._changed.wait()
        finally:
            self._settling -= 1
        await self._spool.settled()

    async def stop(self) -> None:
        """Stop every worker, even one whose cancellation a client library swallowed; a lingering
        connection says QUIT first (for `QUIT_GRACE` at most)."""
        self._stopping = True
        lingering = [task for destination in self.destinations.values() for task in destination.lingering]
        for destination in self.destinations.values():
            destination.end_lingering()
            destination.wake.set()
        if lingering:
            await asyncio.wait(lingering, timeout=QUIT_GRACE)
        for destination in self.destinations.values():
            for task in list(destination.tasks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _work(self, destination: Destination) -> None:
        """Deliver what is due until stopped, or until the queue was idle long enough."""
        while not self._stopping and not destination.is_released(self._clock.now()):
            try:
                await self._round(destination)
            except Exception as bug:  # not reached by an entry's trouble (parked in `_deliver`)
                with contextlib.suppress(Exception):  # a log that fails here must not end the worker
                    self._log.worker_trouble(destination.name, bug)
                await asyncio.sleep(PAUSE_AFTER_BUG)  # never a tight loop
        # no await since the check above: an entry queued from now on starts a new worker
        worker = asyncio.current_task()
        if worker in destination.tasks:
            destination.tasks.remove(worker)

    async def _round(self, destination: Destination) -> None:
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
        flight = InFlight(destination, batch, self._settle, self._more)
        try:
            await self._batches.deliver(flight.batch)
        except Exception as bug:  # e.g. the routing step: each entry not yet settled waits for a retry
            for entry in flight.unsettled():
                flight.settle(entry, [self._batches.park(flight.batch, entry, bug)])
        finally:
            flight.land(self._clock.now())
            self._changed.set()

    async def _more(self, flight: InFlight, room: int) -> list[QueueEntry]:
        """For `flight`'s open connection: at most `room` due entries of its domain, lingering up to
        `LINGER` for one; none (the connection closes) once lingering ends."""
        destination, loop = flight.destination, asyncio.get_running_loop()
        deadline = loop.time() + LINGER
        while not self._stopping and flight.generation == destination.linger_generation:
            taken, due_left = destination.take_due_noting(self._clock.now(), room, flight.domain)
            if taken:
                if due_left:  # what it has no room for: another connection
                    destination.wake.set()
                return flight.add(taken)
            left = deadline - loop.time()
            claimed = {flight.domain, *destination.lingering.values()}
            if left <= 0 or self._settling or due_left - claimed:  # due ones no connection here takes
                break
            await self._linger(destination, flight.domain, left)
        return []

    async def _linger(self, destination: Destination, domain: str, seconds: float) -> None:
        """Wait until the queue has news for lingering connections, or `seconds` (real time) pass."""
        worker = asyncio.current_task()
        assert worker is not None  # a worker is a task
        destination.lingering[worker] = domain
        destination.linger_news.clear()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await destination.linger_news.wait()
        finally:
            destination.lingering.pop(worker, None)

    def _settle(self, destination: Destination, taken: QueueEntry, parts: list[QueueEntry]) -> None:
        """Record on disk that `taken` is done and its deferred parts wait; then queue those again."""
        deferred = [part for part in parts if part.state is MessageState.DEFERRED]
        destination.unsettled -= len(taken.recipients)
        destination.entries.extend(deferred)
        def trouble(error: Exception) -> None:  # the in-memory queue still holds them: nothing is lost
            self._log.spool_trouble(taken, error)

        try:
            self._spool.replace(taken, deferred, trouble)  # its file work is logged when done off the loop
        except Exception as error:
            trouble(error)


class InFlight:
    """One batch out of its queue, and what its connection takes after it: counted in flight until
    the connection closes; knows which entries are out and not settled, as their queue held them."""

    def __init__(
        self, destination: Destination, batch: list[QueueEntry], settle: QueueSettle, more: More,
    ) -> None:
        self.destination, self._settle, self._more = destination, settle, more
        self.generation = destination.linger_generation  # ended by a poke, a commit, delivernow...
        self._out: dict[str, QueueEntry] = {}  # by key (never compare whole entries): not settled yet
        self._taken = 0  # entries taken (settled ones too): in flight until the connection closes
        self._deliver_now_calls = destination.deliver_now_calls
        self.batch = Batch(destination.name, tuple(self.add(batch)), destination.tally, self.settle,
                           self)

    @property
    def domain(self) -> str:
        return self.batch.domain

    def add(self, taken: list[QueueEntry]) -> list[QueueEntry]:
        """Entries taken from the queue for this flight's connection: DELIVERING, counted in flight."""
        self._out.update((entry.key, entry) for entry in taken)
        self._count(taken, 1)
        return [entry.moved_to(MessageState.DELIVERING) for entry in taken]

    async def more(self, room: int) -> list[QueueEntry]:
        return await self._more(self, room)

    def give_back(self, entries: list[QueueEntry]) -> None:
        """Entries this flight took but never tried: first in their queue again, as they were."""
        returned = [self._out.pop(entry.key) for entry in entries]
        self._count(returned, -1)
        self.destination.entries[:0] = returned
        self.destination.wake.set()

    def settle(self, taken: QueueEntry, parts: list[QueueEntry]) -> None:
        if self.destination.deliver_now_calls != self._deliver_now_calls:  # delivernow while out
            parts = [part.due_now() if part.state is MessageState.DEFERRED else part for part in parts]
        self._out.pop(taken.key, None)
        self._settle(self.destination, taken, parts)

    def unsettled(self) -> list[QueueEntry]:
        return [entry.moved_to(MessageState.DELIVERING) for entry in self._out.values()]

    def land(self, now: datetime) -> None:
        """The connection closed: what it did not settle no longer counts as active."""
        self.destination.in_flight -= self._taken
        self.destination.unsettled -= _recipients(self._out.values())
        self.destination.last_busy = now

    def _count(self, entries: list[QueueEntry], sign: int) -> None:
        """`entries` taken (`sign` 1) or given back (-1): counted in flight, their recipients active."""
        self._taken += sign * len(entries)
        self.destination.in_flight += sign * len(entries)
        self.destination.unsettled += sign * _recipients(entries)


def _recipients(entries: Iterable[QueueEntry]) -> int:
    return sum(len(entry.recipients) for entry in entries)
