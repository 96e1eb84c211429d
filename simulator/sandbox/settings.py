"""What a sandbox is made of, before anything runs: the settings, the names its servers answer to, and
the cluster configuration it starts with.

Design rule: pure; the in-process sandbox and the process supervisor derive the same starting
configuration from the same settings and the ports the endpoints actually bound.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from simulator.core.config.cluster import CLUSTER, ClusterConfig, Topology
from simulator.core.config.text import WILDCARD
from simulator.core.config.values import GatewayConfig, MxRecord, domain_of
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES, DEFAULT_PORTS, PORT_STEP
from simulator.endpoints.faults import Fault
from simulator.gateway.bodies import DEFAULT_THRESHOLD


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


def cluster_config(settings: SandboxSettings, threat_defense_port: int, mailbox_port: int) -> ClusterConfig:
    """The starting configuration: the connector set at cluster level like an administrator would, and a
    DNS zone pointing at the endpoints' real ports (the intake domains' MX is Threat Defense, every
    other domain's, `*`, the mailbox host)."""
    intake = settings.intake_addresses[0]
    zone = (
        *(MxRecord(domain, 10, settings.host, threat_defense_port) for domain in tenant_domains(settings)),
        MxRecord(WILDCARD, 10, settings.host, mailbox_port),
    )
    given = given_cluster(settings)
    base = dataclasses.replace(settings.gateway, dns_zone=(*given.base.dns_zone, *zone))
    cluster = dataclasses.replace(given, base=base)
    if "tdc.enabled" not in cluster.at(CLUSTER):
        cluster = cluster.set(CLUSTER, "tdc.enabled", settings.tdc_enabled)
    if "tdc.intake_address" not in cluster.at(CLUSTER):
        cluster = cluster.set(CLUSTER, "tdc.intake_address", intake)
    return cluster
