"""The mock Threat Defense endpoint alone, as its own process, for the `td_alone` phase.

Design rule: built by the factory `tdcsim sandbox` builds its Threat Defense with
(`simulator/sandbox/parts.py`: read mode, `DATA/threat-defense`, 2,000 records kept in memory),
but run alone: no gateway, mailbox host, admin API or console, and no port other than its own. So
the phase measures the endpoint, not the sandbox around it. The server certificate is
`bench/tls.py`'s, the one the STARTTLS sink offers (no CA key is handed over: nothing new is
minted). It binds port 0 on loopback, prints the port as its first stdout line, and runs until
SIGTERM or SIGINT.
Run: `python -m bench.td_alone --data-dir DIR --certificates DIR [--host 127.0.0.1]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from bench import tls
from simulator.cli.sandbox import KEPT_IN_MEMORY
from simulator.core.clock import SystemClock
from simulator.endpoints.refused import ENDPOINT_FOLDERS
from simulator.sandbox.parts import ThreatDefense
from simulator.sandbox.settings import SandboxSettings
from simulator.transport.tls import SandboxTls

FOLDER = ENDPOINT_FOLDERS["threat_defense"]

async def serve(host: str, data_dir: Path, certificates: Path) -> None:
    """Threat Defense on `host`, port 0, storing under `data_dir`, until a stop signal."""
    logging.basicConfig(level=logging.WARNING)
    ca = tls.ca(certificates)
    sandbox_tls = SandboxTls(ca.cert_pem.bytes(), tls.server(certificates), tls.client(certificates),
                             None, tls.NAMES)
    settings = SandboxSettings(data_dir, host, threat_defense_port=0, kept_in_memory=KEPT_IN_MEMORY)
    server = ThreatDefense(settings, sandbox_tls, SystemClock(), remediate=None).server
    await server.start()
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(server.port, flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.td_alone", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", type=Path, required=True, metavar="DIR")
    parser.add_argument("--certificates", type=Path, required=True, metavar="DIR",
                        help="bench/tls.py's files: the server certificate and its CA")
    options = parser.parse_args()
    asyncio.run(serve(options.host, options.data_dir, options.certificates))


if __name__ == "__main__":
    main()
