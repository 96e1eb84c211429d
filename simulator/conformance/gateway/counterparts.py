"""The kit's counterparts of a gateway under test: Threat Defense and the next-hop mailbox host.

Design rule: they are our mock endpoints (`simulator.endpoints`: the same handlers, stores, fault
plans and TLS contexts the sandbox runs), served on the vendor's addresses from an event loop in a
thread of their own; this module only assembles them and adds what a judge needs to see: every
connection the gateway opened to Threat Defense (`Contact`: its TLS, how many messages it carried).
Their certificates come from the vendor's CA (or a fresh one whose `ca.pem` goes to the artifacts)
and name the listen host, the intake domain and every name the vendor configures. Everything they
receive is written under the artifacts directory, for the bundle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import trustme

from simulator.conformance.gateway.loop import LoopThread
from simulator.conformance.gateway.section import GatewaySection
from simulator.core.clock import SystemClock
from simulator.core.config.values import domain_of
from simulator.core.records import Records
from simulator.endpoints.common import endpoint_server
from simulator.endpoints.faults import Fault, FaultPlan, parse_fault
from simulator.endpoints.mailbox import MailboxHandler, MailboxStore
from simulator.endpoints.refused import ENDPOINT_FOLDERS, RefusedLog
from simulator.endpoints.threat_defense import JournalStore, ThreatDefenseHandler
from simulator.transport.server import SmtpServer
from simulator.transport.smtp import ObservedSMTP
from simulator.transport.tls import SandboxTls

TD_HOSTNAME = "intake.threatdefense.kit.test"
MAILBOX_HOSTNAME = "mailbox.kit.test"
CONTACTS_FILE = "contacts.jsonl"


@dataclass(frozen=True)
class Contact:
    """One connection the gateway opened to the kit's Threat Defense, as it ended."""

    number: int
    peer: str
    tls: str  # the protocol (TLSv1.2, ...), or "" if the connection stayed in plaintext
    tls_failed: bool  # STARTTLS was accepted but no TLS session came of it
    messages: int  # journals accepted on it


class KitThreatDefense(ThreatDefenseHandler):
    """Our Threat Defense handler, keeping a `Contact` per connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contacts: Records[Contact] = Records()

    def connection_closed(self, server: ObservedSMTP) -> None:
        super().connection_closed(server)
        protocol, _ = self.tls_of(server.session) if server.session is not None else ("", "")
        self.contacts.append(Contact(server.connection.number, server.peer_ip, protocol,
                                     server.tls_failed, server.connection.messages))


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def kit_ca(section: GatewaySection) -> trustme.CA:
    """The vendor's CA (certificate and key), or a fresh one."""
    if section.ca_cert is not None and section.ca_key is not None:
        return trustme.CA.from_pem(section.ca_cert.read_bytes(), section.ca_key.read_bytes())
    return trustme.CA()


class Counterparts:
    """The kit's Threat Defense and mailbox host, their records and their fault plans."""

    def __init__(self, section: GatewaySection, ca: trustme.CA, artifacts: Path) -> None:
        self.section, self.artifacts, self.ca_pem = section, artifacts, ca.cert_pem.bytes()
        td, mailbox = section.threat_defense, section.mailbox
        folders = {endpoint: artifacts / folder for endpoint, folder in ENDPOINT_FOLDERS.items()}
        self.intake_addresses = (td.intake_address, td.second_intake_address)
        self.journals, self.td_faults = JournalStore(folders["threat_defense"]), FaultPlan()
        self.mailbox, self.mailbox_faults = MailboxStore(folders["mailbox"], SystemClock()), FaultPlan()
        self.td_refused = RefusedLog(folders["threat_defense"])
        self.mailbox_refused = RefusedLog(folders["mailbox"])
        self.threat_defense = KitThreatDefense(self.journals, self.intake_addresses, faults=self.td_faults,
                                               refused=self.td_refused)
        td_host, td_port = split_listen(td.listen)
        self.td_names = (TD_HOSTNAME, td_host, *(domain_of(a) for a in self.intake_addresses), *td.names)
        self.td_server = endpoint_server("kit Threat Defense", self.threat_defense, td_host, td_port,
                                         SandboxTls.issue(ca, *self.td_names), hostname=TD_HOSTNAME,
                                         require_starttls=False)
        mb_host, mb_port = split_listen(mailbox.listen)
        self.mailbox_names = (MAILBOX_HOSTNAME, mb_host, *mail_domains(section), *mailbox.names)
        self.mailbox_server = endpoint_server(
            "kit mailbox host", MailboxHandler(self.mailbox, self.mailbox_faults, self.mailbox_refused),
            mb_host, mb_port, SandboxTls.issue(ca, *self.mailbox_names), hostname=MAILBOX_HOSTNAME)
        self._loop = LoopThread("tdc-conform-counterparts")

    @classmethod
    def from_section(cls, section: GatewaySection, artifacts: Path) -> Counterparts:
        return cls(section, kit_ca(section), artifacts)

    @contextmanager
    def running(self) -> Iterator[Counterparts]:
        """Both servers listening for the `with` block; `ca.pem` and the contacts written."""
        (self.artifacts / "ca.pem").write_bytes(self.ca_pem)
        with self._loop.running():
            self._loop.call(self.td_server.start())
            try:
                self._loop.call(self.mailbox_server.start())
                try:
                    yield self
                finally:
                    self._loop.call(self.mailbox_server.stop())
            finally:
                self._loop.call(self.td_server.stop())
                self._write_contacts()

    def describe(self) -> dict[str, Any]:
        """What the driver's `prepare` is told: where each counterpart listens, and the CA."""
        def server(smtp: SmtpServer, names: Iterable[str]) -> dict[str, Any]:
            return {"host": smtp.host, "port": smtp.port, "names": list(dict.fromkeys(names))}

        return {"threat_defense": {**server(self.td_server, self.td_names),
                                   "intake_address": self.intake_addresses[0],
                                   "intake_addresses": list(self.intake_addresses),
                                   "intake_domain": domain_of(self.intake_addresses[0])},
                "mailbox": {**server(self.mailbox_server, self.mailbox_names),
                            "domains": list(mail_domains(self.section))},
                "ca_pem": self.ca_pem.decode("ascii"), "ca_cert": str(self.artifacts / "ca.pem")}

    def set_td_faults(self, *specs: str) -> None:
        """Script the kit's Threat Defense (faults in the CLI syntax; none: behave)."""
        faults = [parse_fault(spec) for spec in specs]
        self._loop.call(self._apply(self.td_faults, self.td_server, faults))

    @staticmethod
    async def _apply(plan: FaultPlan, server: SmtpServer, faults: list[Fault]) -> None:
        plan.set(faults)
        await (server.pause() if plan.down else server.resume())

    def _write_contacts(self) -> None:
        folder = self.artifacts / ENDPOINT_FOLDERS["threat_defense"]
        folder.mkdir(parents=True, exist_ok=True)
        lines = (json.dumps(asdict(contact), sort_keys=True) + "\n"
                 for contact in self.threat_defense.contacts.snapshot())
        (folder / CONTACTS_FILE).write_text("".join(lines), encoding="utf-8")


def mail_domains(section: GatewaySection) -> tuple[str, ...]:
    """The domains the mailbox host takes mail for: the recipients', the outside sender's and the
    outside recipient's (bounces and outgoing mail), each once."""
    addresses = (*section.recipients, *(section.split_recipients or ()), section.sender,
                 section.external_recipient)
    return tuple(dict.fromkeys(domain_of(address) for address in addresses))
