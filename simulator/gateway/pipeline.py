"""The shell around `processing.plan_message`: keep the plan on disk, then log and queue it.

Design rule: nothing is acknowledged that the spool did not keep. The plan is stored before any
of its log lines are written, so a message that could not be stored leaves no "queued" line, and
the listener answers `451 4.3.0` instead of 250.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator.core import replies
from simulator.core.clock import Clock
from simulator.core.config.values import ConfigHolder
from simulator.core.mail.inspection import inspect
from simulator.core.mail.messages import IdCounters, QueueEntry, ReceivedMessage
from simulator.core.mail.processing import Plan, plan_message, plan_release
from simulator.core.replies import Reply
from simulator.gateway.maillog import MailLog
from simulator.gateway.quarantine import Quarantines
from simulator.gateway.spool import Spool

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
            await self.quarantines.hold(plan.held)
            await self._spool.store(plan.entries)
        except OSError as error:
            self._log.warning(f"MID {message.mid} could not be stored, answered 451: "
                              f"{error.strerror or error}")
            self._log.info(f"Message finished MID {message.mid} aborted")
            return replies.CANNOT_STORE
        self._carry_out(plan)
        return replies.MESSAGE_ACCEPTED.with_text(f"Ok: Message {message.mid} accepted")

    async def release(self, mid: int) -> str:
        """Release a quarantined message: queued for delivery and copied now (NotFound if none)."""
        held = self.quarantines.get(mid)
        plan = plan_release(held, inspect(held.message.raw), self._holder.current,
                            self._ids.next_mid, self._clock.now())
        await self._spool.store(plan.entries)
        self.quarantines.released(mid)
        self._carry_out(plan)
        return f'Message {mid} released from quarantine "{held.quarantine}".'

    def _carry_out(self, plan: Plan) -> None:
        """A stored plan: its log lines, then its entries into the queues."""
        for line in plan.log_lines:
            self._log.info(line)
        for entry in plan.entries:
            self._enqueue(entry)
