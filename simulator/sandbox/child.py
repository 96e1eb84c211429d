"""One part of the sandbox in its own process: Threat Defense, the mailbox host, or one gateway machine.

Design rule: the part is built by the same factory as in one process (`parts.py`) and answers the
supervisor's calls over its control channel; it reports `started` once it listens (or why it could
not) and stops when the supervisor says so, when asked with SIGTERM, or when the supervisor is gone
(its end of the channel closes; on Linux the kernel also sends SIGTERM when the parent dies), so
that a killed supervisor leaves no part behind. Ctrl+C reaches the whole process group: the part
ignores SIGINT and lets the supervisor stop it in order.

The supervisor never imports this module (it hands a part its `roles.Role` and `forking.run_part`): the
fork server imports it, and with it the parts' code, once before it forks any part (`forking.PRELOAD`).
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from datetime import timedelta
from typing import Any

import trustme

from simulator.core.clock import Clock, ManualClock, SystemClock
from simulator.sandbox.channel import Channel, ChannelClosed
from simulator.sandbox.parts import (
    Endpoint,
    MachineControl,
    Mailbox,
    Remediate,
    ThreatDefense,
    build_machine,
)
from simulator.sandbox.roles import Role, Started
from simulator.sandbox.state import MachineAddresses
from simulator.transport.tls import SandboxTls

PR_SET_PDEATHSIG = 1


class Appliance:
    """What the supervisor may ask of any part besides the part's own methods."""

    def __init__(self, clock: Clock, machine: MachineControl | None) -> None:
        self._clock, self._machine = clock, machine
        self.stopping = asyncio.Event()

    def advance_clock(self, delta: timedelta) -> None:
        """Move this part's manual clock; a machine looks at what is due."""
        assert isinstance(self._clock, ManualClock), "only a manual clock is moved"
        self._clock.advance(delta)
        if self._machine is not None:
            self._machine.poke()

    def stop(self) -> None:
        self.stopping.set()


def main(role: Role, control: socket.socket) -> None:
    """The process's entry point (through `forking.run_part`, multiprocessing's target)."""
    die_with_parent()
    os.umask(role.umask)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # the mail log tells failed handshakes
    sys.exit(asyncio.run(run(role, control)))


def die_with_parent() -> None:
    """Ask Linux for SIGTERM when the parent process dies (elsewhere the channel's end does it)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def run(role: Role, control: socket.socket) -> int:
    """Build and start the part, serve the supervisor until told to stop; the exit status."""
    clock: Clock = ManualClock(role.clock_start) if role.clock_start else SystemClock()
    tls = SandboxTls.issue(trustme.CA.from_pem(*role.ca), *role.names)
    reader, writer = await asyncio.open_unix_connection(sock=control)
    forward = Forwarder()
    part, machine = build(role, tls, clock, forward.remediate)
    appliance = Appliance(clock, machine)
    channel = forward.channel = Channel(f"the supervisor of {role.name}", reader, writer, appliance, part)
    serving = asyncio.create_task(channel.serve())
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, appliance.stop)
    try:
        started: Started | None = await start(role, part)
        error = None
    except Exception as trouble:
        started, error = None, str(trouble)
    try:
        await channel.call("started", started, error)
    except ChannelClosed:  # the supervisor is gone: nobody wants this part any more
        started = None
    if started is None:
        await stop(part)
        return 1
    gc.freeze()  # what start-up made lives as long as the part: full collections skip it (~34k objects)
    ended = asyncio.create_task(channel.closed.wait())
    await asyncio.wait([ended, asyncio.create_task(appliance.stopping.wait())],
                       return_when=asyncio.FIRST_COMPLETED)
    await stop(part)
    channel.close()
    serving.cancel()
    return 0


def build(role: Role, tls: SandboxTls, clock: Clock,
          remediate: Remediate) -> tuple[Endpoint | MachineControl, MachineControl | None]:
    """The part `role` names, from the factories in `parts.py`."""
    if role.part == "threat_defense":
        return ThreatDefense(role.settings, tls, clock, remediate), None
    if role.part == "mailbox":
        return Mailbox(role.settings, tls, clock), None
    assert role.config is not None
    control = MachineControl(build_machine(role.settings, role.index, role.config, tls, clock))
    return control, control


class Forwarder:
    """Threat Defense's remediation in read/write mode: handed to the supervisor, which asks the
    mailbox host's process; sent in order, not waited for (remediation never holds up a journal)."""

    def __init__(self) -> None:
        self.channel: Channel | None = None
        self._sent: set[asyncio.Task[Any]] = set()

    def remediate(self, recipient: str, message_id: str, folder: str) -> None:
        assert self.channel is not None, "remediation before the channel exists"
        task = asyncio.create_task(self.channel.call("remediate", recipient, message_id, folder))
        self._sent.add(task)
        task.add_done_callback(self._sent.discard)


async def start(role: Role, part: Endpoint | MachineControl) -> Started:
    if isinstance(part, MachineControl):
        machine = part.machine
        await machine.start()
        return Started(machine=MachineAddresses(machine.inbound.port, machine.relay.port, machine.log.path,
                                                os.getpid()))
    await part.server.start()
    await part.apply_faults(getattr(role.settings, f"{role.part}_faults"))  # `down`: bound, then paused
    return Started(port=part.server.port)


async def stop(part: Endpoint | MachineControl) -> None:
    if isinstance(part, MachineControl):
        await part.machine.stop()
    else:
        await part.server.stop()
