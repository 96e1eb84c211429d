"""Run one direction of the kit: find the target reachable, run its checks in a pytest of their own,
and turn what they recorded into the run's bundle.

Design rule: the checks run in a subprocess isolated from the caller's pytest configuration (its own
`-c`, rootdir and conftest cut, no plugin autoloading, no cache, no xdist, no PYTEST_* variables), so
what a vendor's directory holds cannot change a verdict; it runs in the caller's working directory,
so a driver's module and relative options are found as the vendor wrote them. Every rule of the
direction's feature gets a verdict: one the run never reached is an error saying why. An unreachable
target stops the run before any check (exit status 2), and the bundle records it.
"""

from __future__ import annotations

import os
import platform
import site
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import simulator
from simulator.conformance.bundle import RuleResult, Run, write_bundle
from simulator.conformance.collector import PROBLEMS, RECORDS, read_problems, read_records
from simulator.conformance.endpoint.target import split_target
from simulator.conformance.expected import apply_expected, kit_rules
from simulator.conformance.outcomes import Outcome
from simulator.conformance.settings import KitSettings, settings_toml

PACKAGE = Path(__file__).parent
_WORSE = [Outcome.PASSED, Outcome.NOT_RUN, Outcome.FAILED, Outcome.ERROR]  # a rule run twice keeps the worse


def versions() -> dict[str, str]:
    """The kit's version and what it runs on."""
    return {"kit_version": simulator.__version__, "python": platform.python_version(),
            "pytest": metadata.version("pytest"), "pytest_bdd": metadata.version("pytest-bdd"),
            "platform": platform.platform()}


def listeners(direction: str, settings: KitSettings) -> dict[str, str]:
    """What the run talks to: a label for each address of the product under test."""
    if direction == "endpoint":
        assert settings.endpoint is not None
        return {"the endpoint under test": settings.endpoint.target}
    assert settings.gateway is not None
    outgoing = settings.gateway.outgoing
    return {"the gateway's incoming listener": settings.gateway.incoming,
            **({"the gateway's outgoing listener": outgoing} if outgoing else {})}


def unreachable(addresses: Mapping[str, str], timeout: float) -> str | None:
    """Why the first address that takes no TCP connection cannot be reached; None if all can."""
    for label, address in addresses.items():
        host, port = split_target(address)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as error:
            return f"cannot reach {label} at {address}: {error.strerror or error}"
    return None


def pytest_command(direction: str, bundle: Path) -> list[str]:
    """The pytest that runs `direction`'s checks, writing into `bundle`. Assertions stay plain: a
    failure's detail is the check's own message and transcript, not pytest's introspection. Its
    traceback is Python's own (from the kit's code on, the plugin's cut), as pytest's `short` shows
    the same frames and message only after parsing each frame's whole file anew for every failure."""
    bundle = bundle.resolve()
    return [sys.executable, "-m", "pytest", "-c", os.devnull, "--rootdir", str(PACKAGE),
            "--confcutdir", str(PACKAGE), "-p", "no:cacheprovider", "-p", "pytest_bdd.plugin",
            "-p", "simulator.conformance.plugin", "--conform-settings", str(bundle / "config.toml"),
            "--conform-bundle", str(bundle), "-v", "--tb=native", "--assert=plain",
            str(PACKAGE / direction / "scenarios.py")]


def _environment() -> dict[str, str]:
    """The caller's environment without its pytest settings; the kit imported from where ours was (a
    source tree is put on the path; an installed kit is found as it is, site-packages kept in place)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    source = str(PACKAGE.parent.parent)
    if source not in [*site.getsitepackages(), site.getusersitepackages()]:
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [source, environment.get("PYTHONPATH")]))
    return environment | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def run_pytest(command: Sequence[str], timeout: float) -> tuple[str, str | None]:
    """pytest's output, and why the run ended early (None if it ran to its end)."""
    try:
        done = subprocess.run(command, env=_environment(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout.decode(errors="replace") if isinstance(expired.stdout, bytes) else ""
        return output, f"the run took longer than kit.run_timeout ({timeout:g} s) and was stopped"
    output = done.stdout.decode(errors="replace")
    return output, ended_early(output, done.returncode)


def ended_early(output: str, status: int) -> str | None:
    """Why a kit run with this output and exit status ended early (None: it ran to its end, 0 or 1),
    naming its last line."""
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
    return None if status in (0, 1) else f"pytest ended with status {status}: {last}"


def completed(records: Sequence[RuleResult], rules: Mapping[str, str], ended: str | None) -> list[RuleResult]:
    """A verdict for every rule, in the feature's order: a rule with no record is an error."""
    verdicts: dict[str, RuleResult] = {}
    for record in records:
        kept = verdicts.get(record.rule)
        if kept is None or _WORSE.index(record.outcome) > _WORSE.index(kept.outcome):
            verdicts[record.rule] = record
    why = f"the check did not run: {ended or 'no result was recorded'} (see pytest-output.txt)"
    missing = [RuleResult(rule, title, Outcome.ERROR, detail=why) for rule, title in rules.items()
               if rule not in verdicts]
    ordered = {rule: index for index, rule in enumerate(rules)}
    return sorted([*verdicts.values(), *missing], key=lambda result: ordered.get(result.rule, len(ordered)))


def checked(direction: str, bundle: Path, timeout: float
            ) -> tuple[list[RuleResult], list[str], str, list[str]]:
    """Run `direction`'s checks (the settings are already in the bundle): their verdicts, the pytest
    command that ran them, its output, and the run's problems outside any check."""
    command = pytest_command(direction, bundle)
    output, ended = run_pytest(command, timeout)
    results = completed(read_records(bundle / RECORDS), kit_rules(direction), ended)
    problems = read_problems(bundle / PROBLEMS)
    for name in (RECORDS, PROBLEMS):
        (bundle / name).unlink(missing_ok=True)
    return results, command, output, problems


def run_direction(direction: str, settings: KitSettings, bundle: Path, expected: Mapping[str, str],
                  command: Sequence[str] = ()) -> tuple[Run, Path]:
    """Run `direction`'s checks against the target `settings` describe; the run and its archive."""
    started = datetime.now(UTC)
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "config.toml").write_text(settings_toml(settings), encoding="utf-8")
    addresses = listeners(direction, settings)
    if stopped := unreachable(addresses, settings.kit.connect_timeout) or "":
        results = [RuleResult(rule, title, Outcome.NOT_RUN, detail=stopped)
                   for rule, title in kit_rules(direction).items()]
        pytest_run: list[str] = []
        problems: list[str] = []
        output = ""
    else:
        results, pytest_run, output, problems = checked(direction, bundle, settings.kit.run_timeout)
    run = Run(direction, ", ".join(addresses.values()), started, datetime.now(UTC),
              tuple(apply_expected(results, expected)), versions(), command, pytest_run,
              settings_toml(settings), output, stopped, tuple(problems))
    return run, write_bundle(bundle, run)
