"""`tdcsim labs list|check NAME|start NAME`: the training labs, checked by the running sandbox's admin API.

Design rule: the sandbox evaluates (GET /labs, GET /labs/NAME, POST /labs/NAME/start), this module only
lays the answer out, so the command line, the API and the console give the same result. Exit status:
`check` 0 when the lab is done and 1 when it is not; an unknown lab 2 with one line ("did you mean");
no sandbox 1, as every operator command.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

from simulator.cli.parsing import Commands, OneLineParser, against_sandbox, group, with_data_dir
from simulator.core.reports.layout import aligned

if TYPE_CHECKING:  # a type only: the client (urllib, http.client) loads when a command runs
    from simulator.admin.client import AdminClient

NOT_DONE = 1


def lab_path(name: str) -> str:
    return f"/labs/{quote(name, safe='')}"


def checks_text(lab: dict[str, Any]) -> str:
    """A lab's title, status and each check: `[x]` done, `[ ]` not, with its reason."""
    lines = [f"Lab {lab['number']}: {lab['name']} - {lab['title']}: {lab['status']}"]
    for check in lab["checks"]:
        lines.append(f"  [{'x' if check['done'] else ' '}] {check['says']}")
        lines.append(f"      {check['reason']}")
    return "\n".join(lines)


def labs_list(client: AdminClient, _: argparse.Namespace) -> tuple[str, int]:
    rows = [[str(lab["number"]), lab["name"], lab["status"], lab["title"]]
            for lab in client.get("/labs")["labs"]]
    return aligned(["#", "Lab", "Status", "Title"], rows), 0


def labs_check(client: AdminClient, a: argparse.Namespace) -> tuple[str, int]:
    lab = client.get(lab_path(a.name))
    return checks_text(lab), 0 if lab["done"] else NOT_DONE


def labs_start(client: AdminClient, a: argparse.Namespace) -> tuple[str, int]:
    answer = client.call("POST", f"{lab_path(a.name)}/start")
    return f"{answer['message']}\n\n{checks_text(answer['lab'])}", 0


LabAction: TypeAlias = "Callable[[AdminClient, argparse.Namespace], tuple[str, int]]"


def lab_command(labs: Commands, name: str, action: LabAction, help: str) -> OneLineParser:
    """A labs command: what it prints and its exit status come from `action`."""
    parser = labs.add_parser(name, help=help, description=help)
    with_data_dir(parser, "the running sandbox's data dir")
    parser.set_defaults(lab_action=action)
    return parser


def add_lab_commands(commands: Commands) -> None:
    """labs list, labs check NAME and labs start NAME."""
    labs = group(commands, "labs", "training labs: guided exercises checked against the sandbox's state")
    lab_command(labs, "list", labs_list, "every lab and whether it is done")
    checked = lab_command(labs, "check", labs_check, "check one lab, each check's result (exit 0: done)")
    checked.add_argument(
        "name", metavar="NAME", help="the lab (tdcsim labs list names them)")
    lab_command(labs, "start", labs_start, "set a lab up (it commits its configuration)").add_argument(
        "name", metavar="NAME", help="the lab")


def run(arguments: argparse.Namespace) -> int:
    """Run one labs command against the sandbox of `--data-dir`."""
    return against_sandbox(arguments, arguments.lab_action)
