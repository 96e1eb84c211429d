"""The parts of a sandbox, each built by one factory: the mock Threat Defense, the mock mailbox host,
and a gateway machine with the control the sandbox has over it.

Design rule: a part answers the same methods whether it runs in the sandbox's own process
(`single.Sandbox`) or in its own (`child.py`, driven by `supervisor.ProcessSandbox` over the
control channel); nothing here knows which.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from simulator.admin.operated import JournalPage, JournalWindow
from simulator.core.clock import Clock
from simulator.core.config.values import GatewayConfig
from simulator.core.mail.messages import HeldMessage, QueueEntry
from simulator.core.reports.logformat import LogLine
from simulator.core.reports.status import DestinationStatus
from simulator.endpoints.common import endpoint_server
from simulator.endpoints.faults import Fault, FaultPlan
from simulator.endpoints.mailbox import MailboxDelivery, MailboxHandler, MailboxStore, Remediation
from simulator.endpoints.refused import ENDPOINT_FOLDERS, RefusedAttempt, RefusedLog
from simulator.endpoints.threat_defense import JournalRecord, JournalStore, ThreatDefenseHandler
from simulator.gateway.machine import GatewayMachine
from simulator.sandbox.settings import (
    MAILBOX_HOSTNAME,
    TD_HOSTNAME,
    SandboxSettings,
    mailbox_names,
    tenant_domains,
)
from simulator.transport.server import SmtpServer
from simulator.transport.tls import SandboxTls


class Endpoint:
    """A mock endpoint as the sandbox runs it: its server, its fault plan and what it refused; the same
    object answers the sandbox in one process and the supervisor from the endpoint's own process."""

    def __init__(self, name: str, server: SmtpServer, faults: FaultPlan, refused_log: RefusedLog) -> None:
        self.name, self.server, self.faults, self.refused_log = name, server, faults, refused_log

    async def apply_faults(self, faults: Iterable[Fault]) -> None:
        """Script the faults; `down` stops the endpoint listening (bound, then paused)."""
        self.faults.set(faults)
        await (self.server.pause() if self.faults.down else self.server.resume())

    def refused(self) -> list[RefusedAttempt]:
        """The refused attempts kept in memory (the latest), oldest first."""
        return self.refused_log.snapshot()


class ThreatDefense(Endpoint):
    """The mock Threat Defense service and its journals."""

    def __init__(self, settings: SandboxSettings, tls: SandboxTls, clock: Clock,
                 remediate: Remediate | None) -> None:
        folder = folders(settings)["threat_defense"]
        self.store = JournalStore(folder, settings.kept_in_memory)
        faults, refused = FaultPlan(), RefusedLog(folder, clock, settings.kept_in_memory)
        handler = ThreatDefenseHandler(self.store, settings.intake_addresses, faults=faults,
                                       remediate=remediate if settings.td_mode == "read-write" else None,
                                       refused=refused, clock=clock)
        server = endpoint_server(
            "Threat Defense endpoint", handler, settings.host, settings.threat_defense_port,
            tls.naming(TD_HOSTNAME, settings.host, *tenant_domains(settings)),
            hostname=TD_HOSTNAME, require_starttls=False)
        super().__init__("threat_defense", server, faults, refused)

    def journals(self) -> list[JournalRecord]:
        return self.store.records.snapshot()

    def journal_page(self, tenant: str, skip: int, count: int) -> JournalPage:
        """`count` of `tenant`'s journals after its newest `skip`, newest first, and how many it has."""
        address = tenant.lower()
        total, records = self.store.records.newest(lambda record: record.intake_address == address,
                                                   skip, count)
        return JournalPage(total, tuple(records))

    def journal(self, tenant: str, number: int) -> JournalRecord | None:
        """`tenant`'s journal `number`, if it is kept."""
        address = tenant.lower()
        return self.store.records.first(
            lambda record: record.number == number and record.intake_address == address)

    def journals_after(self, position: int) -> JournalWindow:
        """The journals kept after `position` (the n-th journal received is at position n)."""
        oldest, records = self.store.records.after(position)
        return JournalWindow(oldest, max(position + 1, oldest), tuple(records))


