"""Operator views of a running sandbox, without HTTP: delivery status, tophosts, the mail log,
message tracking and the endpoints' fault plans (BEHAVIOUR.md §6, §7, §8.7).

Design rule: reads of the machines' live objects, so these run on the sandbox's event loop (the
admin server's handlers do). `tophosts` is a machine-mode command (§6.2): without a machine it is
refused, never answered for the whole cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.admin import to_json
from simulator.errors import BadRequest, ConfigError, NotFound, UnknownMessage
from simulator.faults import parse_fault
from simulator.messages import TDC_QUEUE
from simulator.status import DEFAULT_SORT, DestinationStatus, sort_key
from simulator.tracking import track, track_text

if TYPE_CHECKING:
    from simulator.gateway import GatewayMachine
    from simulator.sandbox import Sandbox

ENDPOINTS = ("threat_defense", "mailbox")
DEFAULT_TAIL, LONGEST_TAIL = 20, 10_000


def machine_mode_only(machines: list[str]) -> BadRequest:
    return BadRequest(f"tophosts is available in machine mode only: give a machine "
                      f"(machines: {', '.join(machines)})")


class MonitorAdmin:
    """What the operator can watch, per machine, and the faults scripted on the endpoints."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def machine(self, name: str | None) -> GatewayMachine:
        """The machine called `name` (None: the first one)."""
        machines = self._sandbox.machines
        found = next(iter(machines.values())) if name is None else machines.get(name)
        if found is None:
            raise NotFound(f"machine: unknown machine {name!r} (machines: {', '.join(machines)})")
        return found

    def destinations(self, machine: GatewayMachine) -> list[DestinationStatus]:
        """Every destination of `machine`, `the.tdc.queue` always among them."""
        rows = machine.queues.status()
        if TDC_QUEUE not in {row.host for row in rows}:
            rows.append(DestinationStatus(TDC_QUEUE))
        return sorted(rows, key=lambda row: row.host)

    def status(self, name: str | None) -> dict[str, Any]:
        """Delivery status of one machine, or of each."""
        chosen = [self.machine(name)] if name is not None else list(self._sandbox.machines.values())
        return {"as_of": to_json(self._sandbox.clock.now()),
                "machines": {machine.name: to_json(self.destinations(machine)) for machine in chosen}}

    def tophosts(self, name: str | None, sort: str = DEFAULT_SORT) -> dict[str, Any]:
        """One machine's destinations sorted by a counter, largest first."""
        if name is None:
            raise machine_mode_only(list(self._sandbox.machines))
        machine = self.machine(name)
        try:
            order = sort_key(sort)
        except ValueError as error:
            raise BadRequest(f"sort: {error}") from None
        rows = sorted(machine.queues.status(), key=order)
        return {"machine": machine.name, "sort": sort, "as_of": to_json(self._sandbox.clock.now()),
                "hosts": to_json(rows)}

    def tail(self, name: str | None, lines: int = DEFAULT_TAIL) -> dict[str, Any]:
        """The last `lines` lines of a machine's mail log."""
        if not 1 <= lines <= LONGEST_TAIL:
            raise BadRequest(f"lines must be a number from 1 to {LONGEST_TAIL}, not {lines}")
        machine = self.machine(name)
        return {"machine": machine.name, "lines": [str(line) for line in machine.log.lines()[-lines:]]}

    def tracking(self, name: str | None, mid: int) -> dict[str, Any]:
        """One message's history on a machine, oldest first."""
        machine = self.machine(name)
        path = machine.log.path  # the file has every line; memory keeps only the latest ones
        try:
            history = (track_text(path.read_text(encoding="utf-8").splitlines(), mid) if path
                       else track(machine.log.lines(), mid))
        except UnknownMessage:
            raise NotFound(f"message: no message {mid} in {machine.name}'s mail log") from None
        return {"machine": machine.name, "mid": mid, "history": history}

    def quarantine(self, name: str | None) -> dict[str, Any]:
        """What a machine's quarantines hold."""
        machine = self.machine(name)
        held = [{"mid": h.mid, "quarantine": h.quarantine, "sender": h.message.mail_from,
                 "recipients": list(h.recipients), "policy": h.policy}
                for h in sorted(machine.quarantines.held.values(), key=lambda h: h.mid)]
        return {"machine": machine.name, "held": held}

    async def release(self, name: str | None, mid: int) -> dict[str, Any]:
        """Release a quarantined message: delivered, and copied, now."""
        machine = self.machine(name)
        return {"machine": machine.name, "message": await machine.pipeline.release(mid)}

    def faults(self) -> dict[str, list[str]]:
        """The fault plan of each endpoint, in the CLI syntax."""
        sandbox = self._sandbox
        plans = {"threat_defense": sandbox.threat_defense_faults, "mailbox": sandbox.mailbox_faults}
        return {endpoint: [str(fault) for fault in plan.faults] for endpoint, plan in plans.items()}

    async def set_faults(self, endpoint: str, specs: list[str]) -> dict[str, list[str]]:
        """Replace an endpoint's fault plan (`[]` clears it; `down` stops it listening)."""
        if endpoint not in ENDPOINTS:
            raise NotFound(f"endpoint: unknown endpoint {endpoint!r} (endpoints: {', '.join(ENDPOINTS)})")
        try:
            faults = [parse_fault(spec) for spec in specs]
        except ValueError as error:  # names the bad fault and the valid kinds
            raise ConfigError("faults", str(error)) from None
        await self._sandbox.apply_faults(endpoint, faults)
        return self.faults()
