"""`tdcsim sandbox`: run the sandbox until SIGINT/SIGTERM, with `sandbox.json` while it listens.

Design rule: loaded only when the sandbox command runs; a configuration error or a data dir
another sandbox holds is one line and exit 2, a start failure one line and exit 1. The data dir is
claimed (locked, private) before anything is written to it, and both refusals come before anything
heavy starts: the parts' fork server starts once the data dir is ours, and the supervisor loads
while it imports the parts (on two cores the two imports overlap); only the mode's own sandbox
module is imported, and the admin API and console import aiohttp on their first client only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from simulator.cli.data_dir import DataDirInUse, claim
from simulator.core.errors import ConfigError, SimulatorError
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES
from simulator.sandbox.settings import SandboxSettings
from simulator.settings.file import load_config_file

if TYPE_CHECKING:
    from simulator.sandbox.single import Sandbox
    from simulator.sandbox.supervisor import ProcessSandbox


def run(arguments: argparse.Namespace) -> int:
    """Run the sandbox the command line describes; the exit status."""
    try:
        settings = sandbox_settings(arguments)
    except ConfigError as error:
        return failed(f"{arguments.config}: {error}", 2)
    assert settings.data_dir is not None
    try:
        with claim(settings.data_dir):
            if not arguments.one_process:
                from simulator.sandbox import forking  # the parts' fork server imports them meanwhile
                forking.warm_up()
            asyncio.run(run_sandbox(settings, arguments.one_process))
    except DataDirInUse as error:
        return failed(str(error), 2)
    except (SimulatorError, OSError) as error:
        return failed(str(error), 1)
    return 0


def failed(reason: str, status: int) -> int:
    print(f"tdcsim: {reason}", file=sys.stderr)
    return status


def summary(description: dict[str, object]) -> str:
    """The short text printed once the sandbox listens: labels and values in two aligned columns."""
    machines, td = description["machines"], description["threat_defense"]
    mailbox, admin, console = description["mailbox"], description["admin"], description["console"]
    assert isinstance(machines, dict) and isinstance(td, dict) and isinstance(console, dict)
    assert isinstance(mailbox, dict) and isinstance(admin, dict)
    rows: list[tuple[str, str]] = []
    for name, machine in machines.items():
        inbound, relay = machine["inbound"], machine["relay"]
        rows += [(f"{name} public listener (incoming)", f"{inbound['host']}:{inbound['port']}"),
                 (f"{name} private listener (relay)", f"{relay['host']}:{relay['port']}"),
                 (f"{name} mail log", str(machine["mail_log"]))]
    state = "enabled" if description["tdc_enabled"] else "disabled"
    rows += [("Threat Defense endpoint", f"{td['host']}:{td['port']}"),
             ("mailbox host", f"{mailbox['host']}:{mailbox['port']}"),
             ("admin API", f"{admin['url']} (bearer token in sandbox.json)"),
             ("Console", f"{console['url']} (user {console['user']}, password {console['password']})"),
             ("Threat Defense Connector", f"{state}; intake address {description['intake_address']}"),
             ("local domains", ", ".join(description["local_domains"])),  # type: ignore[arg-type]
             ("CA certificate", str(description["ca_cert"]))]
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(["tdc-simulator sandbox is running", *lines, "Press Ctrl+C to stop."])


async def run_sandbox(settings: SandboxSettings, one_process: bool = False) -> None:
    """Run until SIGINT or SIGTERM (or until a part's process ends: `PartFailed`); `sandbox.json` exists
    exactly while every server listens. Each machine and endpoint runs in its own process unless
    `one_process`."""
    import trustme  # the servers load only once the sandbox may start

    from simulator.core.clock import SystemClock
    from simulator.transport.tls import SERVER_NAMES, SandboxTls

    # aiosmtpd logs every failed TLS handshake with a traceback; the mail log already tells the story
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    tls = SandboxTls.issue(trustme.CA(), *SERVER_NAMES, settings.host)
    sandbox: Sandbox | ProcessSandbox
    if one_process:  # only the mode's own module: the other's imports cost a start for nothing
        from simulator.sandbox.single import Sandbox

        sandbox = Sandbox(settings, tls, SystemClock())
    else:
        from simulator.sandbox.supervisor import ProcessSandbox

        sandbox = ProcessSandbox(settings, tls, SystemClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await sandbox.start()
    failed = getattr(sandbox, "failed", asyncio.Event())  # only a part in its own process can end alone
    try:
        print(summary(sandbox.publish()), flush=True)
        await asyncio.wait([asyncio.create_task(stop.wait()), asyncio.create_task(failed.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        sandbox.withdraw()
        await sandbox.stop()
    if failed.is_set():
        from simulator.sandbox.supervisor import PartFailed  # imported already: only its parts end alone

        raise PartFailed(str(getattr(sandbox, "failure", "a part ended")))
    print("tdc-simulator sandbox stopped", flush=True)


#: A long-running sandbox keeps this many recent log lines and records in memory (disk has all).
KEPT_IN_MEMORY = 2_000


def sandbox_settings(arguments: argparse.Namespace) -> SandboxSettings:
    """The sandbox's settings from the command line and, with `--config`, the file."""
    declared = load_config_file(arguments.config) if arguments.config else None
    if declared is not None and arguments.machines is not None:
        raise ConfigError("--machines", "give the machines in --config or with --machines, not both")
    return SandboxSettings(
        data_dir=arguments.data_dir.resolve(), host=arguments.host,
        inbound_port=arguments.inbound_port, relay_port=arguments.relay_port,
        threat_defense_port=arguments.td_port, mailbox_port=arguments.mailbox_port,
        admin_port=arguments.admin_port, console_port=arguments.console_port,
        kept_in_memory=KEPT_IN_MEMORY,
        td_mode=arguments.td_mode,
        tdc_enabled=not arguments.no_tdc,
        threat_defense_faults=tuple(arguments.td_fault), mailbox_faults=tuple(arguments.mailbox_fault),
        machines=arguments.machines or 1,
        cluster=declared.cluster if declared else None,
        intake_addresses=(declared.intake_addresses if declared and declared.intake_addresses
                          else DEFAULT_INTAKE_ADDRESSES),
    )
