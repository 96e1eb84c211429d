"""One delivery attempt of one batch: to where its route says, each entry to its outcome.

Design rule: a batch goes nowhere (a /dev/null route: delivered) or over one connection. A route's
hosts, lowest priority first, are tried in order for that connection only: a host that fails it
(connect, EHLO, STARTTLS: network or TLS) hands over to the next; once connected, failures are the
entries' own. Every entry of the batch moves on through the lifecycle table and ends in `settle`
with its parts, each delivered, deferred (to retry) or bounced; those moved values are what is logged,
settled and bounced. The destination's tally hears of every outcome. Wording lives in `delivery_log.py`.
Whatever handling one entry raises (its DSN, its log lines, its body that cannot be read, a bug) parks
that entry alone on its retry schedule (`park`: one Critical line, never raising); its batch-mates go
on. An entry's bytes are read (`read_body`) just before its transaction and dropped after it.
A connection carries at most `messages_per_connection` messages (BEHAVIOUR.md §4.3). Once its batch is
sent, a connection with room asks its queue for more (`Reuse.more`, which may wait a moment) while
the configuration it was opened under is still the committed one. Entries handed to it that find it
closed by the peer meanwhile (before, or as their MAIL crosses: no reply, or `421`), or a newer
configuration committed, go back to their queue untried (`Reuse.give_back`), no retry counted, for a
fresh connection at once. An entry given back as its MAIL crossed keeps the `Delivery start` line
written before it, with no outcome line: the vendor's forms have none for an attempt not made
(`Delayed:` or a copy's `delivery failed` would count a soft bounce, BEHAVIOUR.md §6.3, and a retry
wait that never happens). Its connection's `DCID n close` ends it; the fresh connection's `Delivery
start` and outcome follow.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from simulator.core.clock import Clock
from simulator.core.config.values import ConfigHolder, GatewayConfig, NextHop, SmtpRoute
from simulator.core.errors import (
    DeliveryError,
    NoRoute,
    PermanentDeliveryError,
    RetriesExhausted,
    TransientDeliveryError,
)
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import TDC_QUEUE, IdCounters, QueueEntry
from simulator.core.mail.routing import Resolution, resolve, route_for
from simulator.core.reports.status import DestinationTally
from simulator.gateway.bodies import read_body
from simulator.gateway.delivery_log import DeliveryLog
from simulator.gateway.outbound import OutboundSession

OnBounce = Callable[[QueueEntry, DeliveryError], None]
Settle = Callable[[QueueEntry, list[QueueEntry]], None]


class Reuse(Protocol):
    """How a batch's open connection gets more entries of its queue once its own are sent."""

    async def more(self, room: int) -> list[QueueEntry]:
        """At most `room` due entries of the batch's domain, moved to DELIVERING; none: it closes."""
        ...

    def give_back(self, entries: list[QueueEntry]) -> None:
        """Entries from `more` that were not tried: back to their queue as they were, due."""
        ...


@dataclass(frozen=True)
class Batch:
    """Entries taken from one destination queue, with that queue's tally and its way back."""

    destination: str
    entries: tuple[QueueEntry, ...]
    tally: DestinationTally
    settle: Settle  # an entry left the queue as these parts (delivered, deferred or bounced)
    reuse: Reuse | None = None  # None: the connection closes once `entries` are sent

    @property
    def domain(self) -> str:
        return self.entries[0].domain


