"""What the test facade asks of a running sandbox, whichever way it runs: in one process
(`simulator.sandbox.Sandbox`, the fixtures' fast mode) or as a supervisor of one process per part
(`simulator.sandbox.supervisor.ProcessSandbox`).

Design rule: the facade and the step library reach a sandbox only through `SandboxUnderTest`: the
operator's operations (`RunningSandbox`, which the admin API and the console use too) plus a few
test-control ones (settle, move time, read the endpoints' records). Every read of a part's live state
is a coroutine, for the part may live in another process; the facade runs it on the sandbox's loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from simulator.admin.operated import RunningSandbox
from simulator.core.clock import Clock
from simulator.core.mail.messages import QueueEntry
from simulator.endpoints.mailbox import MailboxDelivery, Remediation
from simulator.sandbox import SandboxSettings
from simulator.transport.tls import SandboxTls


class AdminAddress(Protocol):
    """Where the admin API answers, and the bearer token it wants."""

    @property
    def url(self) -> str: ...

    @property
    def token(self) -> str: ...


class ConsoleAddress(Protocol):
    """Where the training console answers, and the password of its user `admin`."""

    @property
    def url(self) -> str: ...

    @property
    def password(self) -> str: ...


class SandboxUnderTest(RunningSandbox, Protocol):
    """A sandbox a test starts, drives and stops; everything but `start`/`stop` runs once started."""

    @property
    def settings(self) -> SandboxSettings: ...

    @property
    def admin(self) -> AdminAddress: ...

    @property
    def console(self) -> ConsoleAddress: ...

    async def start(self) -> None:
        """Start every part; return once each listens (on failure, stop what started and re-raise)."""
        ...

    async def stop(self) -> None: ...

    def endpoint_address(self, endpoint: str) -> tuple[str, int]:
        """("host", port) of the mock `threat_defense` or `mailbox` endpoint."""
        ...

    async def settle(self, timeout: float) -> None:
        """Return once no queue of any machine has anything due or in flight (TimeoutError after
        `timeout` seconds)."""
        ...

    async def next_attempt(self, machine: str) -> datetime | None:
        """When the earliest entry queued on `machine` is due (None: nothing queued)."""
        ...

    async def advance_clock(self, delta: timedelta) -> None:
        """Move every part's manual clock by `delta`; then every machine looks at what is due."""
        ...

    async def queued(self, machine: str, destination: str) -> list[QueueEntry]:
        """The entries waiting in one destination queue of `machine` (e.g. `the.tdc.queue`)."""
        ...

    async def mailbox_deliveries(self, recipient: str | None) -> list[MailboxDelivery]:
        """What `recipient`'s mailbox received (None: every mailbox), oldest first."""
        ...

    async def remediations(self) -> list[Remediation]:
        """The originals Threat Defense moved (read/write mode), oldest first."""
        ...

    def describe(self) -> dict[str, Any]:
        """The content of `DATA/sandbox.json`."""
        ...

    def publish(self) -> dict[str, Any]:
        """Write `DATA/sandbox.json` so that `tdcsim` finds this sandbox; return what it says."""
        ...

    def withdraw(self) -> None:
        """Remove `DATA/sandbox.json`."""
        ...


class SandboxFactory(Protocol):
    """Builds a sandbox, not started yet: the in-process `Sandbox` or the supervisor of processes."""

    def __call__(self, settings: SandboxSettings, tls: SandboxTls, clock: Clock) -> SandboxUnderTest: ...
