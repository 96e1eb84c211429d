"""Training > Labs: guided exercises from the chapter's procedures, checked against the sandbox's real
state (BEHAVIOUR.md §11.2), for the admin API, the command line (through the API) and the console.

Design rule: one evaluation, three surfaces. `LabsAdmin` takes a snapshot of the running sandbox on its
event loop (each part's state awaited, the parts asked together; of the journals only the new ones,
`labs_arrivals.py`, their heads read off the loop, in a thread), then runs the
labs' check kinds on that `LabState` (`labs_checks.py`, `labs_state.py`: pure); the labs themselves are
data files (`labs_files.py`, `labs_data/*.toml`).
A start is a Submit and a Commit through the one store and `ConfigAdmin.commit` (`labs_start.py`), so it
answers once every machine runs the lab's configuration; it is refused while changes are pending (it
would commit them too); its fault plans are set by the operation PUT /faults calls.

Where it lives: in the admin room (layer 3). It needs the admin operations (`ConfigAdmin`,
`MonitorAdmin`) and `RunningSandbox`, and the API's handlers must serve it: a room above admin would be
imported upward by `handlers.py`, one below could not use the operations. The console (3.5) reaches it
as `Operations.labs`, like every other operation. Every import here points down (core, endpoints) or
stays in the room, so tests/test_architecture.py needs no new room.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Sequence
from typing import Any

from simulator.admin.actions import ConfigAdmin
from simulator.admin.labs_arrivals import Arrivals
from simulator.admin.labs_checks import CHECKS
from simulator.admin.labs_files import Lab, shipped_labs
from simulator.admin.labs_start import CONFIG_ACTIONS, StartContext, changed_config, described
from simulator.admin.labs_state import LabState, Result, for_lab, start_comment
from simulator.admin.monitor import MonitorAdmin
from simulator.admin.operated import RunningSandbox
from simulator.core.errors import BadRequest, ConfigError, NotFound
from simulator.core.mail.messages import TDC_QUEUE

PENDING_REFUSAL = ("there are uncommitted changes, and a lab's start commits: commit or abandon them "
                   "first (Commit Changes)")


def unknown_lab(name: str, labs: Sequence[Lab]) -> NotFound:
    names = [lab.id for lab in labs]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.4)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return NotFound(f"lab: no lab {name!r} ({guess}labs: {', '.join(names)})")


def definition_json(lab: Lab) -> dict[str, Any]:
    """A lab as written: goal, steps, hints, what its start sets up and what its checks check."""
    return {"name": lab.id, "number": lab.number, "title": lab.title, "goal": lab.goal,
            "steps": list(lab.steps), "hints": list(lab.hints), "has_start": bool(lab.start),
            "start": [described(action) for action in lab.start],
            "checks": [{"says": check.says, "kind": check.kind} for check in lab.checks]}


def lab_json(lab: Lab, results: Sequence[Result]) -> dict[str, Any]:
    """A lab with each check's result; `done` when every check is."""
    checks = [{"says": check.says, "kind": check.kind, "done": result.done, "reason": result.reason}
              for check, result in zip(lab.checks, results, strict=True)]
    finished = all(result.done for result in results)
    first_missing = next((result.reason for result in results if not result.done), "")
    return {**definition_json(lab), "done": finished, "status": "done" if finished else "not done",
            "missing": first_missing, "checks": checks}


class LabsAdmin:
    """Lists the labs, checks them against the sandbox and starts them."""

    def __init__(self, sandbox: RunningSandbox, config: ConfigAdmin, monitor: MonitorAdmin,
                 labs: tuple[Lab, ...] | None = None) -> None:
        self._sandbox, self._config, self._monitor = sandbox, config, monitor
        self._arrivals = Arrivals(sandbox)
        self.labs = shipped_labs() if labs is None else labs

    def lab(self, name: str) -> Lab:
        """The lab called `name`; NotFound with the closest name."""
        found = next((lab for lab in self.labs if lab.id == name), None)
        if found is None:
            raise unknown_lab(name, self.labs)
        return found

    def definition(self, name: str) -> dict[str, Any]:
        """One lab as written, unchecked."""
        return definition_json(self.lab(name))

    async def state(self) -> LabState:
        """A snapshot of what the checks read: the parts' live state first (awaited), then the store's,
        with no await between its reads."""
        sandbox, store = self._sandbox, self._config.store
        names = list(sandbox.machine_names())
        statuses, logs, arrived = await asyncio.gather(
            asyncio.gather(*(self._monitor.destinations(machine) for machine in names)),
            asyncio.gather(*(sandbox.recent_log(machine) for machine in names)), self._arrivals.read())
        waiting = {machine: sum(row.active_recipients for row in rows if row.host == TDC_QUEUE)
                   for machine, rows in zip(names, statuses, strict=True)}
        log = {machine: tuple(lines) for machine, lines in zip(names, logs, strict=True)}
        commits = store.commits()
        return LabState(
            committed=store.committed, pending=store.pending,
            since=None, commits=tuple((each.at, each.comment) for each in commits), tenants=sandbox.tenants(),
            faults={endpoint: tuple(str(fault) for fault in plan)
                    for endpoint, plan in sandbox.fault_plans().items()},
            tdc_queue=waiting, log=log, arrivals=arrived)

    @staticmethod
    def results(lab: Lab, state: LabState) -> list[Result]:
        seen = for_lab(state, lab.id)
        return [CHECKS[check.kind][0](seen, check.params) for check in lab.checks]

    async def overview(self) -> dict[str, Any]:
        """Every lab, by number, with its status (one snapshot for all)."""
        state = await self.state()
        return {"labs": [{key: value for key, value in lab_json(lab, self.results(lab, state)).items()
                          if key in ("name", "number", "title", "done", "status", "missing", "has_start")}
                         for lab in self.labs]}

    async def view(self, name: str) -> dict[str, Any]:
        """One lab: goal, steps, hints and each check's result."""
        lab = self.lab(name)
        return lab_json(lab, self.results(lab, await self.state()))

    async def start(self, name: str) -> dict[str, Any]:
        """Set the lab up: its configuration (Submit + Commit, the comment naming the lab), its faults."""
        lab = self.lab(name)
        if not lab.start:
            raise BadRequest(f"lab {lab.id} has no start: begin with its first step")
        store = self._config.store
        context = StartContext(self._sandbox.tenants()[0])
        wanted = changed_config(lab.start, store.committed, context)
        if wanted != store.committed:
            if store.pending is not None:
                raise ConfigError("start", PENDING_REFUSAL)
            self._config.submit(lambda _: wanted)
            await self._config.commit(start_comment(lab.id, lab.title))
        for action in lab.start:
            if action["action"] not in CONFIG_ACTIONS:
                await self._monitor.set_faults(action["endpoint"], list(action["faults"]))
        done = "; ".join(described(action) for action in lab.start)
        return {"message": f"Lab {lab.id} started: {done}.", "lab": await self.view(name)}
