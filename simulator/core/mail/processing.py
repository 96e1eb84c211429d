"""From an accepted message to a plan: the log lines to write and the queue entries to keep.

Design rule: pure. Splitting by policy, scanning, the trace headers and the connector's copy are
decided here against one configuration snapshot; `gateway/pipeline.py` stores the plan, then logs and
queues it. As the vendor does, every split is logged (its MIDs taken) before any splinter is
matched, scanned or queued. Splinters keep the original's RIDs, so a RID means the same recipient everywhere.
Dropping, quarantining and releasing are decisions of the plan, not stored states: the lifecycle
table (`lifecycle.py`) starts with the queue entries a plan makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from simulator.core.config.values import GatewayConfig, MailPolicy, domain_of
from simulator.core.mail import connector
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.inspection import MessageFacts
from simulator.core.mail.journal import JournalSource
from simulator.core.mail.messages import Direction, HeldMessage, QueueEntry, ReceivedMessage
from simulator.core.mail.policies import split_by_policy
from simulator.core.mail.retry import RetrySchedule
from simulator.core.mail.scanning import Disposition, scan

OUTGOING_POLICIES = (MailPolicy("DEFAULT", anti_spam=False),)


@dataclass
class Plan:
    """What processing one message decided."""

    log_lines: list[str] = field(default_factory=list)
    entries: list[QueueEntry] = field(default_factory=list)
    held: list[HeldMessage] = field(default_factory=list)  # for the quarantines


def with_trace_headers(message: ReceivedMessage, hostname: str, now: datetime) -> bytes:
    """The bytes the gateway delivers: its Received and X-IronPort-RemoteIP lines, then the original."""
    trace = (
        f"Received: from [{message.peer_ip}] by {hostname} with ESMTP id {message.mid};\r\n"
        f" {format_datetime(now)}\r\n"
        f"X-IronPort-RemoteIP: {message.peer_ip}\r\n"
    )
    return trace.encode("ascii") + message.raw


def by_domain(rids: tuple[int, ...], recipients: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    """RIDs grouped by their recipient's domain, in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for rid in rids:
        groups.setdefault(domain_of(recipients[rid]), []).append(rid)
    return {domain: tuple(group) for domain, group in groups.items()}


def plan_message(
    message: ReceivedMessage, facts: MessageFacts, config: GatewayConfig,
    next_mid: Callable[[], int], now: datetime,
) -> Plan:
    """Everything the gateway does with `message` before it answers 250."""
    plan = Plan([f"MID {message.mid} Message-ID '{facts.message_id}'",
                 f"MID {message.mid} Subject {facts.subject!r}",
                 f"MID {message.mid} ready {len(message.raw)} bytes from <{message.mail_from}>"])
    policies = _policies(message.direction, config)
    delivered = with_trace_headers(message, config.hostname, now)  # once: the splinters share it
    table = message.direction.value
    unassigned: dict[str, list[int]] = {}
    for rid, address in enumerate(message.rcpt_tos):
        unassigned.setdefault(address, []).append(rid)
    splits = split_by_policy(message.rcpt_tos, policies)
    mids = [message.mid, *(next_mid() for _ in splits[1:])]
    for mid, (policy, _) in zip(mids[1:], splits[1:], strict=True):  # the vendor logs every split first
        plan.log_lines.append(f"MID {message.mid} was split creating MID {mid} due to a "
                              f"per-recipient policy {policy.name} in the {table} table")
    for mid, (policy, recipients) in zip(mids, splits, strict=True):
        plan.log_lines.append(f"MID {mid} matched all recipients for per-recipient policy "
                              f"{policy.name} in the {table} table")
        rids = tuple(unassigned[address].pop(0) for address in recipients)
        _splinter(plan, message, delivered, facts, config, mid, policy, rids, next_mid, now)
    return plan


def plan_release(
    held: HeldMessage, raw: bytes, facts: MessageFacts, config: GatewayConfig,
    next_mid: Callable[[], int], now: datetime,
) -> Plan:
    """A quarantined splinter released (`raw`: its body's bytes, read): queued for delivery and,
    being safe now, copied."""
    policies = _policies(held.message.direction, config)
    policy = next((p for p in policies if p.name == held.policy), policies[-1])
    plan = Plan([f'MID {held.mid} released from quarantine "{held.quarantine}"'])
    message = held.received(raw)
    delivered = with_trace_headers(message, config.hostname, now)
    _queue(plan, message, delivered, facts, config, held.mid, policy, held.rids, next_mid, now)
    return plan


def _policies(direction: Direction, config: GatewayConfig) -> tuple[MailPolicy, ...]:
    """The mail policies of `direction`'s table: incoming's are configured, outgoing has one."""
    return config.incoming_policies if direction is Direction.INCOMING else OUTGOING_POLICIES


def _splinter(
    plan: Plan, message: ReceivedMessage, delivered: bytes, facts: MessageFacts,
    config: GatewayConfig, mid: int, policy: MailPolicy, rids: tuple[int, ...],
    next_mid: Callable[[], int], now: datetime,
) -> None:
    verdict = scan(mid, facts, policy)
    plan.log_lines.extend(verdict.log_lines)
    if verdict.disposition is Disposition.DROP:
        plan.log_lines.append(f"Message finished MID {mid} aborted")
    elif verdict.disposition is Disposition.QUARANTINE:
        plan.held.append(HeldMessage(mid, verdict.quarantine, policy.name, rids, message.envelope,
                                     InMemoryBody(message.raw)))
    else:
        _queue(plan, message, delivered, facts, config, mid, policy, rids, next_mid, now)


def _queue(
    plan: Plan, message: ReceivedMessage, delivered: bytes, facts: MessageFacts,
    config: GatewayConfig, mid: int, policy: MailPolicy, rids: tuple[int, ...],
    next_mid: Callable[[], int], now: datetime,
) -> None:
    # `delivered` is one bytes object for every splinter and destination: the unit stores it once
    body = InMemoryBody(delivered)
    for domain, group in by_domain(rids, message.rcpt_tos).items():
        plan.entries.append(QueueEntry(
            mid=mid, sender=message.mail_from, recipients=tuple(message.rcpt_tos[r] for r in group),
            rids=group, body=body, destination=domain, schedule=RetrySchedule.starting(now),
        ))
    plan.log_lines.append(f"MID {mid} queued for delivery")
    intake = connector.intake_for(message.direction, policy, config)
    if intake is not None:
        recipients = tuple(message.rcpt_tos[r] for r in rids)
        source = JournalSource(mid, message.mail_from, recipients, facts.subject,
                               facts.message_id, delivered)
        copy = connector.journal_copy(source, config, intake, next_mid(), now)
        plan.entries.append(copy)
        plan.log_lines.append(connector.created_line(copy.mid, mid, copy.recipients[0]))
        plan.log_lines.append(connector.queued_line(copy.mid))
