"""The sandbox's documented defaults and where its files live.

Design rule: constants and path conventions only, importing nothing heavy, so that the command
line can build its parser and find a mail log without loading the servers.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_PORTS = {"inbound": 2525, "relay": 2526, "threat_defense": 2527, "mailbox": 2528, "admin": 2529,
                 "console": 2530}
PORT_STEP = 10  # esa2 listens on 2535/2536, esa3 on 2545/2546, ...
DEFAULT_INTAKE_ADDRESSES = (
    "sandbox-tenant@intake.threatdefense.test",
    "second-tenant@intake.threatdefense.test",
)


def machine_dir(data_dir: Path, machine: str) -> Path:
    return data_dir / "machines" / machine


def state_file(data_dir: Path) -> Path:
    """`DATA/sandbox.json`: how `tdcsim` finds a running sandbox (its admin API's address and token)."""
    return data_dir / "sandbox.json"


def mail_log_path(data_dir: Path, machine: str) -> Path:
    return machine_dir(data_dir, machine) / "mail_logs" / "mail.current"


#: Where the sandbox keeps its files unless told otherwise (`--data-dir`).
DEFAULT_DATA_DIR = Path("sandbox-data")
#: The mock endpoints whose faults can be scripted, by the names the API and the CLI use.
ENDPOINTS = ("threat_defense", "mailbox")
