"""The Threat Defense Connector's decisions and its `TDC:` log lines.

Design rule: pure. Whether a splinter is copied, how its copy is addressed and what the connector
logs are decided here; the pipeline and the delivery queues only carry the results out.
"""

from __future__ import annotations

from datetime import datetime

from simulator.core.config.values import GatewayConfig, MailPolicy
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.mail.messages import TDC_QUEUE, Direction, QueueEntry
from simulator.core.mail.retry import RetrySchedule

SERVICE = "Cisco Secure Email Threat Defense"


def intake_for(direction: Direction, policy: MailPolicy, config: GatewayConfig) -> str | None:
    """Where a splinter's copy goes, or None: only incoming mail, only while the connector is
    enabled, and by its policy's choice (No Scan, the default intake address, or a custom one)."""
    if direction is not Direction.INCOMING or not config.connector.enabled or policy.tdc == "no-scan":
        return None
    return policy.tdc_intake if policy.tdc == "custom" else config.connector.intake_address


def journal_copy(
    splinter: JournalSource, config: GatewayConfig, intake: str, copy_mid: int, now: datetime
) -> QueueEntry:
    """The queue entry carrying `splinter`'s journal copy to `intake`."""
    addressing = JournalAddressing(config.system_address, intake, config.hostname)
    return QueueEntry(
        mid=copy_mid,
        sender=config.system_address,
        recipients=(intake,),
        rids=(0,),
        body=InMemoryBody(build_journal(splinter, addressing, copy_mid, now)),
        destination=TDC_QUEUE,
        schedule=RetrySchedule.starting(now),
        original_mid=splinter.original_mid,
    )


def created_line(copy_mid: int, original_mid: int, intake: str) -> str:
    return f"TDC: Message {copy_mid} created from message {original_mid} for {intake}."


def queued_line(copy_mid: int) -> str:
    return f"TDC: Message {copy_mid} queued for delivery to {SERVICE}."


def delivered_line(copy_mid: int) -> str:
    return f"TDC: Message {copy_mid} delivered to {SERVICE}."


def failed_line(copy_mid: int, reason: str) -> str:
    """The seed's line for a TLS fault (`reason` "TLS Error"), and its form for other failures."""
    return f"TDC: Message {copy_mid} delivery failed to {SERVICE}: {reason.rstrip('.')}."


def bounced_line(copy_mid: int, reason: str) -> str:
    return f"TDC: Message {copy_mid} hard bounced by {SERVICE}: {reason.rstrip('.')}. No DSN is sent."
