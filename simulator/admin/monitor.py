"""Operator views of a running sandbox, without HTTP: delivery status, tophosts, the mail log,
message tracking, the quarantines, the endpoints' fault plans and refused attempts (BEHAVIOUR.md §6,
§7, §8.7, §8.9); and the two queue actions, releasing a quarantined message and `delivernow`.

Design rule: asks the `RunningSandbox` for what it shows, on the sandbox's event loop (the admin
server's handlers run there), every machine at once (each may be a process: `asyncio.gather`, the
answers in topology order); message tracking and its search, which read the whole log, run off it,
in a thread. The tail reads only what it shows: the lines after `since` (a line number), the last
`lines` of them.
`tophosts` is a machine-mode command (§6.2): without a machine it is refused, never answered for the
whole cluster. `delivernow` is a cluster command: it reaches every machine; a destination that no
machine has a queue for is NotFound (the.tdc.queue is always known, as the delivery status shows it).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from simulator.admin.actions import to_json
from simulator.admin.bounds import shown
from simulator.admin.operated import RunningSandbox
from simulator.core.errors import BadRequest, ConfigError, NotFound, UnknownMessage
from simulator.core.mail.messages import TDC_QUEUE
from simulator.core.reports.search import Found, Query, search, search_text
from simulator.core.reports.status import DEFAULT_SORT, DestinationStatus, sort_key
from simulator.core.reports.tracking import track
from simulator.defaults import ENDPOINTS
from simulator.endpoints.faults import parse_fault
from simulator.gateway.rolled import read_log_lines, track_log

DEFAULT_TAIL, LONGEST_TAIL = 20, 10_000
MOST_FOUND = 500  # messages a search answers with (the newest); it says how many matched in all


def machine_mode_only(machines: list[str]) -> BadRequest:
    return BadRequest(f"tophosts is available in machine mode only: give a machine "
                      f"(machines: {', '.join(machines)})")


def rescheduled_line(count: int) -> str:
    """What `delivernow` answers: `Rescheduled 3 messages for immediate delivery.`"""
    return f"Rescheduled {count} message{'' if count == 1 else 's'} for immediate delivery."


def search_log(current: Path, query: Query) -> list[Found]:
    """Search every file of a machine's mail log (rolled ones and `mail.current`)."""
    return search_text(read_log_lines(current), query)


def known_endpoint(endpoint: str) -> None:
    """NotFound naming the endpoints unless `endpoint` is one."""
    if endpoint not in ENDPOINTS:
        raise NotFound(f"endpoint: unknown endpoint {endpoint!r} (endpoints: {', '.join(ENDPOINTS)})")


