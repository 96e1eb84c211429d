"""From an accepted message to queue entries: spool, log, split, scan, queue, copy.

Design rule: everything happens before the listener answers, against one configuration snapshot,
so the log reads in order and nothing accepted is only in a task that may not run. The original's
bytes get the gateway's trace headers prepended and are otherwise left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime

from simulator import connector, replies
from simulator.clock import Clock
from simulator.config import ConfigHolder, GatewayConfig, MailPolicy, domain_of
from simulator.inspection import MessageFacts, inspect
from simulator.journal import JournalSource
from simulator.lifecycle import MessageState, transition
from simulator.maillog import MailLog
from simulator.messages import Direction, IdCounters, QueueEntry, ReceivedMessage
from simulator.policies import split_by_policy
from simulator.replies import Reply
from simulator.retry import RetrySchedule
from simulator.scanning import Disposition, scan
from simulator.spool import Spool

OUTGOING_POLICIES = (MailPolicy("DEFAULT", anti_spam=False),)

Enqueue = Callable[[QueueEntry], None]


def with_trace_headers(message: ReceivedMessage, hostname: str, now: datetime) -> bytes:
    """The bytes the gateway delivers: its Received and X-IronPort-RemoteIP lines, then the original."""
    trace = (
        f"Received: from [{message.peer_ip}] by {hostname} with ESMTP id {message.mid};\r\n"
        f" {format_datetime(now)}\r\n"
        f"X-IronPort-RemoteIP: {message.peer_ip}\r\n"
    )
    return trace.encode("ascii") + message.raw


def by_domain(recipients: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """RIDs grouped by recipient domain, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for rid, address in enumerate(recipients):
        groups.setdefault(domain_of(address), []).append(rid)
    return {domain: tuple(rids) for domain, rids in groups.items()}


class Pipeline:
    """Takes accepted messages through the gateway's work queue."""

    def __init__(
        self, holder: ConfigHolder, log: MailLog, ids: IdCounters, spool: Spool, enqueue: Enqueue,
        clock: Clock,
    ) -> None:
        self._holder, self._log, self._ids = holder, log, ids
        self._spool, self._enqueue, self._clock = spool, enqueue, clock
        self.quarantined: dict[int, str] = {}

    async def accept(self, message: ReceivedMessage) -> Reply:
        """Keep, log and process `message`; the reply is what the listener answers."""
        try:
            await self._spool.store(message)
        except OSError as error:
            self._log.warning(f"MID {message.mid} could not be stored: {error.strerror or error}")
            return replies.CANNOT_STORE
        facts = inspect(message.raw)
        config = self._holder.current
        self._log_ready(message, facts)
        table = message.direction.value
        policies = config.incoming_policies if message.direction is Direction.INCOMING else (
            OUTGOING_POLICIES)
        for index, (policy, recipients) in enumerate(split_by_policy(message.rcpt_tos, policies)):
            mid = message.mid if index == 0 else self._ids.next_mid()
            if index:
                self._log.info(f"MID {message.mid} was split creating MID {mid} due to a "
                               f"per-recipient policy {policy.name} in the {table} table")
            self._log.info(f"MID {mid} matched all recipients for per-recipient policy "
                           f"{policy.name} in the {table} table")
            self._splinter(message, facts, config, mid, policy, recipients)
        return replies.MESSAGE_ACCEPTED.with_text(f"Ok: Message {message.mid} accepted")

    def _log_ready(self, message: ReceivedMessage, facts: MessageFacts) -> None:
        self._log.info(f"MID {message.mid} Message-ID '{facts.message_id}'")
        self._log.info(f"MID {message.mid} Subject {facts.subject!r}")
        self._log.info(f"MID {message.mid} ready {len(message.raw)} bytes from <{message.mail_from}>")

    def _splinter(
        self, message: ReceivedMessage, facts: MessageFacts, config: GatewayConfig, mid: int,
        policy: MailPolicy, recipients: tuple[str, ...],
    ) -> None:
        state = transition(MessageState.RECEIVED, MessageState.SCANNED)
        verdict = scan(mid, facts, policy)
        for line in verdict.log_lines:
            self._log.info(line)
        if verdict.disposition is Disposition.DROP:
            transition(state, MessageState.DROPPED)
            self._log.info(f"Message finished MID {mid} aborted")
        elif verdict.disposition is Disposition.QUARANTINE:
            transition(state, MessageState.QUARANTINED)
            self.quarantined[mid] = verdict.quarantine
        else:
            transition(state, MessageState.QUEUED)
            self._queue(message, facts, config, mid, recipients)

    def _queue(
        self, message: ReceivedMessage, facts: MessageFacts, config: GatewayConfig, mid: int,
        recipients: tuple[str, ...],
    ) -> None:
        now = self._clock.now()
        delivered = with_trace_headers(message, config.hostname, now)
        for domain, rids in by_domain(recipients).items():
            self._enqueue(QueueEntry(
                mid=mid, sender=message.mail_from, recipients=tuple(recipients[r] for r in rids),
                rids=rids, data=delivered, destination=domain,
                schedule=RetrySchedule.starting(now),
            ))
        self._log.info(f"MID {mid} queued for delivery")
        if connector.is_copied(message.direction, config):
            source = JournalSource(mid, message.mail_from, recipients, facts.subject,
                                   facts.message_id, delivered)
            copy = connector.journal_copy(source, config, self._ids.next_mid(), now)
            self._log.info(connector.created_line(copy.mid, mid, copy.recipients[0]))
            self._enqueue(copy)
            self._log.info(connector.queued_line(copy.mid))
