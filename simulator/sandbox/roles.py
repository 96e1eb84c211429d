"""What the supervisor and a part's process hand each other: the part's `Role` (pickled when the part
is forked) and what a part answers once it listens (`Started`).

Design rule: light to import (no gateway, no endpoint, no TLS minting): the supervisor imports this and
never the parts' code, which only the fork server and the parts it forks load (`child.py`,
`forking.PRELOAD`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from simulator.core.config.values import GatewayConfig
from simulator.sandbox.settings import SandboxSettings
from simulator.sandbox.state import MachineAddresses


@dataclass(frozen=True)
class Role:
    """What one process runs, as the supervisor hands it over (pickled)."""

    part: Literal["threat_defense", "mailbox", "machine"]
    settings: SandboxSettings
    #: The sandbox's CA (certificate, private key) and the names its certificates carry.
    ca: tuple[bytes, bytes]
    names: tuple[str, ...]
    #: None: the system clock; else a manual clock starting here (tests move it with `advance_clock`).
    clock_start: datetime | None = None
    machine: str = ""
    index: int = 0
    config: GatewayConfig | None = None
    #: The supervisor's umask (077 under `tdcsim sandbox`: the data dir is private), which a process
    #: forked from the fork server would not have.
    umask: int = 0o022

    @property
    def name(self) -> str:
        return self.machine or self.part


@dataclass(frozen=True)
class Started:
    """What a part tells the supervisor once it listens."""

    port: int = 0  # an endpoint's
    machine: MachineAddresses | None = None

