"""`tdcsim conform`: the vendor conformance kit. `init` writes the commented example configuration;
`endpoint` and `gateway` run one direction's checks and write one bundle (directory and .tar.gz).

Design rule: every usage problem (an option, the configuration file, the expected-failures file, the
output directory) is one line and exit 2 before anything runs; an unreachable target is one line and
exit 2 too, after its bundle is written. Otherwise the exit status is the run's: 0 every rule passed
or failed as expected, 1 any unexpected failure or error (or the driver's `finish` raised). The kit
(pytest, pydantic, the counterparts) loads only when a run starts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.cli.parsing import Commands, group, print_output
from simulator.core.errors import ConfigError

if TYPE_CHECKING:
    from simulator.conformance.settings import KitSettings

DEFAULT_CONFIG = Path("conform.toml")
#: The endpoint options that override the file's `[endpoint]` keys.
ENDPOINT_OPTIONS = {"target": "--target", "ca": "--ca", "intake_address": "--intake",
                    "server_name": "--server-name"}


def add_conform_commands(commands: Commands) -> None:
    """`conform init`, `conform endpoint` and `conform gateway`."""
    conform = group(commands, "conform", "check a vendor's gateway or intake endpoint against the "
                                         "behaviours (the conformance kit)")
    init = conform.add_parser("init", help="write a commented example configuration",
                              description="Write a commented example of the kit's configuration file.")
    init.add_argument("path", nargs="?", type=Path, default=DEFAULT_CONFIG, metavar="PATH",
                      help=f"where to write it (default: {DEFAULT_CONFIG}); an existing file is kept")
    endpoint = conform.add_parser("endpoint", help="check an intake endpoint (the kit plays the connector)",
                                  description="Check an intake endpoint: the kit sends as our connector.")
    endpoint.add_argument("--target", metavar="HOST:PORT", help="the endpoint under test")
    endpoint.add_argument("--ca", type=Path, metavar="FILE", help="PEM of the CA its certificate is from")
    endpoint.add_argument("--intake", dest="intake_address", metavar="ADDRESS",
                          help="a tenant's intake address")
    endpoint.add_argument("--server-name", metavar="NAME", help="the name its certificate must carry")
    endpoint.add_argument("--config", type=Path, metavar="FILE",
                          help="the kit's configuration (the options above win)")
    gateway = conform.add_parser(
        "gateway", help="check a gateway (the kit plays Threat Defense and the next hop)",
        description="Check a gateway: the kit plays Threat Defense and the next hop, and drives it.")
    gateway.add_argument("--config", type=Path, metavar="FILE", required=True,
                         help="the kit's configuration, with a [gateway] section")
    for parser in (endpoint, gateway):
        parser.add_argument("--expected-failures", type=Path, metavar="FILE",
                            help="rules known to fail, each with a reason (overrides kit.expected_failures)")
        parser.add_argument("--output", type=Path, metavar="DIR",
                            help="the bundle directory, new or empty (default: kit.results_dir/"
                                 "<direction>-<UTC time>)")


def run(arguments: argparse.Namespace, argv: list[str]) -> int:
    """Run the `conform` command `arguments` name; the exit status."""
    if arguments.conform_command == "init":
        return init(arguments.path)
    try:
        return run_kit(arguments, argv)
    except ConfigError as error:
        return failed(str(error))


def failed(reason: str, status: int = 2) -> int:
    print(f"tdcsim: {reason}", file=sys.stderr)
    return status


def init(path: Path) -> int:
    """Write the example configuration to `path`, never over an existing file."""
    example = resources.files("simulator.conformance").joinpath("example.toml").read_text(encoding="utf-8")
    try:
        with path.open("x", encoding="utf-8") as written:
            written.write(example)
    except FileExistsError:
        return failed(f"{path} exists: not overwriting it")
    except OSError as error:
        return failed(f"cannot write {path}: {error.strerror or error}")
    print_output(f"wrote {path}: describe your product in it, then run "
                 f"`tdcsim conform endpoint --config {path}` or `tdcsim conform gateway --config {path}`")
    return 0


def _overrides(arguments: argparse.Namespace) -> dict[tuple[str | int, ...], tuple[str, Any]]:
    """The file's keys the options replace: the endpoint's, and `kit.expected_failures` (so the file
    that key names is neither needed nor read when `--expected-failures` is given)."""
    given = {key: getattr(arguments, key, None) for key in ENDPOINT_OPTIONS}
    overrides: dict[tuple[str | int, ...], tuple[str, Any]] = {
        ("endpoint", key): (ENDPOINT_OPTIONS[key], value)
        for key, value in given.items() if value is not None}
    if arguments.expected_failures is not None:
        overrides["kit", "expected_failures"] = ("--expected-failures", arguments.expected_failures)
    return overrides


def bundle_directory(output: Path | None, results_dir: Path, direction: str) -> Path:
    """`--output` if new or empty and its archive's name free (else ConfigError), else a new one under
    `results_dir`."""
    if output is not None:
        if output.exists() and (not output.is_dir() or any(output.iterdir())):
            raise ConfigError("--output", f"{output} exists and is not an empty directory")
        if (archive := output.with_name(output.name + ".tar.gz")).exists():
            raise ConfigError("--output", f"{archive} exists: the bundle's archive would replace it")
        return output
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidates = (results_dir / f"{direction}-{stamp}{f'-{n}' if n > 1 else ''}" for n in range(1, 1000))
    return next(path for path in candidates if not path.exists())


class UsageError(Exception):
    """A usage problem, already said in one line."""


def in_file(path: Path | None, error: ConfigError) -> UsageError:
    """A configuration refusal, naming the file unless an option gave the value."""
    return UsageError(str(error) if path is None or error.key.startswith("--") else f"{path}: {error}")


def _loaded(arguments: argparse.Namespace) -> tuple[KitSettings, dict[str, str]]:
    """The run's settings and expected failures (UsageError names what is wrong)."""
    from simulator.conformance.expected import kit_rules, load_expected
    from simulator.conformance.settings import load_settings

    try:
        settings = load_settings(arguments.config, arguments.conform_command, _overrides(arguments))
    except ConfigError as error:
        raise in_file(arguments.config, error) from None
    listed = settings.kit.expected_failures  # --expected-failures replaced the file's, if given
    known = [*kit_rules("endpoint"), *kit_rules("gateway")]  # one file may serve both directions
    try:
        return settings, load_expected(listed, known) if listed else {}
    except ConfigError as error:
        raise in_file(arguments.expected_failures or listed, error) from None


def run_kit(arguments: argparse.Namespace, argv: list[str]) -> int:
    """Load and check everything, run the direction's checks, print where the bundle is."""
    direction = arguments.conform_command
    if direction == "endpoint" and arguments.config is None and arguments.target is None:
        return failed("conform endpoint needs --target HOST:PORT or --config FILE with an [endpoint] section")
    try:
        settings, expected = _loaded(arguments)
    except UsageError as error:
        return failed(str(error))
    from simulator.conformance.bundle import count_line
    from simulator.conformance.runner import run_direction

    bundle = bundle_directory(arguments.output, settings.kit.results_dir, direction)
    kit_run, archive = run_direction(direction, settings, bundle, expected, ["tdcsim", *argv])
    if kit_run.stopped:
        failed(kit_run.stopped)
    for problem in kit_run.problems:
        print(f"tdcsim: after the checks, {problem}", file=sys.stderr)
    print_output(f"bundle: {bundle} (and {archive.name})\n{direction} at {kit_run.target}: "
                 f"{count_line(kit_run.results)}")
    return kit_run.status
