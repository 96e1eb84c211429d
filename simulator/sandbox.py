"""The composition root: builds the mock endpoints and the gateway from settings, and runs them.

Design rule: the only module that knows how the parts fit: routes to Threat Defense and the
mailbox host are derived here from the ports they actually bound. Used by `tdcsim sandbox` (main
thread) and by the test fixtures (a background thread); neither needs anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from simulator.admin.api import AdminServer
from simulator.admin.operated import Listeners
from simulator.console.server import ConsoleServer
from simulator.core.clock import Clock
from simulator.core.config.cluster import CLUSTER, ClusterConfig, Topology
from simulator.core.config.store import ConfigStore
from simulator.core.config.text import WILDCARD
from simulator.core.config.values import GatewayConfig, MxRecord, domain_of
from simulator.core.mail.messages import HeldMessage
from simulator.core.reports.logformat import LogLine
from simulator.core.reports.status import DestinationStatus
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES, DEFAULT_PORTS, ENDPOINTS, PORT_STEP, state_file
from simulator.endpoints.common import endpoint_server
from simulator.endpoints.faults import Fault, FaultPlan
from simulator.endpoints.mailbox import MailboxHandler, MailboxStore
from simulator.endpoints.refused import ENDPOINT_FOLDERS, RefusedAttempt, RefusedLog
from simulator.endpoints.threat_defense import JournalRecord, JournalStore, ThreatDefenseHandler
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.machine import GatewayMachine
from simulator.transport.server import SmtpServer
from simulator.transport.tls import SandboxTls


@dataclass(frozen=True)
class SandboxSettings:
    """What `tdcsim sandbox` and the fixtures can choose."""

    data_dir: Path | None
    host: str = "127.0.0.1"
    inbound_port: int = DEFAULT_PORTS["inbound"]
    relay_port: int = DEFAULT_PORTS["relay"]
    threat_defense_port: int = DEFAULT_PORTS["threat_defense"]
    mailbox_port: int = DEFAULT_PORTS["mailbox"]
    tdc_enabled: bool = True
    intake_addresses: tuple[str, ...] = DEFAULT_INTAKE_ADDRESSES
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    threat_defense_faults: tuple[Fault, ...] = ()
    mailbox_faults: tuple[Fault, ...] = ()
    machines: int = 1
    #: Topology and per-level settings (from `--config`); None: `machines` machines in Main_Group.
    cluster: ClusterConfig | None = None
    #: How many mail-log lines, journals and mailbox deliveries stay in memory (None: all, as tests
    #: want); the files on disk always have everything.
    kept_in_memory: int | None = None
    #: Threat Defense's mode: "read" records verdicts only; "read-write" also remediates originals.
    td_mode: Literal["read", "read-write"] = "read"
    #: The admin API's port: 0 (the OS chooses) unless given, as callers that set every SMTP port to 0
    #: (the test fixtures) know nothing of it; `tdcsim sandbox` passes DEFAULT_PORTS["admin"].
    admin_port: int = 0
    #: The training console's port: 0 unless given, like `admin_port` (`tdcsim sandbox`: 2530).
    console_port: int = 0
    #: Message bodies larger than this (bytes) wait in the spool's files, not in memory (with a data
    #: dir; without one every body is in memory).
    spool_body_threshold: int = DEFAULT_THRESHOLD

    def listener_ports(self, index: int) -> tuple[int, int]:
        """(inbound, relay) of the `index`-th machine (0-based): +10 per machine, 0 stays 0."""
        def shifted(port: int) -> int:
            return port + PORT_STEP * index if port else 0

        return shifted(self.inbound_port), shifted(self.relay_port)


TD_HOSTNAME = "intake.threatdefense.test"
#: `DATA/ca-key.pem`: the CA's private key, so that `tdcsim conform gateway` can give its
#: counterparts certificates this sandbox's gateway trusts.
CA_KEY_FILE = "ca-key.pem"
MAILBOX_HOSTNAME = "mailbox.sandbox.test"


def given_cluster(settings: SandboxSettings) -> ClusterConfig:
    """The cluster as given (`--config`), or `machines` machines in Main_Group."""
    return settings.cluster or ClusterConfig(Topology.single_group(settings.machines))


def tenant_domains(settings: SandboxSettings) -> tuple[str, ...]:
    """The domains of the intake addresses, each once, in their order (Threat Defense is their MX)."""
    return tuple(dict.fromkeys(domain_of(address) for address in settings.intake_addresses))


def mailbox_names(settings: SandboxSettings) -> tuple[str, ...]:
    """What a gateway may verify the mailbox host by: its banner name, every machine's local
    domains, their MX hosts in the given zone, and the sandbox's host (the MX written here)."""
    given = given_cluster(settings)
    cluster = dataclasses.replace(given, base=settings.gateway)
    domains = {domain.lower() for machine in cluster.topology.machines
               for domain in cluster.effective(machine).local_domains}
    mx_hosts = (record.host for record in given.base.dns_zone if record.domain.lower() in domains)
    return (MAILBOX_HOSTNAME, *sorted(domains), *mx_hosts, settings.host)


