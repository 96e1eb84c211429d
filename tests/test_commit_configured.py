"""A commit answers only once every machine runs it (issue 13: a machine may be a process of its own).

The admin API's POST /commit, the console's Commit and a lab's start all commit through
`ConfigAdmin.commit`, which awaits `RunningSandbox.configured` after the store's commit: here a
sandbox whose machines acknowledge only when the test says so, with no sockets and no timing.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from typing import Any

import simulator
from simulator.admin.handlers import Operations
from simulator.admin.operated import JournalWindow
from simulator.core.clock import ManualClock
from simulator.core.config.cluster import ClusterConfig, Topology
from simulator.core.config.store import ConfigStore
from simulator.core.config.values import GatewayConfig
from simulator.core.reports.logformat import LogLine
from simulator.core.reports.status import DestinationStatus
from simulator.endpoints.faults import Fault

TENANT = "sandbox-tenant@intake.threatdefense.test"
PACKAGE_ROOT = Path(simulator.__file__).parent


class AcknowledgingSandbox:
    """What the admin operations read of a sandbox whose machines acknowledge a commit on `acknowledge`."""

    def __init__(self) -> None:
        topology = Topology((("Main_Group", ("esa1",)),))
        self.store = ConfigStore(ClusterConfig(topology, GatewayConfig()), ManualClock())
        self.acknowledged = asyncio.Event()
        self.runs: list[ClusterConfig] = []  # what the store had committed when each wait began

    def config_store(self) -> ConfigStore:
        return self.store

    async def configured(self) -> None:
        self.runs.append(self.store.committed)
        await self.acknowledged.wait()

    def machine_names(self) -> Sequence[str]:
        return ["esa1"]

    def tenants(self) -> tuple[str, ...]:
        return (TENANT,)

    def fault_plans(self) -> dict[str, tuple[Fault, ...]]:
        return {}

    async def apply_faults(self, endpoint: str, faults: Iterable[Fault]) -> None:
        """The custom-intake lab's start scripts no fault."""

    async def delivery_status(self, machine: str) -> list[DestinationStatus]:
        return []

    async def recent_log(self, machine: str) -> list[LogLine]:
        return []

    async def journals_after(self, position: int) -> JournalWindow:
        return JournalWindow(1, 1, ())


async def held_until_acknowledged(sandbox: AcknowledgingSandbox, operation: Coroutine[Any, Any, Any]) -> Any:
    """Run `operation`; it must still wait after the store committed, and answer once acknowledged."""
    running = asyncio.ensure_future(operation)
    while not sandbox.runs:
        assert not running.done(), running.result()
        await asyncio.sleep(0)
    assert sandbox.runs == [sandbox.store.committed] and sandbox.store.pending is None, "committed first"
    for _ in range(10):
        await asyncio.sleep(0)
    assert not running.done(), "it answered before every machine ran the commit"
    sandbox.acknowledged.set()
    return await running


def test_a_commit_answers_after_the_store_committed_and_every_machine_acknowledged() -> None:
    async def scenario() -> str:
        sandbox = AcknowledgingSandbox()
        ops = Operations.over(sandbox)  # type: ignore[arg-type]
        ops.config.enable(TENANT, "cluster")
        answer: str = await held_until_acknowledged(sandbox, ops.config.commit("on"))
        return answer

    assert asyncio.run(scenario()).startswith("Changes committed: ")


def test_a_lab_start_answers_after_every_machine_runs_the_labs_configuration() -> None:
    async def scenario() -> tuple[dict[str, Any], AcknowledgingSandbox]:
        sandbox = AcknowledgingSandbox()
        ops = Operations.over(sandbox)  # type: ignore[arg-type]
        return await held_until_acknowledged(sandbox, ops.labs.start("custom-intake")), sandbox

    answer, sandbox = asyncio.run(scenario())
    assert answer["message"].startswith("Lab custom-intake started: ")
    assert sandbox.store.committed.effective("esa1").connector.enabled


def test_only_config_admin_commits_so_every_surface_waits_for_the_machines() -> None:
    """One definition per rule: no other admin or console module calls a store's `commit`."""
    committing = sorted(
        str(path.relative_to(PACKAGE_ROOT)) for room in ("admin", "console")
        for path in (PACKAGE_ROOT / room).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
        and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "store")
    assert committing == ["admin/actions.py"]