class MonitorAdmin:
    """What the operator can watch, per machine, and the faults scripted on the endpoints."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self._sandbox = sandbox
        # Tracking reads and parses the whole log: in one thread of its own, so the event loop (every
        # listener's) goes on, and calls queue behind each other instead of crowding it out of the GIL.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracking")

    def machine(self, name: str | None) -> str:
        """The machine called `name` (None: the first one); NotFound naming the machines."""
        machines = list(self._sandbox.machine_names())
        if name is None:
            return machines[0]
        if name not in machines:
            raise NotFound(f"machine: unknown machine {name!r} (machines: {', '.join(machines)})")
        return name

    async def destinations(self, machine: str) -> list[DestinationStatus]:
        """Every destination of `machine`, `the.tdc.queue` always among them."""
        rows = await self._sandbox.delivery_status(machine)
        if TDC_QUEUE not in {row.host for row in rows}:
            rows.append(DestinationStatus(TDC_QUEUE))
        return sorted(rows, key=lambda row: row.host)

    async def status(self, name: str | None) -> dict[str, Any]:
        """Delivery status of one machine, or of each."""
        chosen = [self.machine(name)] if name is not None else list(self._sandbox.machine_names())
        rows = await asyncio.gather(*(self.destinations(machine) for machine in chosen))
        return {"as_of": to_json(self._sandbox.clock.now()),
                "machines": {machine: to_json(each) for machine, each in zip(chosen, rows, strict=True)}}

    async def tophosts(self, name: str | None, sort: str = DEFAULT_SORT) -> dict[str, Any]:
        """One machine's destinations sorted by a counter, largest first."""
        if name is None:
            raise machine_mode_only(list(self._sandbox.machine_names()))
        machine = self.machine(name)
        try:
            order = sort_key(sort)
        except ValueError as error:
            raise BadRequest(f"sort: {error}") from None
        rows = sorted(await self._sandbox.delivery_status(machine), key=order)
        return {"machine": machine, "sort": sort, "as_of": to_json(self._sandbox.clock.now()),
                "hosts": to_json(rows)}

    async def tail(self, name: str | None, lines: int = DEFAULT_TAIL, since: int = 0) -> dict[str, Any]:
        """The last `lines` lines of a machine's mail log after line number `since` (0: any), and the
        number of the last line (`since` again when none is new): the `since` of the next call."""
        if not 1 <= lines <= LONGEST_TAIL:
            raise BadRequest(f"lines must be a number from 1 to {LONGEST_TAIL}, not {lines}")
        machine = self.machine(name)
        recent = await self._sandbox.recent_log(machine, since, lines)
        return {"machine": machine, "lines": [str(line) for line in recent],
                "last": recent[-1].number if recent else since}

    async def tracking(self, name: str | None, mid: int) -> dict[str, Any]:
        """One message's history on a machine, oldest first, read off the event loop."""
        machine = self.machine(name)
        path = self._sandbox.log_file(machine)  # the files have every line; memory keeps only the latest
        loop = asyncio.get_running_loop()
        reading = (loop.run_in_executor(self._reader, track_log, path, mid) if path else
                   loop.run_in_executor(self._reader, track, await self._sandbox.recent_log(machine), mid))
        try:
            history = await reading
        except UnknownMessage:
            raise NotFound(f"message: no message {mid} in {machine}'s mail log") from None
        return {"machine": machine, "mid": mid, "history": history}

    async def search(self, query: Query, name: str | None = None, most: int = MOST_FOUND) -> dict[str, Any]:
        """The messages of one machine's mail log (or of each machine's) that match `query`, newest
        first, at most `most` of them; read off the event loop, like `tracking`."""
        machines = [self.machine(name)] if name is not None else list(self._sandbox.machine_names())
        loop = asyncio.get_running_loop()
        found: list[tuple[str, Found]] = []
        for machine in machines:
            path = self._sandbox.log_file(machine)
            if path:
                messages = await loop.run_in_executor(self._reader, search_log, path, query)
            else:
                recent = await self._sandbox.recent_log(machine)
                messages = await loop.run_in_executor(self._reader, search, recent, query)
            found += [(machine, message) for message in messages]
        found.sort(key=lambda pair: (pair[1].at, pair[1].mid, pair[0]), reverse=True)
        return {"as_of": to_json(self._sandbox.clock.now()), "machines": machines, "total": len(found),
                "messages": [{"machine": machine, **to_json(message)} for machine, message in found[:most]]}

    async def quarantine(self, name: str | None) -> dict[str, Any]:
        """What a machine's quarantines hold."""
        machine = self.machine(name)
        held = [{"mid": h.mid, "quarantine": h.quarantine, "sender": h.message.mail_from,
                 "recipients": list(h.recipients), "policy": h.policy}
                for h in sorted(await self._sandbox.quarantined(machine), key=lambda h: h.mid)]
        return {"machine": machine, "held": held}

    async def release(self, name: str | None, mid: int) -> dict[str, Any]:
        """Release a quarantined message: delivered, and copied, now."""
        machine = self.machine(name)
        return {"machine": machine, "message": await self._sandbox.release(machine, mid)}

    async def deliver_now(self, destination: str | None) -> dict[str, Any]:
        """`delivernow`: on every machine, what waits for a retry (of one destination, or all) is due now."""
        machines = list(self._sandbox.machine_names())
        if destination is not None:
            rows = await asyncio.gather(*(self.destinations(machine) for machine in machines))
            if destination.lower() not in {row.host.lower() for each in rows for row in each}:
                raise NotFound(f"destination: no delivery queue for {shown(destination)} on any machine "
                               "(the delivery status lists the queues)")
        done = await asyncio.gather(*(self._sandbox.deliver_now(each, destination) for each in machines))
        counts = dict(zip(machines, done, strict=True))
        total = sum(counts.values())
        return {"message": rescheduled_line(total), "rescheduled": total, "machines": counts}

    def faults(self) -> dict[str, list[str]]:
        """The fault plan of each endpoint, in the CLI syntax."""
        return {endpoint: [str(fault) for fault in plan]
                for endpoint, plan in self._sandbox.fault_plans().items()}

    async def refused(self, endpoint: str) -> dict[str, Any]:
        """The attempts an endpoint refused (the latest it keeps), oldest first."""
        known_endpoint(endpoint)
        return {"endpoint": endpoint,
                "refused": [attempt.summary() for attempt in await self._sandbox.refused(endpoint)]}

    async def set_faults(self, endpoint: str, specs: list[str]) -> dict[str, list[str]]:
        """Replace an endpoint's fault plan (`[]` clears it; `down` stops it listening)."""
        known_endpoint(endpoint)
        try:
            faults = [parse_fault(spec) for spec in specs]
        except ValueError as error:  # names the bad fault and the valid kinds
            raise ConfigError("faults", str(error)) from None
        await self._sandbox.apply_faults(endpoint, faults)
        return self.faults()
