"""`tdcsim sandbox` runs each machine and each mock endpoint in its own process, like appliances, and
never leaves one behind: stopped with SIGTERM or SIGINT, killed with SIGKILL, a port in use. (A part
that ends alone: test_crash.py, whose kill -9 of a machine's process checks the same.)

Every process a sandbox starts inherits a mark in its environment, so a test finds what is left of
*its* sandbox (and of no other test's) by reading /proc (Linux, like the rest of these tests).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from fixtures.processes import (
    FREE_PORTS,
    GONE_WITHIN,
    MARK,
    SandboxProcess,
    left_after,
    marked,
    occupied_port,
)
from simulator.admin.client import AdminClient
from simulator.core.clock import ManualClock
from simulator.core.errors import Refused
from simulator.core.mail.samples import MessageFactory
from simulator.sandbox.settings import SandboxSettings
from simulator.sandbox.supervisor import STOP_WAIT, ProcessSandbox
from simulator.testing.smtp_client import send
from simulator.transport.tls import SERVER_NAMES, SandboxTls


@pytest.fixture
def mark() -> str:
    return uuid.uuid4().hex


def part_pids(description: dict[str, object]) -> dict[str, int]:
    machines = description["machines"]
    assert isinstance(machines, dict)
    pids = {name: machine["pid"] for name, machine in machines.items()}
    for endpoint in ("threat_defense", "mailbox"):
        section = description[endpoint]
        assert isinstance(section, dict)
        pids[endpoint] = section["pid"]
    return pids


def started(data_dir: Path, mark: str) -> Iterator[tuple[SandboxProcess, dict[str, object]]]:
    """A two-machine `tdcsim sandbox` for the `with` block, run from a folder outside the repository;
    afterwards, nothing of it is left."""
    with SandboxProcess(data_dir, "--machines", "2", cwd=data_dir.parent, env={MARK: mark}) as sandbox:
        yield sandbox, sandbox.start()
    assert left_after(mark) == []


@pytest.fixture
def two_machines(tmp_path: Path, mark: str) -> Iterator[tuple[SandboxProcess, dict[str, object]]]:
    """One for this test alone (it stops or kills it)."""
    yield from started(tmp_path / "data", mark)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxProcess, dict[str, object]]]:
    """One for the tests that only look (and one commit that turns the connector off)."""
    yield from started(tmp_path_factory.mktemp("shared") / "data", uuid.uuid4().hex)


def test_each_machine_and_endpoint_runs_in_its_own_process(
        shared: tuple[SandboxProcess, dict[str, object]]) -> None:
    _, description = shared
    pids = part_pids(description)
    assert sorted(pids) == ["esa1", "esa2", "mailbox", "threat_defense"]
    assert len(set(pids.values()) | {description["pid"]}) == 5
    assert all(Path(f"/proc/{pid}").exists() for pid in pids.values())


def test_a_commit_reaches_every_machine_process(
        shared: tuple[SandboxProcess, dict[str, object]]) -> None:
    _, description = shared
    admin = description["admin"]
    assert isinstance(admin, dict)
    client = AdminClient(admin["url"], admin["token"])
    client.call("POST", "/tdc/disable", {"level": "cluster"})
    client.call("POST", "/commit", {"comment": "connector off everywhere"})
    machines = description["machines"]
    assert isinstance(machines, dict)
    inbound = machines["esa2"]["inbound"]
    outcome = send(inbound["host"], inbound["port"], MessageFactory(seed=3).message())
    assert outcome.accepted
    deadline = time.monotonic() + GONE_WITHIN
    log = Path(machines["esa2"]["mail_log"])
    while "Message finished MID 1 done" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert "Message finished MID 1 done" in text
    assert "TDC:" not in text  # esa2's own process runs the committed configuration: no copy


def banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        return client.recv(512)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_start_describe_and_stop_every_part_on_a_signal(
        two_machines: tuple[SandboxProcess, dict[str, object]], signum: signal.Signals) -> None:
    """What `sandbox.json` and the banner say once it listens; the signal ends it (status 0, no
    traceback, `sandbox.json` gone) and every part with it (the fixture's check)."""
    sandbox, description = two_machines
    machines = description["machines"]
    assert isinstance(machines, dict)
    ports = [machine[listener]["port"] for machine in machines.values() for listener in ("inbound", "relay")]
    ports += [description[endpoint]["port"] for endpoint in ("threat_defense", "mailbox")]  # type: ignore[index]
    assert all(isinstance(port, int) and port > 0 for port in ports)
    assert len(set(ports)) == 6
    assert description["tdc_enabled"] is True
    assert description["intake_address"] in description["threat_defense"]["intake_addresses"]  # type: ignore[index]
    assert Path(str(description["ca_cert"])).is_file()
    assert banner(machines["esa1"]["inbound"]["port"]).startswith(b"220")
    assert sandbox.stop(signum) == 0, sandbox.stderr()
    assert "Traceback" not in sandbox.stderr()
    assert not sandbox.state_file.exists()
    assert "tdc-simulator sandbox stopped" in sandbox.stdout()
    assert_aligned(sandbox.stdout())


def assert_aligned(printed: str) -> None:
    """The start-up banner's values all start in one column, two spaces after the longest label."""
    rows = [line for line in printed.splitlines() if line.startswith("  ")]
    starts = {re.search(r"\S {2,}\S", line).end() - 1 for line in rows}  # type: ignore[union-attr]
    assert len(rows) >= 9 and len(starts) == 1, "\n".join(rows)
    labels = {line[:min(starts)].strip() for line in rows}
    assert {"Threat Defense Connector", "local domains", "CA certificate", "admin API"} <= labels


def test_a_killed_supervisor_leaves_no_part_behind(
        two_machines: tuple[SandboxProcess, dict[str, object]], mark: str) -> None:
    sandbox, _ = two_machines
    assert len(marked(mark)) >= 5  # the supervisor, its parts (and multiprocessing's fork server)
    sandbox.kill()
    assert left_after(mark) == []


@pytest.fixture
def busy_port() -> Iterator[int]:
    with occupied_port() as port:
        yield port


@pytest.mark.bad_input
@pytest.mark.parametrize("flag", ["--mailbox-port", "--inbound-port"])
def test_a_part_that_cannot_bind_stops_every_part_and_names_the_port(
        tmp_path: Path, mark: str, busy_port: int, flag: str) -> None:
    ports = list(FREE_PORTS)
    ports[ports.index(flag) + 1] = str(busy_port)
    data = tmp_path / "data"
    done = subprocess.run([sys.executable, "-m", "simulator.cli", "sandbox", "--data-dir", str(data), *ports],
                          capture_output=True, text=True, timeout=60, env={**os.environ, MARK: mark})
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()  # one line, no traceback
    assert line.startswith("tdcsim: cannot start ") and f"127.0.0.1:{busy_port}" in line
    assert left_after(mark) == []
    assert not (data / "sandbox.json").exists()


def test_sandbox_json_names_every_part_once_each_listens(
        shared: tuple[SandboxProcess, dict[str, object]]) -> None:
    sandbox, description = shared
    assert json.loads(sandbox.state_file.read_text()) == description
    for name, pid in part_pids(description).items():
        assert Path(f"/proc/{pid}").exists(), name


@pytest.mark.bad_input
def test_a_request_for_a_part_that_has_ended_gets_503_naming_it(tmp_path: Path) -> None:
    """Between a part's end and the sandbox's stop, the admin API answers for the missing part with 503,
    and the supervisor has its one-line failure; stopping the rest still works."""
    async def scenario() -> None:
        settings = SandboxSettings(tmp_path / "data", inbound_port=0, relay_port=0, threat_defense_port=0,
                                   mailbox_port=0)
        sandbox = ProcessSandbox(settings, SandboxTls.issue(trustme.CA(), *SERVER_NAMES), ManualClock())
        await sandbox.start()
        try:
            esa1 = sandbox.describe()["machines"]["esa1"]["pid"]
            os.kill(esa1, signal.SIGKILL)
            await asyncio.wait_for(sandbox.failed.wait(), GONE_WITHIN)
            assert sandbox.failure == f"esa1 (pid {esa1}) ended with status -9; stopping the sandbox"
            client = AdminClient(sandbox.admin.url, sandbox.admin.token)
            with pytest.raises(Refused) as refused:
                await asyncio.to_thread(client.get, "/status", machine="esa1")
            assert refused.value.status == 503 and "esa1" in str(refused.value)
            assert await sandbox.journals() == []  # the other parts still answer
        finally:
            await asyncio.wait_for(sandbox.stop(), 3 * STOP_WAIT)
    asyncio.run(scenario())


@pytest.mark.bad_input
def test_a_commit_while_a_machine_has_died_is_503_naming_it_and_the_sandbox_stops(tmp_path: Path) -> None:
    """The store has committed, one machine's process is gone: the admin API's commit answers 503 naming
    that machine and saying the commit is stored (never 500, never a hang), the other machine runs the
    commit, and the supervisor has its one-line failure (on which `tdcsim sandbox` stops)."""
    async def scenario() -> None:
        settings = SandboxSettings(tmp_path / "data", inbound_port=0, relay_port=0, threat_defense_port=0,
                                   mailbox_port=0, machines=2)
        sandbox = ProcessSandbox(settings, SandboxTls.issue(trustme.CA(), *SERVER_NAMES), ManualClock())
        await sandbox.start()
        try:
            client = AdminClient(sandbox.admin.url, sandbox.admin.token)
            await asyncio.to_thread(client.call, "POST", "/tdc/disable", {"level": "cluster"})
            esa1 = sandbox.describe()["machines"]["esa1"]["pid"]
            os.kill(esa1, signal.SIGKILL)
            with pytest.raises(Refused) as refused:
                await asyncio.wait_for(asyncio.to_thread(client.call, "POST", "/commit", {"comment": "off"}),
                                       GONE_WITHIN)
            assert refused.value.status == 503
            assert re.fullmatch(r"Changes committed: .+, but not every machine runs it: esa1 .+",
                                str(refused.value)), str(refused.value)
            assert [each.comment for each in sandbox.config_store().commits()] == ["off"]
            await asyncio.wait_for(sandbox.failed.wait(), GONE_WITHIN)
            assert sandbox.failure == f"esa1 (pid {esa1}) ended with status -9; stopping the sandbox"
            inbound = sandbox.listeners("esa2").inbound
            outcome = await asyncio.to_thread(send, *inbound, MessageFactory(seed=5).message())
            assert outcome.accepted
            texts = await finished_on(sandbox, "esa2", outcome.mid)
            assert not [text for text in texts if text.startswith("TDC:")]  # esa2 runs the commit: no copy
        finally:
            await asyncio.wait_for(sandbox.stop(), 3 * STOP_WAIT)
    asyncio.run(scenario())


async def finished_on(sandbox: ProcessSandbox, machine: str, mid: int | None) -> list[str]:
    """`machine`'s kept mail-log texts once it has logged that message `mid` is done."""
    deadline = time.monotonic() + GONE_WITHIN
    while True:
        texts = [line.text for line in await sandbox.recent_log(machine)]
        if f"Message finished MID {mid} done" in texts or time.monotonic() > deadline:
            assert f"Message finished MID {mid} done" in texts, texts
            return texts
        await asyncio.sleep(0.05)


def test_one_process_runs_every_part_in_the_sandboxs_own_process(tmp_path: Path, mark: str) -> None:
    with SandboxProcess(tmp_path / "data", "--one-process", env={MARK: mark}) as sandbox:
        description = sandbox.start()
        assert set(part_pids(description).values()) == {description["pid"]}
        assert sandbox.stop(signal.SIGTERM) == 0
    assert left_after(mark) == []
