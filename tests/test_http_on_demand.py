"""The admin API and the console cost nothing until used: a sandbox, in one process or as processes,
imports no aiohttp until a client first connects: most `tdcsim sandbox` processes a test starts never
serve an HTTP request. (That the first client is served all the same, in a fresh interpreter, is
test_appliances.py's `tdcsim sandbox` asked over its admin API, and test_admin_api.py's first-client
tests in one process.)

The subject is what a fresh interpreter imports, so the sandboxes run in one: a pytest worker has
imported aiohttp long before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: Starts and stops a one-process sandbox, then a process sandbox, in a fresh interpreter; prints JSON:
#: whether aiohttp was imported once each had started and once both had stopped.
SCRIPT = """
import json, sys
from pathlib import Path
import trustme
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import running
from simulator.transport.tls import SERVER_NAMES, SandboxTls

folder = Path(sys.argv[1])
tls = SandboxTls.issue(trustme.CA(), *SERVER_NAMES)
seen = {}
for processes in (False, True):
    settings = SandboxSettings(data_dir=folder / str(processes), inbound_port=0, relay_port=0,
                               threat_defense_port=0, mailbox_port=0)
    with running(settings, tls, processes=processes):
        seen[f"started, processes={processes}"] = "aiohttp" in sys.modules
seen["stopped"] = "aiohttp" in sys.modules
print(json.dumps(seen))
"""


def test_a_sandbox_imports_no_aiohttp_until_its_admin_api_or_console_is_first_used(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"started, processes=False": False, "started, processes=True": False, "stopped": False}
