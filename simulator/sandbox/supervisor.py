"""The sandbox as separate appliances: Threat Defense, the mailbox host and each gateway machine in its
own OS process, supervised by this one, which keeps the configuration, the admin API and the console.

Design rule: the parts are the factories' (`parts.py`), run by `child.py` (which this process never
imports: it hands each part a `roles.Role`); this process starts them together (the endpoints first: the
machines' DNS zone needs their ports), collects their readiness before anything is published, replicates
each commit to every machine and answers the admin surface and the test facade with the same methods as
`single.Sandbox`, over the control channels. A part that cannot start stops the whole sandbox with its
reason (which names the port); a part that dies later is reported in one line (`failure`) and the
sandbox stops: a half sandbox would only mislead the test or the trainee in front of it. Stopping asks
the machines first, then the endpoints, and kills a part that has not ended within `STOP_WAIT` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.admin.operated import JournalPage, JournalWindow, Listeners
from simulator.admin.server import AdminServer
from simulator.console.server import ConsoleServer
from simulator.core.clock import Clock, ManualClock
from simulator.core.config.cluster import ClusterConfig
from simulator.core.config.store import ConfigStore
from simulator.core.errors import SimulatorError
from simulator.core.mail.messages import HeldMessage, QueueEntry
from simulator.core.reports.logformat import LogLine
from simulator.core.reports.status import DestinationStatus
from simulator.defaults import ENDPOINTS
from simulator.endpoints.faults import Fault
from simulator.endpoints.refused import RefusedAttempt
from simulator.sandbox import forking
from simulator.sandbox.channel import Channel
from simulator.sandbox.roles import Role, Started
from simulator.sandbox.settings import SandboxSettings, cluster_config
from simulator.sandbox.state import MachineAddresses, description, publish, withdraw, write_trust
from simulator.transport.tls import SandboxTls

if TYPE_CHECKING:  # types only: the endpoints' modules import aiosmtpd, which this process never runs
    from simulator.endpoints.mailbox import MailboxDelivery, Remediation
    from simulator.endpoints.threat_defense import JournalRecord

#: Seconds a part has to end once told to stop, before it is killed.
STOP_WAIT = 10.0


class PartFailed(SimulatorError):
    """A part could not start, or ended while the sandbox ran."""


@dataclass
class Part:
    """One part's process as the supervisor sees it."""

    name: str
    process: BaseProcess
    channel: Channel
    started: asyncio.Future[Started]
    serving: asyncio.Task[None]  # the channel's serving of the part's calls

    async def call(self, method: str, *args: Any) -> Any:
        return await self.channel.call(method, *args)


class Supervising:
    """What a part may ask of its supervisor: to say it started, and (Threat Defense) to remediate."""

    def __init__(self, sandbox: ProcessSandbox, name: str) -> None:
        self._sandbox, self._name = sandbox, name

    def started(self, started: Started | None, error: str | None) -> None:
        self._sandbox.part_started(self._name, started, error)

    async def remediate(self, recipient: str, message_id: str, folder: str) -> None:
        await self._sandbox.parts["mailbox"].call("remediate", recipient, message_id, folder)