class Sandbox:
    """The whole simulated system: Threat Defense, mailbox host and gateway `esa1`."""

    def __init__(self, settings: SandboxSettings, tls: SandboxTls, clock: Clock) -> None:
        self.settings = settings
        self.tls = tls
        self.clock = clock
        data = settings.data_dir
        kept = settings.kept_in_memory
        folders = {endpoint: data / folder if data else None for endpoint, folder in ENDPOINT_FOLDERS.items()}
        self.journals_store = JournalStore(folders["threat_defense"], kept)
        self.mailbox = MailboxStore(folders["mailbox"], clock, kept=kept)
        self.threat_defense_faults, self.mailbox_faults = FaultPlan(), FaultPlan()
        self.refused_logs = {endpoint: RefusedLog(folder, clock, kept)
                             for endpoint, folder in folders.items()}
        td_handler = ThreatDefenseHandler(
            self.journals_store, settings.intake_addresses, faults=self.threat_defense_faults,
            remediate=self.mailbox.remediate if settings.td_mode == "read-write" else None,
            refused=self.refused_logs["threat_defense"], clock=clock)
        self.threat_defense_server = endpoint_server(
            "Threat Defense endpoint", td_handler, settings.host, settings.threat_defense_port,
            tls.naming(TD_HOSTNAME, settings.host, *tenant_domains(settings)),
            hostname=TD_HOSTNAME, require_starttls=False,
        )
        self.mailbox_server = endpoint_server(
            "mailbox host", MailboxHandler(self.mailbox, self.mailbox_faults, self.refused_logs["mailbox"]),
            settings.host, settings.mailbox_port, tls.naming(*mailbox_names(settings)),
            hostname=MAILBOX_HOSTNAME,
        )
        self.machines: dict[str, GatewayMachine] = {}
        self.store: ConfigStore | None = None
        self.admin = AdminServer(self, settings.host, settings.admin_port, secrets.token_urlsafe(32))
        self.console = ConsoleServer(self, settings.host, settings.console_port, self.admin.token,
                                     secrets.token_urlsafe(12))

    @property
    def machine(self) -> GatewayMachine | None:
        """The first machine (`esa1` unless the topology says otherwise)."""
        return next(iter(self.machines.values()), None)

    def cluster_config(self) -> ClusterConfig:
        """The starting configuration: the connector set at cluster level like an administrator
        would, and a DNS zone pointing at the endpoints' real ports (the intake domain's MX is
        Threat Defense, every other domain's, `*`, the mailbox host)."""
        settings, intake = self.settings, self.settings.intake_addresses[0]
        zone = (
            *(MxRecord(domain, 10, settings.host, self.threat_defense_server.port)
              for domain in tenant_domains(settings)),
            MxRecord(WILDCARD, 10, settings.host, self.mailbox_server.port),
        )
        given = given_cluster(settings)
        base = dataclasses.replace(settings.gateway, dns_zone=(*given.base.dns_zone, *zone))
        cluster = dataclasses.replace(given, base=base)
        if "tdc.enabled" not in cluster.at(CLUSTER):
            cluster = cluster.set(CLUSTER, "tdc.enabled", settings.tdc_enabled)
        if "tdc.intake_address" not in cluster.at(CLUSTER):
            cluster = cluster.set(CLUSTER, "tdc.intake_address", intake)
        return cluster

    def _build_machines(self, cluster: ClusterConfig) -> None:
        s = self.settings
        for index, name in enumerate(cluster.topology.machines):
            inbound, relay = s.listener_ports(index)
            config = cluster.effective(name)
            self.machines[name] = GatewayMachine(config, s.data_dir, self.clock,
                                                 self.tls.naming(config.hostname, s.host), s.host,
                                                 inbound, relay, s.kept_in_memory, s.spool_body_threshold)

    def _committed(self, cluster: ClusterConfig) -> None:
        """A commit reaches every machine: each runs with its new effective configuration."""
        for name, machine in self.machines.items():
            machine.holder.commit(cluster.effective(name))
            # a commit may come from another thread (a test); the queues live on the sandbox's loop
            self._loop.call_soon_threadsafe(machine.queues.poke)

    async def start(self) -> None:
        """Start every server; on failure stop what started and re-raise."""
        self._loop = asyncio.get_running_loop()
        started: list[SmtpServer] = []
        try:
            for server in (self.threat_defense_server, self.mailbox_server):
                await server.start()
                started.append(server)
            s = self.settings
            await self.apply_faults("threat_defense", s.threat_defense_faults)  # `down`: bound, then paused
            await self.apply_faults("mailbox", s.mailbox_faults)
            self.store = ConfigStore(self.cluster_config(), self.clock)
            self.store.on_commit(self._committed)
            self._build_machines(self.store.committed)
            for machine in self.machines.values():
                await machine.start()
            await self.admin.start()
            await self.console.start()
        except BaseException:
            await self.admin.stop()
            for machine in self.machines.values():
                await machine.stop()
            for server in started:
                await server.stop()
            raise
        if s.data_dir is not None:
            (s.data_dir / "ca.pem").write_bytes(self.tls.ca_pem)
            if self.tls.ca is not None:  # owner-only: the conformance kit mints its counterparts' from it
                write_private(s.data_dir / CA_KEY_FILE, self.tls.ca.private_key_pem.bytes().decode("ascii"))

    async def apply_faults(self, endpoint: str, faults: Iterable[Fault]) -> None:
        """Script the faults of `endpoint` ("threat_defense" or "mailbox"); `down` stops it listening."""
        plans = {"threat_defense": (self.threat_defense_faults, self.threat_defense_server),
                 "mailbox": (self.mailbox_faults, self.mailbox_server)}
        if endpoint not in plans:
            raise ValueError(f"unknown endpoint {endpoint!r}: {' or '.join(ENDPOINTS)}")
        plan, server = plans[endpoint]
        plan.set(faults)
        await (server.pause() if plan.down else server.resume())

    # What the admin surface asks of a running sandbox (`admin.operated.RunningSandbox`).

    def config_store(self) -> ConfigStore:
        if self.store is None:
            raise RuntimeError("the sandbox has not started")
        return self.store

    def machine_names(self) -> list[str]:
        return list(self.machines)

    def delivery_status(self, machine: str) -> list[DestinationStatus]:
        return self.machines[machine].queues.status()

    def recent_log(self, machine: str) -> list[LogLine]:
        return self.machines[machine].log.lines()

    def log_file(self, machine: str) -> Path | None:
        return self.machines[machine].log.path

    def quarantined(self, machine: str) -> list[HeldMessage]:
        return list(self.machines[machine].quarantines.held.values())

    async def release(self, machine: str, mid: int) -> str:
        return await self.machines[machine].pipeline.release(mid)

    def deliver_now(self, machine: str, destination: str | None) -> int:
        return self.machines[machine].deliver_now(destination)

    def refused(self, endpoint: str) -> list[RefusedAttempt]:
        """The refused attempts an endpoint keeps in memory (the latest), oldest first."""
        return self.refused_logs[endpoint].snapshot()

    def listeners(self, machine: str) -> Listeners:
        each, host = self.machines[machine], self.settings.host
        return Listeners((host, each.inbound.port), (host, each.relay.port))

    def tenants(self) -> tuple[str, ...]:
        return self.settings.intake_addresses

    def td_mode(self) -> str:
        return self.settings.td_mode

    def journals(self) -> list[JournalRecord]:
        return self.journals_store.records.snapshot()

    def fault_plans(self) -> dict[str, tuple[Fault, ...]]:
        return {"threat_defense": self.threat_defense_faults.faults, "mailbox": self.mailbox_faults.faults}

    async def stop(self) -> None:
        await self.console.stop()
        await self.admin.stop()
        for machine in self.machines.values():
            await machine.stop()
        await self.threat_defense_server.stop()
        await self.mailbox_server.stop()

    def publish(self) -> dict[str, Any]:
        """Write `DATA/sandbox.json` so that `tdcsim` finds this sandbox; return what it says."""
        description = self.describe()
        if self.settings.data_dir is not None:
            write_private(state_file(self.settings.data_dir), json.dumps(description, indent=2) + "\n")
        return description

    def withdraw(self) -> None:
        """Remove `DATA/sandbox.json`: nothing answers there any more."""
        if self.settings.data_dir is not None:
            state_file(self.settings.data_dir).unlink(missing_ok=True)

    def describe(self) -> dict[str, Any]:
        """The content of `DATA/sandbox.json`."""
        assert self.machine is not None, "describe() needs a started sandbox"
        s, machine, data = self.settings, self.machine, self.settings.data_dir
        return {
            "machines": {name: {
                "inbound": {"host": s.host, "port": each.inbound.port},
                "relay": {"host": s.host, "port": each.relay.port},
                "mail_log": str(each.log.path) if each.log.path else None,
                "group": self.store.committed.topology.group_of(name) if self.store else None,
            } for name, each in self.machines.items()},
            "threat_defense": {"host": s.host, "port": self.threat_defense_server.port,
                               "intake_addresses": list(s.intake_addresses), "mode": s.td_mode,
                               "faults": [str(f) for f in self.threat_defense_faults.faults]},
            "mailbox": {"host": s.host, "port": self.mailbox_server.port,
                        "faults": [str(f) for f in self.mailbox_faults.faults]},
            "admin": {"url": self.admin.url, "token": self.admin.token},
            "console": {"url": self.console.url, "user": "admin", "password": self.console.password},
            "intake_address": s.intake_addresses[0],
            "tdc_enabled": machine.holder.current.connector.enabled,
            "local_domains": list(machine.holder.current.local_domains),
            "ca_cert": str(data / "ca.pem") if data else None,
            "data_dir": str(data) if data else None,
            "pid": os.getpid(),
        }


def write_private(path: Path, text: str) -> None:
    """Write `text` so that a reader polling for `path` never sees half of it; only the owner may
    read it (sandbox.json holds the admin API's bearer token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)
