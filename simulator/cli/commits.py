"""`tdcsim commit|commits|diff`: commit the submitted changes, list the commits, show what is pending.

Design rule: like the vendor's CLI, `commit` asks for a comment, but only on a terminal and only
when something is pending (a second API call, `GET /diff`); `--comment` answers it for scripts, and
without a terminal nothing is asked (the comment is empty). The rest is one API call and one answer.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from simulator.cli import tables
from simulator.cli.parsing import Commands, command

if TYPE_CHECKING:  # a type only: the client (urllib, http.client) loads when a command runs
    from simulator.admin.client import AdminClient

COMMENT_PROMPT = "Please enter some comments describing your changes:\n[]> "


def commit(client: AdminClient, a: argparse.Namespace) -> str:
    """Commit; without `--comment`, a terminal is asked for one (as the vendor's CLI asks), a script not."""
    comment = a.comment
    if comment is None:
        asked = sys.stdin.isatty() and client.get("/diff")["uncommitted"]
        comment = ask_comment() if asked else ""
    return str(client.call("POST", "/commit", {"comment": comment})["message"])


def ask_comment() -> str:
    """The comment typed at the prompt; none at end of input."""
    try:
        return input(COMMENT_PROMPT).strip()
    except EOFError:
        return ""


def commits(client: AdminClient, _: argparse.Namespace) -> str:
    return tables.commits_table(client.get("/commits"))


def diff(client: AdminClient, _: argparse.Namespace) -> str:
    return tables.diff_text(client.get("/diff"))


def add_commit_commands(commands: Commands) -> None:
    """commit, commits and diff."""
    command(commands, "commit", commit, "commit the submitted changes").add_argument(
        "--comment", default=None, help="the commit comment (default: asked for on a terminal)")
    command(commands, "commits", commits, "the commit history: when, and each comment")
    command(commands, "diff", diff, "the submitted changes against what runs, per level and key")
