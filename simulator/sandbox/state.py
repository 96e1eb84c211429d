"""What a running sandbox writes for others to find: `sandbox.json` and the CA that signs its certificates.

Design rule: `sandbox.json` exists exactly while every server listens; a reader polling for it never
sees half of it, and only the owner may read it (it holds the admin API's bearer token).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.core.config.store import ConfigStore
from simulator.defaults import state_file
from simulator.endpoints.faults import Fault
from simulator.sandbox.settings import CA_KEY_FILE, SandboxSettings
from simulator.transport.tls import SandboxTls

if TYPE_CHECKING:  # a part's process writes no description: it never loads these
    from simulator.admin.server import AdminServer
    from simulator.console.server import ConsoleServer


def write_trust(settings: SandboxSettings, tls: SandboxTls) -> None:
    """`DATA/ca.pem`, and the CA's key (owner-only: the conformance kit mints its counterparts' from it)."""
    if settings.data_dir is None:
        return
    (settings.data_dir / "ca.pem").write_bytes(tls.ca_pem)
    if tls.ca is not None:
        write_private(settings.data_dir / CA_KEY_FILE, tls.ca.private_key_pem.bytes().decode("ascii"))


@dataclass(frozen=True)
class MachineAddresses:
    """Where a running machine listens and logs, as `sandbox.json` tells it."""

    inbound: int
    relay: int
    mail_log: Path | None
    pid: int


def description(settings: SandboxSettings, store: ConfigStore, machines: dict[str, MachineAddresses],
                endpoints: dict[str, tuple[int, int]], faults: dict[str, tuple[Fault, ...]],
                admin: AdminServer, console: ConsoleServer) -> dict[str, Any]:
    """The content of `DATA/sandbox.json`, whether the parts run in one process or each in its own;
    `endpoints`: (port, process ID) by endpoint name."""
    s, data = settings, settings.data_dir
    first = store.committed.effective(next(iter(machines)))
    return {
        "machines": {name: {
            "inbound": {"host": s.host, "port": each.inbound},
            "relay": {"host": s.host, "port": each.relay},
            "mail_log": str(each.mail_log) if each.mail_log else None,
            "group": store.committed.topology.group_of(name),
            "pid": each.pid,
        } for name, each in machines.items()},
        "threat_defense": {"host": s.host, "port": endpoints["threat_defense"][0],
                           "pid": endpoints["threat_defense"][1],
                           "intake_addresses": list(s.intake_addresses), "mode": s.td_mode,
                           "faults": [str(f) for f in faults["threat_defense"]]},
        "mailbox": {"host": s.host, "port": endpoints["mailbox"][0], "pid": endpoints["mailbox"][1],
                    "faults": [str(f) for f in faults["mailbox"]]},
        "admin": {"url": admin.url, "token": admin.token},
        "console": {"url": console.url, "user": "admin", "password": console.password},
        "intake_address": s.intake_addresses[0],
        "tdc_enabled": first.connector.enabled,
        "local_domains": list(first.local_domains),
        "ca_cert": str(data / "ca.pem") if data else None,
        "data_dir": str(data) if data else None,
        "pid": os.getpid(),
    }


def publish(settings: SandboxSettings, described: dict[str, Any]) -> dict[str, Any]:
    """Write `DATA/sandbox.json` (owner-only) so that `tdcsim` finds the sandbox; return it."""
    if settings.data_dir is not None:
        write_private(state_file(settings.data_dir), json.dumps(described, indent=2) + "\n")
    return described


def withdraw(settings: SandboxSettings) -> None:
    """Remove `DATA/sandbox.json`: nothing answers there any more."""
    if settings.data_dir is not None:
        state_file(settings.data_dir).unlink(missing_ok=True)


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