class BatchDelivery:
    """Delivers the batches of every destination queue of one machine."""

    def __init__(
        self, holder: ConfigHolder, log: DeliveryLog, ids: IdCounters, clock: Clock,
        tls_client: ssl.SSLContext, on_bounce: OnBounce,
    ) -> None:
        self._holder, self._log, self._ids, self._clock = holder, log, ids, clock
        self._tls, self._on_bounce = tls_client, on_bounce

    async def deliver(self, batch: Batch) -> None:
        """Deliver `batch` where its route says: to nowhere, or over one connection."""
        config = self._holder.current
        try:
            resolution = resolve(batch.domain, config.routes, config.dns_zone)
        except NoRoute:
            resolution = Resolution()  # no host: the attempt fails as "No route", to be retried
        if resolution.discard:
            self._discard(batch, config.routes)
        else:
            await self._transmit(batch, resolution.hosts, config)

    def _discard(self, batch: Batch, routes: tuple[SmtpRoute, ...]) -> None:
        """A /dev/null route: every entry is finished, delivered to nowhere."""
        route = route_for(batch.domain, routes)
        for entry in batch.entries:
            delivered = entry.moved_to(MessageState.DELIVERED)
            self._log.discarded(delivered, route.domain if route else batch.domain)
            batch.tally.delivered += len(delivered.recipients)
            batch.settle(entry, [delivered])

    async def _transmit(self, batch: Batch, hosts: tuple[NextHop, ...], config: GatewayConfig) -> None:
        dcid = self._ids.next_dcid()
        pending = list(batch.entries)  # what is left is failed, or parked, with the connection
        try:
            if not hosts:
                raise TransientDeliveryError(f"No route for {batch.domain}", enhanced="4.4.0")
            async with contextlib.AsyncExitStack() as stack:
                session = await self._connect(stack, batch, dcid, hosts, config.hostname)
                await self._carry(session, batch, dcid, pending, config)
        except DeliveryError as error:
            self._fail_all(batch, dcid, pending, error)
        except Exception as bug:  # the connection's own bug (not one entry's): each entry waits for a retry
            for entry in pending:
                batch.settle(entry, [self.park(batch, entry, bug)])
        finally:
            self._log.closed(dcid)

    async def _carry(
        self, session: OutboundSession, batch: Batch, dcid: int, pending: list[QueueEntry],
        config: GatewayConfig,
    ) -> None:
        """Send `pending`; then, while the connection has room, what its queue hands it."""
        room = config.messages_per_connection
        handed = False  # `pending` came to this connection after it had waited
        while pending:
            entry = pending[0]
            stale = handed and (not session.is_open or self._holder.current is not config)
            parts = None if stale else await self._attempt(session, batch, dcid, entry, handed)
            if parts is None:  # the peer closed it, or a commit came, meanwhile: nothing was tried
                self._give_back(batch, pending)
                return
            batch.settle(pending.pop(0), parts)
            handed, room = False, room - 1
            if not pending and room > 0 and batch.reuse is not None and session.is_open \
                    and self._holder.current is config:
                pending.extend(await batch.reuse.more(room))
                handed = True

    @staticmethod
    def _give_back(batch: Batch, pending: list[QueueEntry]) -> None:
        assert batch.reuse is not None  # only what `more` handed over is given back
        batch.reuse.give_back(list(pending))
        pending.clear()

    async def _connect(
        self, stack: contextlib.AsyncExitStack, batch: Batch, dcid: int, hosts: tuple[NextHop, ...],
        hostname: str,
    ) -> OutboundSession:
        """A session with the first of `hosts` that takes the connection; else the last one's error."""
        for hop in hosts[:-1]:
            try:
                return await self._open(stack, batch, dcid, hop, hostname)
            except TransientDeliveryError as error:
                self._log.next_host(dcid, hop, error)
        return await self._open(stack, batch, dcid, hosts[-1], hostname)

    async def _open(
        self, stack: contextlib.AsyncExitStack, batch: Batch, dcid: int, hop: NextHop, hostname: str
    ) -> OutboundSession:
        """Connect to `hop`; the connection counts as out until `stack` closes it."""
        session = OutboundSession(hop, self._tls, batch.destination == TDC_QUEUE, hostname)
        try:
            await stack.enter_async_context(session)
        except DeliveryError:
            self._log.connected(dcid, session, hop)  # every DCID's line, before its failure's
            batch.tally.unreachable(self._clock.now())
            raise
        batch.tally.connected(self._clock.now())
        stack.callback(batch.tally.disconnected)
        self._log.connected(dcid, session, hop)
        return session

    def _fail_all(self, batch: Batch, dcid: int, entries: list[QueueEntry], error: DeliveryError) -> None:
        for entry in entries:
            batch.settle(entry, [self._failed_or_parked(batch, dcid, entry, error)])

    async def _attempt(
        self, session: OutboundSession, batch: Batch, dcid: int, entry: QueueEntry, handed: bool
    ) -> list[QueueEntry] | None:
        """`_send`, with any bug in handling the entry turned into a retry of that entry alone."""
        try:
            return await self._send(session, batch, dcid, entry, handed)
        except Exception as bug:
            return [self.park(batch, entry, bug)]

    async def _send(
        self, session: OutboundSession, batch: Batch, dcid: int, entry: QueueEntry, handed: bool
    ) -> list[QueueEntry] | None:
        """Deliver one entry; returns its parts: the delivered one, and each refused recipient's.
        None: `handed` to a waiting connection, it found that the peer had closed it at MAIL."""
        data = await read_body(entry.body)  # raises before the transaction: the entry is parked
        self._log.started(dcid, entry)
        try:
            response, refused = await session.send(entry.sender, entry.recipients, data)
        except DeliveryError as error:
            if handed and session.closed_at_mail:
                return None
            return [self._failed_or_parked(batch, dcid, entry, error)]
        accepted = entry.subset(r for r in entry.recipients if r not in refused) if refused else entry
        delivered = accepted.moved_to(MessageState.DELIVERED)
        self._log.done(dcid, delivered, response)
        batch.tally.delivered += len(delivered.recipients)
        return [delivered, *(self._failed_or_parked(batch, dcid, entry.subset([address]), refusal)
                             for address, refusal in refused.items())]

    def _failed_or_parked(
        self, batch: Batch, dcid: int, entry: QueueEntry, error: DeliveryError
    ) -> QueueEntry:
        """`_failed`; or, if handling the failure raised (its DSN could not be built...), parked."""
        try:
            return self._failed(batch, dcid, entry, error)
        except Exception as bug:
            return self.park(batch, entry, bug)

    def _failed(self, batch: Batch, dcid: int, entry: QueueEntry, error: DeliveryError) -> QueueEntry:
        """The entry deferred to retry, or bounced (5xx, or retries exhausted)."""
        if not isinstance(error, PermanentDeliveryError):
            try:
                deferred = entry.retried(entry.schedule.after_failure(self._clock.now()))
            except RetriesExhausted:
                pass
            else:
                self._log.delayed(dcid, deferred, error)
                batch.tally.soft_bounced += len(deferred.recipients)
                return deferred
        bounced = entry.moved_to(MessageState.BOUNCED)
        self._on_bounce(bounced, error)  # first: if the DSN cannot be made, the entry is parked instead
        self._log.bounced(dcid, bounced, error)
        batch.tally.hard_bounced += len(bounced.recipients)
        return bounced

    def park(self, batch: Batch, entry: QueueEntry, bug: Exception) -> QueueEntry:
        """Handling `entry` raised `bug`: logged once (Critical, with the MID), the entry waits for its
        next retry; once retries are exhausted it is finished as bounced, with no DSN."""
        try:
            parked = entry.retried(entry.schedule.after_failure(self._clock.now()))
        except RetriesExhausted:
            bounced = entry.moved_to(MessageState.BOUNCED)
            with contextlib.suppress(Exception):  # a log that fails here must not raise again
                self._log.given_up(bounced, bug)
            batch.tally.hard_bounced += len(bounced.recipients)
            return bounced
        with contextlib.suppress(Exception):
            self._log.parked(parked, bug)
        batch.tally.soft_bounced += len(parked.recipients)
        return parked