class Mailbox(Endpoint):
    """The mock mailbox host and what it received."""

    def __init__(self, settings: SandboxSettings, tls: SandboxTls, clock: Clock) -> None:
        folder = folders(settings)["mailbox"]
        self.store = MailboxStore(folder, clock, kept=settings.kept_in_memory)
        faults, refused = FaultPlan(), RefusedLog(folder, clock, settings.kept_in_memory)
        server = endpoint_server("mailbox host", MailboxHandler(self.store, faults, refused),
                                 settings.host, settings.mailbox_port, tls.naming(*mailbox_names(settings)),
                                 hostname=MAILBOX_HOSTNAME)
        super().__init__("mailbox", server, faults, refused)

    def deliveries(self, recipient: str | None) -> list[MailboxDelivery]:
        """What `recipient`'s mailbox received (None: every mailbox), oldest first."""
        if recipient is None:
            return self.store.deliveries.snapshot()
        return self.store.for_recipient(recipient)

    def remediations(self) -> list[Remediation]:
        return self.store.remediations.snapshot()

    def remediate(self, recipient: str, message_id: str, folder: str) -> None:
        self.store.remediate(recipient, message_id, folder)


#: How Threat Defense in read/write mode moves an original: (recipient, Message-ID, folder).
Remediate = Callable[[str, str, str], None]


def folders(settings: SandboxSettings) -> dict[str, Path | None]:
    """Where each endpoint keeps its files (None without a data dir)."""
    data = settings.data_dir
    return {endpoint: data / folder if data else None for endpoint, folder in ENDPOINT_FOLDERS.items()}


class MachineControl:
    """What the sandbox asks of one gateway machine, the same whether it runs in the sandbox's process
    or in its own (where the supervisor's calls arrive over the control channel)."""

    def __init__(self, machine: GatewayMachine) -> None:
        self.machine = machine

    def delivery_status(self) -> list[DestinationStatus]:
        return self.machine.queues.status()

    def recent_log(self, since: int = 0, most: int | None = None) -> list[LogLine]:
        """The kept mail-log lines after line number `since` (0: every kept line), the last `most` of
        them (None: all), oldest first (a list of references here: only these cross to another process)."""
        lines = self.machine.log.lines_after(since)
        return lines if most is None else lines[max(0, len(lines) - most):]

    def quarantined(self) -> list[HeldMessage]:
        return list(self.machine.quarantines.held.values())

    async def release(self, mid: int) -> str:
        return await self.machine.pipeline.release(mid)

    def deliver_now(self, destination: str | None) -> int:
        return self.machine.deliver_now(destination)

    def commit(self, config: GatewayConfig) -> None:
        """Run with a newly committed configuration (what is due is looked at again at once)."""
        self.machine.holder.commit(config)
        self.machine.queues.poke()

    async def settle(self) -> None:
        await self.machine.queues.wait_idle()

    def next_attempt(self) -> datetime | None:
        return self.machine.queues.next_attempt()

    def poke(self) -> None:
        self.machine.queues.poke()

    def queued(self, destination: str) -> list[QueueEntry]:
        found = self.machine.queues.destinations.get(destination)
        return list(found.entries) if found else []


def build_machine(settings: SandboxSettings, index: int, config: GatewayConfig, tls: SandboxTls,
                  clock: Clock) -> GatewayMachine:
    """The `index`-th machine (0-based) of the topology, running `config` (its effective one)."""
    inbound, relay = settings.listener_ports(index)
    return GatewayMachine(config, settings.data_dir, clock, tls.naming(config.hostname, settings.host),
                          settings.host, inbound, relay, settings.kept_in_memory,
                          settings.spool_body_threshold)
