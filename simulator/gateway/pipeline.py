"""The shell around `processing.plan_message`: keep the plan on disk, then log and queue it.

Design rule: nothing is acknowledged that the spool did not keep. Everything the plan keeps (its
queue entries and held splinters) is stored as one unit before any of its log lines are written or
anything is queued or held in memory, so a message that could not be stored leaves no trace: no
file, no "queued" line, nothing in a quarantine; the listener answers `451 4.3.0` instead of 250.
What is queued and held is what the spool gives back: large bodies as references to its files.
A release reads the held body back (off the event loop); one that cannot be read stays held.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.core import replies
from simulator.core.clock import Clock
from simulator.core.config.values import ConfigHolder
from simulator.core.mail.inspection import inspect
from simulator.core.mail.messages import HeldMessage, IdCounters, QueueEntry, ReceivedMessage
from simulator.core.mail.processing import Plan, plan_message, plan_release
from simulator.core.replies import Reply
from simulator.gateway.bodies import UnreadableBody, read_body
from simulator.gateway.maillog import MailLog
from simulator.gateway.quarantine import Quarantines
from simulator.gateway.spool import Spool, Stored

Enqueue = Callable[[QueueEntry], None]


class Pipeline:
    """Takes accepted (and released) messages into the gateway's queues and quarantines."""

    def __init__(
        self, holder: ConfigHolder, log: MailLog, ids: IdCounters, spool: Spool, enqueue: Enqueue,
        clock: Clock, quarantines: Quarantines,
    ) -> None:
        self._holder, self._log, self._ids = holder, log, ids
        self._spool, self._enqueue, self._clock = spool, enqueue, clock
        self.quarantines = quarantines

    async def accept(self, message: ReceivedMessage) -> Reply:
        """Process, store, log and queue `message`; the reply is what the listener answers."""
        plan = plan_message(message, inspect(message.raw), self._holder.current,
                            self._ids.next_mid, self._clock.now())
        try:
            stored = await self._spool.store(plan.entries, plan.held)
        except OSError as error:
            self._log.warning(f"MID {message.mid} could not be stored, answered 451: "
                              f"{error.strerror or error}")
            self._log.info(f"Message finished MID {message.mid} aborted")
            return replies.CANNOT_STORE
        self.quarantines.hold(stored.held)
        self._carry_out(plan, stored.entries)
        return replies.MESSAGE_ACCEPTED.with_text(f"Ok: Message {message.mid} accepted")

    async def release(self, mid: int) -> str:
        """Release a quarantined message: queued for delivery and copied now (NotFound if none;
        `UnreadableBody`, logged and the message still held, if its bytes cannot be read back)."""
        held = self.quarantines.get(mid)
        self.quarantines.released(mid)  # a second release while this one runs finds nothing
        try:
            plan, stored = await self._stored_release(held)
        except BaseException:
            self.quarantines.hold([held])
            raise
        self._carry_out(plan, stored.entries)
        return f'Message {mid} released from quarantine "{held.quarantine}".'

    async def _stored_release(self, held: HeldMessage) -> tuple[Plan, Stored]:
        try:
            raw = await read_body(held.body)
        except UnreadableBody as error:
            self._log.critical(f"MID {held.mid} cannot be released, it stays in quarantine "
                               f'"{held.quarantine}": {error}')
            raise
        plan = plan_release(held, raw, inspect(raw), self._holder.current, self._ids.next_mid,
                            self._clock.now())
        return plan, await self._spool.store(plan.entries, releases=(held.mid,))

    def _carry_out(self, plan: Plan, entries: list[QueueEntry]) -> None:
        """A stored plan: its log lines, then its `entries` (as stored) into the queues."""
        for line in plan.log_lines:
            self._log.info(line)
        for entry in entries:
            self._enqueue(entry)
