"""The admin API and the console cost nothing until used: a sandbox, in one process or as processes,
imports no aiohttp until a client first connects: most `tdcsim sandbox` processes a test starts never
serve an HTTP request. Nor does a process sandbox's supervisor carry its parts' code or certificates.
(That the first client is served all the same, in a fresh interpreter, is
test_appliances.py's `tdcsim sandbox` asked over its admin API, and test_admin_api.py's first-client
tests in one process.)

The subject is what a fresh interpreter imports, so the sandboxes run in one: a pytest worker has
imported aiohttp long before.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures.processes import occupied_port
from simulator.core.clock import ManualClock
from simulator.core.errors import ServerStartError
from simulator.sandbox import SandboxSettings
from simulator.sandbox.single import Sandbox
from simulator.transport.http_server import ServedOnFirstConnection
from simulator.transport.server import SmtpServer
from simulator.transport.tls import SandboxTls

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

#: In a fresh interpreter: starts and stops a process sandbox as `tdcsim sandbox` does (not through the
#: test harness, which imports the endpoints for its own reasons), then a one-process sandbox; prints
#: JSON: whether aiohttp was imported once each had started and once both had stopped, which of the
#: parts' modules the supervisor had imported, and the names of each certificate the CA issued for it.
SCRIPT = """
import asyncio, json, sys
from pathlib import Path
import trustme
from simulator.core.clock import ManualClock
from simulator.sandbox import SandboxSettings
from simulator.sandbox.supervisor import ProcessSandbox
from simulator.transport.tls import SERVER_NAMES, SandboxTls

PART_CODE = ("aiosmtpd", "simulator.endpoints.threat_defense", "simulator.endpoints.mailbox",
             "simulator.endpoints.common", "simulator.gateway.machine", "simulator.sandbox.parts",
             "simulator.sandbox.child")

class CountingCA(trustme.CA):
    def __init__(self):
        super().__init__()
        self.issued = []

    def issue_cert(self, *identities, **options):
        self.issued.append(identities)
        return super().issue_cert(*identities, **options)

folder = Path(sys.argv[1])

def settings(name):
    return SandboxSettings(data_dir=folder / name, inbound_port=0, relay_port=0, threat_defense_port=0,
                           mailbox_port=0)

async def supervise(ca):
    sandbox = ProcessSandbox(settings("processes"), SandboxTls.issue(ca, *SERVER_NAMES), ManualClock())
    await sandbox.start()
    try:
        sandbox.publish()
        seen["started, processes=True"] = "aiohttp" in sys.modules
        sandbox.withdraw()
    finally:
        await sandbox.stop()

seen = {}
ca = CountingCA()
asyncio.run(supervise(ca))
supervisor = {"imported": [name for name in PART_CODE if name in sys.modules], "issued": ca.issued}

from simulator.testing.harness import running
with running(settings("one"), SandboxTls.issue(trustme.CA(), *SERVER_NAMES)):
    seen["started, processes=False"] = "aiohttp" in sys.modules
seen["stopped"] = "aiohttp" in sys.modules
print(json.dumps({"aiohttp": seen, "supervisor": supervisor}))
"""


@pytest.fixture(scope="module")
def fresh_interpreter(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What SCRIPT saw, run once for the module's tests."""
    folder = tmp_path_factory.mktemp("fresh")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (folder / "processes" / "ca.pem").exists(), "the process sandbox did start: it wrote its CA"
    seen: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return seen


def test_a_sandbox_imports_no_aiohttp_until_its_admin_api_or_console_is_first_used(
    fresh_interpreter: dict[str, Any]
) -> None:
    assert fresh_interpreter["aiohttp"] == {
        "started, processes=True": False, "started, processes=False": False, "stopped": False}


def test_a_supervisor_imports_no_part_code_and_mints_no_certificate(
    fresh_interpreter: dict[str, Any]
) -> None:
    """The supervisor carries none of its parts' weight: no aiosmtpd, no endpoint, no gateway machine
    (the types it names are imported for the type checker only), and no certificate: its parts mint
    their own, one each."""
    assert fresh_interpreter["supervisor"] == {"imported": [], "issued": []}


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.mark.bad_input
@pytest.mark.parametrize(("busy", "named"), [("admin_port", "admin API on"), ("console_port", "console on"),
                                             ("mailbox_port", "on")], ids=["admin", "console", "mailbox"])
def test_a_port_in_use_fails_the_start_and_frees_what_was_bound(
    tmp_path: Path, tdc_tls: SandboxTls, busy: str, named: str
) -> None:
    """In one process (the supervisor's case is test_cli_admin.py's): the admin API and the console
    bind first, so a port in use there fails the start before any part listens, with the one error
    that names the port; a part that cannot bind after them leaves neither of theirs bound."""
    async def start(port: int) -> tuple[ServerStartError, Sandbox]:
        def port_of(name: str) -> int:
            return port if name == busy else 0

        settings = SandboxSettings(data_dir=tmp_path / "data", inbound_port=0, relay_port=0,
                                   threat_defense_port=0, mailbox_port=port_of("mailbox_port"),
                                   admin_port=port_of("admin_port"), console_port=port_of("console_port"))
        sandbox = Sandbox(settings, tdc_tls, ManualClock(START))
        with pytest.raises(ServerStartError) as failed:
            await sandbox.start()
        return failed.value, sandbox

    with occupied_port() as port:
        error, sandbox = asyncio.run(start(port))
    assert f"{named} 127.0.0.1:{port}" in str(error) and error.port == port
    assert sandbox.machines == {}
    bound_first: dict[str, list[ServedOnFirstConnection | SmtpServer]] = {
        "admin_port": [], "console_port": [sandbox.admin],
        "mailbox_port": [sandbox.admin, sandbox.console, sandbox.threat_defense_server]}
    bound_before = bound_first[busy]
    assert all(server.port != 0 and refused(server.port) for server in bound_before)
    if busy != "mailbox_port":  # no part listened
        with pytest.raises(RuntimeError, match="has not started"):
            _ = sandbox.threat_defense_server.port
