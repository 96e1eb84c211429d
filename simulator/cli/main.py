"""`tdcsim`: the command line.

Design rule: argument errors exit 2 with one line; a sandbox that cannot start says why in one
line and exits 1; no traceback reaches the user for anything the user can fix. This module runs
the sandbox and reads tracking from its files; the operator's commands, which talk to a running
sandbox's admin API, are `cli/admin.py` (configuration) and `cli/monitor.py` (watching).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from simulator import __version__
from simulator.cli import admin, conform, labs
from simulator.cli.monitor import add_monitor_commands
from simulator.cli.parsing import (
    OneLineParser,
    check_complete,
    positive,
    print_output,
    sub_commands,
    with_data_dir,
)
from simulator.core.errors import UnknownMessage
from simulator.core.reports.tracking import render
from simulator.defaults import DEFAULT_PORTS, mail_log_path
from simulator.endpoints.faults import FAULT_HELP, Fault, parse_fault
from simulator.gateway.rolled import log_files, track_log


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


def _fault(text: str) -> Fault:
    try:
        return parse_fault(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


_machine_count = partial(positive, most=20, meaning="a number of machines from 1 to 20")
_mid = partial(positive, least=0, meaning="a message ID (MID)")


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="tdcsim", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"tdcsim {__version__}")
    commands = sub_commands(parser, "command")
    _add_sandbox(commands)
    tracking = commands.add_parser(
        "tracking", help="one message's history from a machine's mail log",
        description="Print one message's history (oldest first) in message tracking's form.",
    )
    with_data_dir(tracking, "the sandbox's data dir")
    tracking.add_argument("--machine", default="esa1", help="which machine's mail log (default: esa1)")
    tracking.add_argument("mid", type=_mid, metavar="MID", help="the message ID to track")
    admin.add_config_commands(commands)
    add_monitor_commands(commands)
    conform.add_conform_commands(commands)
    labs.add_lab_commands(commands)
    return parser


def _add_sandbox(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="run the gateway, Threat Defense and the mailbox host on loopback",
        description="Run the sandbox until SIGINT/SIGTERM. Each machine, Threat Defense and the mailbox "
                    "host run in their own process, like appliances; if one ends, the sandbox stops. "
                    "Port 0 lets the OS choose.",
        epilog=FAULT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    with_data_dir(sandbox, "where logs, mailboxes and journals go")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    for name, flag in (("inbound", "--inbound-port"), ("relay", "--relay-port"),
                       ("threat_defense", "--td-port"), ("mailbox", "--mailbox-port"),
                       ("admin", "--admin-port"), ("console", "--console-port")):
        sandbox.add_argument(flag, type=_port, default=DEFAULT_PORTS[name],
                             help=f"port (default: {DEFAULT_PORTS[name]})")
    sandbox.add_argument("--no-tdc", action="store_true",
                         help="start with the Threat Defense Connector disabled")
    sandbox.add_argument("--td-mode", choices=("read", "read-write"), default="read",
                         help="Threat Defense records verdicts (read, default) or also remediates "
                              "the originals in the mailboxes (read-write)")
    sandbox.add_argument("--machines", type=_machine_count, default=None, metavar="N",
                         help="run machines esa1..esaN in group Main_Group (default: 1)")
    sandbox.add_argument("--config", type=Path, default=None, metavar="FILE",
                         help="a TOML file declaring groups, machines, domains, policies, routes, "
                              "DNS zone and tenants (see sandbox.example.toml)")
    sandbox.add_argument("--td-fault", type=_fault, action="append", default=[], metavar="KIND[:ARG]",
                         help="script a fault on the Threat Defense endpoint (repeatable; kinds below)")
    sandbox.add_argument("--mailbox-fault", type=_fault, action="append", default=[],
                         metavar="KIND[:ARG]", help="script a fault on the mailbox host (repeatable)")
    sandbox.add_argument("--one-process", action="store_true",
                         help="run every part in this one process, on one event loop (as the test "
                              "fixtures do): faster to start, slower under load")


def run_tracking(data_dir: Path, machine: str, mid: int) -> int:
    """Print the history of `mid` from `mail.current` and the files it rolled over to; a missing log
    or message is a one-line error, exit 2."""
    path = mail_log_path(data_dir, machine)
    if not log_files(path):
        print(f"tdcsim: no mail log at {path}", file=sys.stderr)
        return 2
    try:
        history = track_log(path, mid)
    except UnknownMessage:
        print(f"tdcsim: no message {mid} in {path}", file=sys.stderr)
        return 2
    print_output(render(history))
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    check_complete(arguments)
    if arguments.command == "tracking":
        return run_tracking(arguments.data_dir, arguments.machine, arguments.mid)
    if arguments.command == "conform":
        return conform.run(arguments, sys.argv[1:] if argv is None else argv)
    if arguments.command == "labs":
        return labs.run(arguments)
    if arguments.command != "sandbox":
        return admin.run(arguments)
    from simulator.cli import sandbox  # the sandbox's settings and data dir, then its servers

    return sandbox.run(arguments)


if __name__ == "__main__":
    sys.exit(main())