class ProcessSandbox:
    """The whole simulated system, each machine and each mock endpoint in its own process."""

    def __init__(self, settings: SandboxSettings, tls: SandboxTls, clock: Clock) -> None:
        if tls.ca is None:
            raise ValueError("the parts' processes mint their certificates: the sandbox's TLS needs its CA")
        self.settings, self.tls, self.clock = settings, tls, clock
        self.parts: dict[str, Part] = {}
        self.store: ConfigStore | None = None
        self.failure: str | None = None
        self.failed = asyncio.Event()
        self._faults = {"threat_defense": tuple(settings.threat_defense_faults),
                        "mailbox": tuple(settings.mailbox_faults)}
        self._replicating: list[asyncio.Task[Any]] = []
        self._stopping = False
        self.admin = AdminServer(self, settings.host, settings.admin_port, secrets.token_urlsafe(32))
        self.console = ConsoleServer(self, settings.host, settings.console_port, self.admin.token,
                                     secrets.token_urlsafe(12))

    # Starting and stopping

    async def start(self) -> None:
        """Start the endpoints, the operator's servers, then the machines; on failure stop what started
        and raise.

        The operator's servers come before the machines (as soon as the configuration they serve
        exists: it needs the endpoints' ports), so that a port in use there fails the start before
        any machine's process exists. Nothing can use them before the machines are up: their token
        and password are published in `sandbox.json`, which is written once everything listens."""
        self._loop = asyncio.get_running_loop()
        context = forking.context()
        try:
            await self._start_parts(context, [self._role("threat_defense"), self._role("mailbox")])
            ports = self._endpoint_ports()
            self.store = ConfigStore(cluster_config(self.settings, ports["threat_defense"], ports["mailbox"]),
                                     self.clock)
            self.store.on_commit(self._committed)
            await self.admin.start()
            await self.console.start()
            committed = self.store.committed
            await self._start_parts(context, [
                self._role("machine", machine=name, index=index, config=committed.effective(name))
                for index, name in enumerate(committed.topology.machines)])
        except BaseException:
            await self.stop()
            raise
        write_trust(self.settings, self.tls)

    def _role(self, part: Any, **machine: Any) -> Role:
        assert self.tls.ca is not None
        ca = (self.tls.ca.cert_pem.bytes(), self.tls.ca.private_key_pem.bytes())
        start = self.clock.now() if isinstance(self.clock, ManualClock) else None
        return Role(part, self.settings, ca, self.tls.names, start, umask=current_umask(), **machine)

    async def _start_parts(self, context: Any, roles: list[Role]) -> None:
        """Start the processes of `roles` together and wait until each listens (or one says why not)."""
        for role in roles:
            ours, theirs = socket.socketpair()
            process = context.Process(target=forking.run_part, args=(role, theirs),
                                      name=f"tdcsim {role.name}", daemon=True)
            process.start()
            theirs.close()
            reader, writer = await asyncio.open_unix_connection(sock=ours)
            channel = Channel(role.name, reader, writer, Supervising(self, role.name))
            part = Part(role.name, process, channel, self._loop.create_future(),
                        asyncio.create_task(channel.serve()))  # runs from the next await: part is in
            self.parts[role.name] = part
            self._loop.add_reader(process.sentinel, self._ended, part)
        waiting = [self.parts[role.name].started for role in roles]
        done = await asyncio.gather(*waiting, return_exceptions=True)
        errors = [result for result in done if isinstance(result, BaseException)]
        if errors:
            raise errors[0]

    def part_started(self, name: str, started: Started | None, error: str | None) -> None:
        future = self.parts[name].started
        if future.done():
            return
        if started is None:
            future.set_exception(PartFailed(error or f"{name} could not start"))
        else:
            future.set_result(started)

    def _ended(self, part: Part) -> None:
        """A part's process ended: expected while stopping, else the sandbox fails with one line."""
        self._loop.remove_reader(part.process.sentinel)
        part.process.join(0)
        status = part.process.exitcode
        if not part.started.done():
            part.started.set_exception(PartFailed(f"{part.name} ended (status {status}) before it listened"))
        if self._stopping or self.failure is not None:
            return
        self.failure = (f"{part.name} (pid {part.process.pid}) ended with status {status}; "
                        "stopping the sandbox")
        self.failed.set()

    async def stop(self) -> None:
        """Stop the operator's servers, then the machines, then the endpoints."""
        self._stopping = True
        await self.console.stop()
        await self.admin.stop()
        machines = [part for name, part in self.parts.items() if name not in ENDPOINTS]
        endpoints = [part for name, part in self.parts.items() if name in ENDPOINTS]
        for group in (machines, endpoints):
            await asyncio.gather(*(self._stop_part(part) for part in group))

    async def _stop_part(self, part: Part) -> None:
        if part.process.is_alive():
            with contextlib.suppress(SimulatorError, TimeoutError):  # gone, or stuck: the wait decides
                await asyncio.wait_for(part.call("stop"), STOP_WAIT)
            if not await self._loop.run_in_executor(None, joined, part.process, STOP_WAIT):
                part.process.kill()
                await self._loop.run_in_executor(None, joined, part.process, STOP_WAIT)
        part.channel.close()
        part.serving.cancel()

    # What the admin surface asks of a running sandbox (`admin.operated.RunningSandbox`)

    def config_store(self) -> ConfigStore:
        if self.store is None:
            raise RuntimeError("the sandbox has not started")
        return self.store

    def machine_names(self) -> list[str]:
        return list(self.config_store().committed.topology.machines)

    def _machine(self, machine: str) -> MachineAddresses:
        started = self.parts[machine].started.result()
        assert started.machine is not None
        return started.machine

    async def delivery_status(self, machine: str) -> list[DestinationStatus]:
        result: list[DestinationStatus] = await self.parts[machine].call("delivery_status")
        return result

    async def recent_log(self, machine: str, since: int = 0, most: int | None = None) -> list[LogLine]:
        result: list[LogLine] = await self.parts[machine].call("recent_log", since, most)
        return result

    def log_file(self, machine: str) -> Path | None:
        return self._machine(machine).mail_log

    async def quarantined(self, machine: str) -> list[HeldMessage]:
        result: list[HeldMessage] = await self.parts[machine].call("quarantined")
        return result

    async def release(self, machine: str, mid: int) -> str:
        result: str = await self.parts[machine].call("release", mid)
        return result

    async def deliver_now(self, machine: str, destination: str | None) -> int:
        result: int = await self.parts[machine].call("deliver_now", destination)
        return result

    async def refused(self, endpoint: str) -> list[RefusedAttempt]:
        result: list[RefusedAttempt] = await self._endpoint(endpoint).call("refused")
        return result

    def listeners(self, machine: str) -> Listeners:
        addresses, host = self._machine(machine), self.settings.host
        return Listeners((host, addresses.inbound), (host, addresses.relay))

    def tenants(self) -> tuple[str, ...]:
        return self.settings.intake_addresses

    def td_mode(self) -> str:
        return self.settings.td_mode

    async def journals(self) -> list[JournalRecord]:
        result: list[JournalRecord] = await self.parts["threat_defense"].call("journals")
        return result

    async def journal_page(self, tenant: str, skip: int, count: int) -> JournalPage:
        result: JournalPage = await self.parts["threat_defense"].call("journal_page", tenant, skip, count)
        return result

    async def journal(self, tenant: str, number: int) -> JournalRecord | None:
        result: JournalRecord | None = await self.parts["threat_defense"].call("journal", tenant, number)
        return result

    async def journals_after(self, position: int) -> JournalWindow:
        result: JournalWindow = await self.parts["threat_defense"].call("journals_after", position)
        return result

    def fault_plans(self) -> dict[str, tuple[Fault, ...]]:
        return dict(self._faults)

    async def apply_faults(self, endpoint: str, faults: Iterable[Fault]) -> None:
        scripted = tuple(faults)
        await self._endpoint(endpoint).call("apply_faults", scripted)
        self._faults[endpoint] = scripted

    def _endpoint(self, endpoint: str) -> Part:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}: {' or '.join(ENDPOINTS)}")
        return self.parts[endpoint]

    def _committed(self, cluster: ClusterConfig) -> None:
        """A commit reaches every machine's process (in commit order); `configured` waits for them."""
        self._loop.call_soon_threadsafe(self._replicate, cluster)

    def _replicate(self, cluster: ClusterConfig) -> None:
        for name in cluster.topology.machines:
            replicated = self.parts[name].call("commit", cluster.effective(name))
            self._replicating.append(asyncio.create_task(replicated))

    async def configured(self) -> None:
        """Return once every machine runs the committed configuration."""
        await asyncio.sleep(0)  # a commit made on this loop has scheduled its replication
        replicating, self._replicating = self._replicating, []
        await asyncio.gather(*replicating)

    # What tests ask besides (`simulator.testing.control`)

    def endpoint_address(self, endpoint: str) -> tuple[str, int]:
        return self.settings.host, self._endpoint_ports()[endpoint]

    def _endpoint_ports(self) -> dict[str, int]:
        return {name: self.parts[name].started.result().port for name in ENDPOINTS}

    async def settle(self, timeout: float) -> None:
        """Wait until no queue of any machine has anything due or in flight."""
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(self.parts[name].call("settle") for name in self.machine_names()))

    async def next_attempt(self, machine: str) -> datetime | None:
        result: datetime | None = await self.parts[machine].call("next_attempt")
        return result

    async def advance_clock(self, delta: timedelta) -> None:
        """Move every process's manual clock (and this one's) by `delta`; machines look at what is due."""
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("moving time needs the sandbox to run on a ManualClock")
        self.clock.advance(delta)
        await asyncio.gather(*(part.call("advance_clock", delta) for part in self.parts.values()))

    async def queued(self, machine: str, destination: str) -> list[QueueEntry]:
        result: list[QueueEntry] = await self.parts[machine].call("queued", destination)
        return result

    async def mailbox_deliveries(self, recipient: str | None) -> list[MailboxDelivery]:
        result: list[MailboxDelivery] = await self.parts["mailbox"].call("deliveries", recipient)
        return result

    async def remediations(self) -> list[Remediation]:
        result: list[Remediation] = await self.parts["mailbox"].call("remediations")
        return result

    def publish(self) -> dict[str, Any]:
        return publish(self.settings, self.describe())

    def withdraw(self) -> None:
        withdraw(self.settings)

    def describe(self) -> dict[str, Any]:
        machines = {name: self._machine(name) for name in self.machine_names()}
        endpoints = {name: (port, self.parts[name].process.pid or 0)
                     for name, port in self._endpoint_ports().items()}
        return description(self.settings, self.config_store(), machines, endpoints,
                           self.fault_plans(), self.admin, self.console)


def current_umask() -> int:
    """This process's umask (reading it means setting it: set back at once)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def joined(process: BaseProcess, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `process` to end; whether it did."""
    process.join(timeout)
    return not process.is_alive()
