"""The whole sandbox in one process, on one event loop: what the test fixtures run.

Design rule: every part comes from the factories in `parts.py`, like the supervisor's processes;
this class only wires them and answers the admin surface (`admin.operated.RunningSandbox`) and the
test facade (`testing.control`). The admin API and the console listen from the start but build their
applications when the first client connects (`transport.http_server`, as under the supervisor): most
test sandboxes never serve either, and building both was half of a start.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulator.admin.operated import JournalPage, JournalWindow, Listeners
from simulator.admin.server import AdminServer
from simulator.console.server import ConsoleServer
from simulator.core.clock import Clock, ManualClock
from simulator.core.config.cluster import ClusterConfig
from simulator.core.config.store import ConfigStore
from simulator.core.mail.messages import HeldMessage, QueueEntry
from simulator.core.reports.logformat import LogLine
from simulator.core.reports.status import DestinationStatus
from simulator.defaults import ENDPOINTS
from simulator.endpoints.faults import Fault
from simulator.endpoints.mailbox import MailboxDelivery, Remediation
from simulator.endpoints.refused import RefusedAttempt
from simulator.endpoints.threat_defense import JournalRecord
from simulator.gateway.machine import GatewayMachine
from simulator.sandbox.parts import Endpoint, MachineControl, Mailbox, ThreatDefense, build_machine
from simulator.sandbox.settings import SandboxSettings, cluster_config
from simulator.sandbox.state import MachineAddresses, description, publish, withdraw, write_trust
from simulator.transport.server import SmtpServer
from simulator.transport.tls import SandboxTls


class Sandbox:
    """The whole simulated system in one process: Threat Defense, the mailbox host and the gateway's
    machines, with the admin API and the console (`simulator.appliances` runs each part in its own
    process, built by the same factories)."""

    def __init__(self, settings: SandboxSettings, tls: SandboxTls, clock: Clock) -> None:
        self.settings = settings
        self.tls = tls
        self.clock = clock
        self.mailbox_host = Mailbox(settings, tls, clock)
        self.threat_defense = ThreatDefense(settings, tls, clock, self.mailbox_host.remediate)
        self.endpoints: dict[str, Endpoint] = {"threat_defense": self.threat_defense,
                                               "mailbox": self.mailbox_host}
        # the parts' objects, as tests reach them
        self.journals_store, self.mailbox = self.threat_defense.store, self.mailbox_host.store
        self.threat_defense_server, self.mailbox_server = self.threat_defense.server, self.mailbox_host.server
        self.threat_defense_faults, self.mailbox_faults = self.threat_defense.faults, self.mailbox_host.faults
        self.refused_logs = {name: each.refused_log for name, each in self.endpoints.items()}
        self.machines: dict[str, GatewayMachine] = {}
        self.controls: dict[str, MachineControl] = {}
        self.store: ConfigStore | None = None
        self.admin = AdminServer(self, settings.host, settings.admin_port, secrets.token_urlsafe(32))
        self.console = ConsoleServer(self, settings.host, settings.console_port, self.admin.token,
                                     secrets.token_urlsafe(12))

    @property
    def machine(self) -> GatewayMachine | None:
        """The first machine (`esa1` unless the topology says otherwise)."""
        return next(iter(self.machines.values()), None)

    def _committed(self, cluster: ClusterConfig) -> None:
        """A commit reaches every machine: each runs with its new effective configuration."""
        for name, control in self.controls.items():
            # a commit may come from another thread (a test); the machines live on the sandbox's loop
            self._loop.call_soon_threadsafe(control.commit, cluster.effective(name))

    async def start(self) -> None:
        """Start every server; on failure stop what started and re-raise."""
        self._loop = asyncio.get_running_loop()
        started: list[SmtpServer] = []
        s = self.settings
        try:
            # only bound until a client connects: a busy address fails the start before any part runs
            await self.admin.start()
            await self.console.start()
            for server in (self.threat_defense_server, self.mailbox_server):
                await server.start()
                started.append(server)
            await self.apply_faults("threat_defense", s.threat_defense_faults)  # `down`: bound, then paused
            await self.apply_faults("mailbox", s.mailbox_faults)
            self.store = ConfigStore(cluster_config(s, self.threat_defense_server.port,
                                                    self.mailbox_server.port), self.clock)
            self.store.on_commit(self._committed)
            for index, name in enumerate(self.store.committed.topology.machines):
                config = self.store.committed.effective(name)
                self.machines[name] = build_machine(s, index, config, self.tls, self.clock)
                self.controls[name] = MachineControl(self.machines[name])
            for machine in self.machines.values():
                await machine.start()
        except BaseException:
            await self.console.stop()
            await self.admin.stop()
            for machine in self.machines.values():
                await machine.stop()
            for server in started:
                await server.stop()
            raise
        write_trust(s, self.tls)

    async def apply_faults(self, endpoint: str, faults: Iterable[Fault]) -> None:
        """Script the faults of `endpoint` ("threat_defense" or "mailbox"); `down` stops it listening."""
        await self._endpoint(endpoint).apply_faults(faults)

    def _endpoint(self, endpoint: str) -> Endpoint:
        if endpoint not in self.endpoints:
            raise ValueError(f"unknown endpoint {endpoint!r}: {' or '.join(ENDPOINTS)}")
        return self.endpoints[endpoint]

    # What the admin surface asks of a running sandbox (`admin.operated.RunningSandbox`).

    def config_store(self) -> ConfigStore:
        if self.store is None:
            raise RuntimeError("the sandbox has not started")
        return self.store

    def machine_names(self) -> list[str]:
        return list(self.machines)

    async def delivery_status(self, machine: str) -> list[DestinationStatus]:
        return self.controls[machine].delivery_status()

    async def recent_log(self, machine: str, since: int = 0, most: int | None = None) -> list[LogLine]:
        return self.controls[machine].recent_log(since, most)

    def log_file(self, machine: str) -> Path | None:
        return self.machines[machine].log.path

    async def quarantined(self, machine: str) -> list[HeldMessage]:
        return self.controls[machine].quarantined()

    async def release(self, machine: str, mid: int) -> str:
        return await self.controls[machine].release(mid)

    async def deliver_now(self, machine: str, destination: str | None) -> int:
        return self.controls[machine].deliver_now(destination)

    async def refused(self, endpoint: str) -> list[RefusedAttempt]:
        """The refused attempts an endpoint keeps in memory (the latest), oldest first."""
        return self._endpoint(endpoint).refused()

    def listeners(self, machine: str) -> Listeners:
        each, host = self.machines[machine], self.settings.host
        return Listeners((host, each.inbound.port), (host, each.relay.port))

    def tenants(self) -> tuple[str, ...]:
        return self.settings.intake_addresses

    def td_mode(self) -> str:
        return self.settings.td_mode

    async def journals(self) -> list[JournalRecord]:
        return self.threat_defense.journals()

    async def journal_page(self, tenant: str, skip: int, count: int) -> JournalPage:
        return self.threat_defense.journal_page(tenant, skip, count)

    async def journal(self, tenant: str, number: int) -> JournalRecord | None:
        return self.threat_defense.journal(tenant, number)

    async def journals_after(self, position: int) -> JournalWindow:
        return self.threat_defense.journals_after(position)

    async def configured(self) -> None:
        """In one process a commit reaches every machine as it is made (on this loop): one iteration."""
        await asyncio.sleep(0)

    def fault_plans(self) -> dict[str, tuple[Fault, ...]]:
        return {name: each.faults.faults for name, each in self.endpoints.items()}

    # What tests ask besides (`simulator.testing.control`).

    def endpoint_address(self, endpoint: str) -> tuple[str, int]:
        server = self._endpoint(endpoint).server
        return server.host, server.port

    async def settle(self, timeout: float) -> None:
        """Wait until no queue of any machine has anything due or in flight."""
        async with asyncio.timeout(timeout):
            for control in self.controls.values():
                await control.settle()

    async def next_attempt(self, machine: str) -> datetime | None:
        return self.controls[machine].next_attempt()

    async def advance_clock(self, delta: timedelta) -> None:
        """Move the sandbox's manual clock by `delta`; every machine looks at what is due."""
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("moving time needs the sandbox to run on a ManualClock")
        self.clock.advance(delta)
        for control in self.controls.values():
            control.poke()

    async def queued(self, machine: str, destination: str) -> list[QueueEntry]:
        return self.controls[machine].queued(destination)

    async def mailbox_deliveries(self, recipient: str | None) -> list[MailboxDelivery]:
        return self.mailbox_host.deliveries(recipient)

    async def remediations(self) -> list[Remediation]:
        return self.mailbox_host.remediations()

    async def stop(self) -> None:
        await self.console.stop()
        await self.admin.stop()
        for machine in self.machines.values():
            await machine.stop()
        await self.threat_defense_server.stop()
        await self.mailbox_server.stop()

    def publish(self) -> dict[str, Any]:
        """Write `DATA/sandbox.json` so that `tdcsim` finds this sandbox; return what it says."""
        return publish(self.settings, self.describe())

    def withdraw(self) -> None:
        """Remove `DATA/sandbox.json`: nothing answers there any more."""
        withdraw(self.settings)

    def describe(self) -> dict[str, Any]:
        """The content of `DATA/sandbox.json`."""
        machines = {name: MachineAddresses(each.inbound.port, each.relay.port, each.log.path, os.getpid())
                    for name, each in self.machines.items()}
        endpoints = {name: (each.server.port, os.getpid()) for name, each in self.endpoints.items()}
        return description(self.settings, self.config_store(), machines, endpoints, self.fault_plans(),
                           self.admin, self.console)
