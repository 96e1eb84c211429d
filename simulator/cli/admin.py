"""`tdcsim tdc|clear|policy|routes|dns`: the operator's configuration commands, sent to a running
sandbox's admin API (commit, commits and diff: `cli/commits.py`; monitoring: `cli/monitor.py`).

Design rule: each command is one API call (two for `tdc show`) and one printed answer, laid out by
`cli/tables.py`. The sandbox is found through `--data-dir` (its `sandbox.json`). Exit 0 on success;
2 with one line for input the CLI or the sandbox refuses (4xx); 1 with one line when no sandbox
answers there. Changes are submitted: like the vendor's Submit, they run only after `tdcsim commit`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from simulator.cli import tables
from simulator.cli.commits import add_commit_commands
from simulator.cli.parsing import Commands, against_sandbox, command, group, with_level, with_state
from simulator.core.config.values import TDC_MODES

if TYPE_CHECKING:  # a type only: the client (urllib, http.client) loads when a command runs
    from simulator.admin.client import AdminClient


def noting_pending(answer: dict[str, Any], text: str) -> str:
    return f"{text}\n{tables.UNCOMMITTED}" if answer.get("uncommitted") else text


def tdc_show(client: AdminClient, _: argparse.Namespace) -> str:
    running = client.get("/tdc", state="committed")
    text = f"Threat Defense Connector (committed):\n{tables.tdc_table(running)}"
    if running["uncommitted"]:
        pending = tables.tdc_table(client.get("/tdc", state="pending"))
        text += f"\n\nPending, not running until committed:\n{pending}\n{tables.UNCOMMITTED}"
    return text


def tdc_enable(client: AdminClient, a: argparse.Namespace) -> str:
    return str(client.call("POST", "/tdc/enable", {"address": a.address, "level": a.level})["message"])


def tdc_disable(client: AdminClient, a: argparse.Namespace) -> str:
    return str(client.call("POST", "/tdc/disable", {"level": a.level})["message"])


def clear(client: AdminClient, _: argparse.Namespace) -> str:
    return str(client.call("POST", "/clear")["message"])


def policy_set(client: AdminClient, a: argparse.Namespace) -> str:
    body = {"policy": a.name, "mode": a.mode, "address": a.address, "level": a.level}
    return str(client.call("POST", "/policies", body)["message"])


def policy_list(client: AdminClient, a: argparse.Namespace) -> str:
    answer = client.get("/policies", state=a.state)
    return noting_pending(answer, tables.policies_table(answer))


def routes_list(client: AdminClient, a: argparse.Namespace) -> str:
    answer = client.get("/routes", level=a.level, state=a.state)
    return noting_pending(answer, tables.routes_table(answer))


def routes_add(client: AdminClient, a: argparse.Namespace) -> str:
    body = {"domain": a.domain, "destination": a.destination, "level": a.level}
    return str(client.call("POST", "/routes", body)["message"])


def routes_delete(client: AdminClient, a: argparse.Namespace) -> str:
    path = f"/routes/{quote(a.domain, safe='')}?level={quote(a.level, safe='')}"
    return str(client.call("DELETE", path)["message"])


def dns_list(client: AdminClient, a: argparse.Namespace) -> str:
    answer = client.get("/dns", level=a.level, state=a.state)
    return noting_pending(answer, tables.zone_table(answer))


def dns_set(client: AdminClient, a: argparse.Namespace) -> str:
    body = {"domain": a.domain, "hosts": a.hosts, "level": a.level}
    return str(client.call("POST", "/dns", body)["message"])


def add_config_commands(commands: Commands) -> None:
    """tdc, commit, commits, diff, clear, policy, routes and dns."""
    tdc = group(commands, "tdc", "the Threat Defense Connector: enable, disable, show")
    with_level(command(tdc, "enable", tdc_enable, "enable the connector (Submit; then commit)")).add_argument(
        "--address", required=True, help="the Threat Defense message intake address")
    with_level(command(tdc, "disable", tdc_disable, "disable the connector (Submit; then commit)"))
    command(tdc, "show", tdc_show, "the connector per machine and the level each value comes from")
    add_commit_commands(commands)
    command(commands, "clear", clear, "discard the submitted, uncommitted changes")
    policy = group(commands, "policy", "per-policy Threat Defense journaling")
    chosen = with_level(command(policy, "set", policy_set, "set a policy's Threat Defense mode (Submit)"))
    chosen.add_argument("name", metavar="NAME", help="the incoming mail policy")
    chosen.add_argument("--mode", required=True, choices=TDC_MODES)
    chosen.add_argument("--address", default="", help="the custom message intake address (mode custom)")
    with_state(command(policy, "list", policy_list, "each machine's incoming mail policies"))
    add_table_commands(commands)


def add_table_commands(commands: Commands) -> None:
    """routes and dns."""
    routes = group(commands, "routes", "SMTP routes at a level")
    with_state(with_level(command(routes, "list", routes_list, "the routes in force at a level")))
    added = with_level(command(routes, "add", routes_add, "add a route (Submit; then commit)"))
    added.add_argument("domain", metavar="DOMAIN", help="example.com, .example.com (sub-domains) or ALL")
    added.add_argument("destination", nargs="+", metavar="DESTINATION",
                       help="USEDNS, /dev/null, or one or more host:port[:priority]")
    with_level(command(routes, "delete", routes_delete, "delete a route (Submit; then commit)")).add_argument(
        "domain", metavar="DOMAIN")
    dns = group(commands, "dns", "the DNS zone table (MX records) at a level")
    with_state(with_level(command(dns, "list", dns_list, "the MX records in force at a level")))
    mx = with_level(command(dns, "set", dns_set, "replace a domain's MX records (none: remove them)"))
    mx.add_argument("domain", metavar="DOMAIN", help="a domain, or * for every other domain")
    mx.add_argument("hosts", nargs="*", metavar="HOST:PORT[:PRIORITY]")


def run(arguments: argparse.Namespace) -> int:
    """Run one operator command against the sandbox of `--data-dir`."""
    return against_sandbox(arguments, lambda client, given: (arguments.action(client, given), 0))
