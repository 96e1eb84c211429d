"""The command line's parser pieces: one-line usage errors, argument types and common options.

Design rule: a usage error is one line and exit status 2 (`OneLineParser`), a missing sub-command
too, naming the sub-commands (`sub_commands`, `check_complete`); every operator command takes
`--data-dir` to find its sandbox, and a level is checked before anything is sent.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from simulator.core.config.cluster import Level
from simulator.core.errors import ConfigError, NoSandbox, Refused
from simulator.defaults import DEFAULT_DATA_DIR

if TYPE_CHECKING:
    from simulator.admin.client import AdminClient


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (try '{self.prog} --help')\n")


Commands: TypeAlias = "argparse._SubParsersAction[OneLineParser]"
Action: TypeAlias = "Callable[[AdminClient, argparse.Namespace], str]"


def level(text: str) -> str:
    """`--level`: cluster, group:NAME or machine:NAME."""
    try:
        return str(Level.parse(text))
    except ConfigError as error:
        raise argparse.ArgumentTypeError(error.reason) from None


def positive(text: str, *, least: int = 1, most: int | None = None,
             meaning: str = "a whole number of at least 1") -> int:
    """A whole number from `least` (1 unless said) up to `most`; else "not <meaning>: 'text'"."""
    if not text.isdecimal() or int(text) < least or (most is not None and int(text) > most):
        raise argparse.ArgumentTypeError(f"not {meaning}: {text!r}")
    return int(text)


def print_output(text: str) -> None:
    """Print a command's answer; a reader that closed the pipe early (`| head`) is not an error."""
    try:
        print(text, flush=True)
    except BrokenPipeError:  # point stdout at /dev/null so the exit flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def against_sandbox(
    arguments: argparse.Namespace, act: Callable[[AdminClient, argparse.Namespace], tuple[str, int]]
) -> int:
    """Run `act` with a client of the sandbox of `--data-dir`, print what it answers and return its
    status; no sandbox there, or a server error: one line, exit 1; a refused request: one line, exit 2."""
    from simulator.admin.client import AdminClient  # here: building the parser stays light

    try:
        client = AdminClient.for_data_dir(arguments.data_dir)
        output, status = act(client, arguments)
    except NoSandbox as error:
        print(f"tdcsim: {error}", file=sys.stderr)
        return 1
    except Refused as error:
        print(f"tdcsim: {error}", file=sys.stderr)
        return 2 if 400 <= error.status < 500 and error.status != 401 else 1
    print_output(output)
    return status


def command(commands: Commands, name: str, action: Action, help: str) -> OneLineParser:
    """A command that talks to the sandbox of `--data-dir`."""
    parser = commands.add_parser(name, help=help, description=help)
    with_data_dir(parser, "the running sandbox's data dir")
    parser.set_defaults(action=action)
    return parser


def with_data_dir(parser: argparse.ArgumentParser, meaning: str) -> None:
    """`--data-dir`, which every command takes, with the one default."""
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"{meaning} (default: ./{DEFAULT_DATA_DIR})")


def group(commands: Commands, name: str, help: str) -> Commands:
    """A command with sub-commands (`tdc enable`, `routes add`, ...)."""
    return sub_commands(commands.add_parser(name, help=help, description=help), f"{name}_command")


def sub_commands(parser: OneLineParser, dest: str) -> Commands:
    """`parser`'s sub-commands; the deepest parser reached is remembered for `check_complete`."""
    commands = parser.add_subparsers(dest=dest, parser_class=OneLineParser, metavar="COMMAND")
    parser.set_defaults(incomplete=(parser, commands))
    return commands


def check_complete(arguments: argparse.Namespace) -> None:
    """A command group given without its sub-command: one line naming them, exit 2."""
    parser, commands = arguments.incomplete
    if getattr(arguments, commands.dest) is None:
        parser.error(f"a command is needed: {', '.join(commands.choices or ())}")


def with_level(parser: OneLineParser) -> OneLineParser:
    parser.add_argument("--level", type=level, default="cluster", metavar="LEVEL",
                        help="cluster, group:NAME or machine:NAME (default: cluster)")
    return parser


def with_state(parser: OneLineParser) -> OneLineParser:
    parser.add_argument("--committed", dest="state", action="store_const", const="committed",
                        default="pending", help="show what runs, without the pending changes")
    return parser
