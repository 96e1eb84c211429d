"""`tdcsim status|tophosts|tail|quarantine|delivernow|faults`: what the operator watches on a running
sandbox, the queue actions, and the endpoints' fault plans, through the admin API.

Design rule: like `cli/admin.py`, one call and one printed answer. `tophosts` without `--machine` is
sent as it is, so the sandbox itself refuses it (machine mode only, BEHAVIOUR.md §6.2).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from simulator.cli import tables
from simulator.cli.parsing import Commands, command, group, positive
from simulator.core.reports.layout import aligned
from simulator.core.reports.status import DEFAULT_SORT, SORT_KEYS
from simulator.defaults import ENDPOINTS
from simulator.endpoints.faults import FAULT_HELP, parse_fault

if TYPE_CHECKING:  # a type only: the client (urllib, http.client) loads when a command runs
    from simulator.admin.client import AdminClient


def fault(text: str) -> str:
    try:
        return str(parse_fault(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def status(client: AdminClient, a: argparse.Namespace) -> str:
    return tables.status_text(client.get("/status", machine=a.machine))


def tophosts(client: AdminClient, a: argparse.Namespace) -> str:
    return tables.tophosts_text(client.get("/tophosts", machine=a.machine, sort=a.sort))


def tail(client: AdminClient, a: argparse.Namespace) -> str:
    return "\n".join(client.get("/log", machine=a.machine, lines=a.lines)["lines"])


def quarantine_list(client: AdminClient, a: argparse.Namespace) -> str:
    held = client.get("/quarantine", machine=a.machine)["held"]
    rows = [[str(h["mid"]), h["quarantine"], h["sender"] or "<>", ", ".join(h["recipients"])] for h in held]
    return aligned(["MID", "Quarantine", "Sender", "Recipients"], rows)


def quarantine_release(client: AdminClient, a: argparse.Namespace) -> str:
    body = {"mid": a.mid, "machine": a.machine or ""}
    return str(client.call("POST", "/quarantine/release", body)["message"])


def deliver_now(client: AdminClient, a: argparse.Namespace) -> str:
    return str(client.deliver_now(a.destination)["message"])


def faults_show(client: AdminClient, _: argparse.Namespace) -> str:
    return tables.faults_text(client.get("/faults"))


def faults_set(client: AdminClient, a: argparse.Namespace) -> str:
    return tables.faults_text(client.call("PUT", f"/faults/{a.endpoint}", a.faults))


def faults_clear(client: AdminClient, a: argparse.Namespace) -> str:
    return tables.faults_text(client.call("PUT", f"/faults/{a.endpoint}", []))


def add_monitor_commands(commands: Commands) -> None:
    """status, tophosts, tail, quarantine, delivernow and faults."""
    watched = command(commands, "status", status, "delivery status per destination (the.tdc.queue included)")
    watched.add_argument("--machine", default=None, help="one machine (default: every machine)")
    top = command(commands, "tophosts", tophosts, "one machine's destinations, by a counter (machine mode)")
    top.add_argument("--machine", default=None, help="the machine (required by the gateway)")
    top.add_argument("--sort", choices=SORT_KEYS, default=DEFAULT_SORT, help=f"default: {DEFAULT_SORT}")
    log = command(commands, "tail", tail, "the last lines of a machine's mail log")
    log.add_argument("--machine", default=None, help="the machine (default: the first)")
    log.add_argument("--lines", type=positive, default=20, metavar="N", help="how many lines (default: 20)")
    held = group(commands, "quarantine", "the quarantines: list what they hold, release a message")
    listed = command(held, "list", quarantine_list, "the messages held, by MID")
    listed.add_argument("--machine", default=None, help="the machine (default: the first)")
    released = command(held, "release", quarantine_release, "deliver (and copy) a held message now")
    released.add_argument("mid", type=positive, metavar="MID")
    released.add_argument("--machine", default=None, help="the machine (default: the first)")
    now = command(commands, "delivernow", deliver_now,
                  "reschedule the messages waiting for a retry for immediate delivery (every machine)")
    now.add_argument("destination", nargs="?", default=None, metavar="DESTINATION",
                     help="one destination queue: a recipient domain or the.tdc.queue (default: all)")
    faults = group(commands, "faults", "the fault plans of the Threat Defense endpoint and the mailbox host")
    command(faults, "show", faults_show, "each endpoint's faults")
    chosen = command(faults, "set", faults_set, "replace an endpoint's faults")
    chosen.formatter_class, chosen.epilog = argparse.RawDescriptionHelpFormatter, FAULT_HELP
    chosen.add_argument("endpoint", choices=ENDPOINTS)
    chosen.add_argument("faults", nargs="+", type=fault, metavar="KIND[:ARG]")
    cleared = command(faults, "clear", faults_clear, "remove an endpoint's faults")
    cleared.add_argument("endpoint", choices=ENDPOINTS)
