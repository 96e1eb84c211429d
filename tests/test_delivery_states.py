"""The delivery path stores the lifecycle states it passes through: each entry taken for delivery is
settled as parts that are delivered, deferred or bounced, and what the queue and the spool keep for a
retry is deferred."""

from __future__ import annotations

import dataclasses
import socket

from fixtures.batches import CLOCK, ENTRY, LOCAL, deliver_batch
from simulator.core.config.values import GatewayConfig, NextHop, SmtpRoute
from simulator.core.errors import DeliveryError
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import QueueEntry
from simulator.core.mail.retry import MAX_RETRIES
from simulator.core.mail.samples import MessageFactory
from simulator.gateway.maillog import MailLog
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

S = MessageState
#: ENTRY waiting after its last allowed retry: the next failure bounces it.
WORN = dataclasses.replace(ENTRY, schedule=dataclasses.replace(ENTRY.schedule, failures=MAX_RETRIES),
                           state=S.DEFERRED)


@dataclasses.dataclass
class Outcome:
    """What delivering one batch settled (each taken entry with its parts) and bounced."""

    settled: list[tuple[QueueEntry, list[QueueEntry]]] = dataclasses.field(default_factory=list)
    bounced: list[tuple[QueueEntry, DeliveryError]] = dataclasses.field(default_factory=list)

    def states(self) -> list[tuple[MessageState, list[MessageState]]]:
        return [(taken.state, [part.state for part in parts]) for taken, parts in self.settled]


def deliver(entry: QueueEntry, config: GatewayConfig) -> Outcome:
    """Deliver `entry`, taken from its queue, in a batch of one, by routes that open no socket."""
    outcome = Outcome()
    outcome.settled = deliver_batch([entry], config, MailLog(CLOCK),
                                    lambda bounced, error: outcome.bounced.append((bounced, error)))
    return outcome


def test_a_dev_null_route_settles_the_entry_delivered() -> None:
    outcome = deliver(ENTRY, GatewayConfig(routes=(SmtpRoute(".com", discard=True),)))
    assert outcome.states() == [(S.DELIVERING, [S.DELIVERED])]
    assert outcome.bounced == []


def test_a_soft_failure_settles_the_entry_deferred_with_its_next_schedule() -> None:
    outcome = deliver(ENTRY, GatewayConfig())  # no route and no DNS record: "No route", to retry
    assert outcome.states() == [(S.DELIVERING, [S.DEFERRED])]
    [(_, [deferred])] = outcome.settled
    assert deferred.schedule == ENTRY.schedule.after_failure(CLOCK.now())
    assert outcome.bounced == []


def test_exhausted_retries_settle_the_entry_bounced_and_bounce_that_value() -> None:
    outcome = deliver(WORN, GatewayConfig())
    assert outcome.states() == [(S.DELIVERING, [S.BOUNCED])]
    [(bounced, error)] = outcome.bounced
    assert bounced.state is S.BOUNCED and error.reason == f"No route for {LOCAL}"


# --- over real sockets: what the queue and the spool keep ------------------------------------------


def dead_port() -> int:
    """A loopback port nobody listens on: bound, read back, closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_entries_put_back_for_retry_are_deferred_in_the_queue_and_the_spool(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    route = SmtpRoute(LOCAL, (NextHop("127.0.0.1", dead_port()),))
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(config, routes=(route,)))
    sent = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message())
    assert sent.accepted and sent.mid is not None
    tdc_sandbox.settle()
    assert [(entry.mid, entry.state) for entry in tdc_sandbox.queued(LOCAL)] == [(sent.mid, S.DEFERRED)]
    [spooled] = [entry for entry in tdc_sandbox.machine.spool.load().entries if entry.mid == sent.mid]
    assert spooled.state is S.DEFERRED and spooled.schedule.failures == 1
