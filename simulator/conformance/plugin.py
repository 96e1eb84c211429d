"""The kit run's pytest plugin (`pytest -p simulator.conformance.plugin --conform-settings FILE
--conform-bundle DIR <direction>/scenarios.py`): the targets from the run's settings, both
directions' steps, and the collector writing each scenario's raw record into the bundle.

Design rule: the plugin reads the settings the runner wrote into the bundle (`config.toml`), through
the same reader as the vendor's file, and builds the targets only through the directions' own
`endpoint_target_from` / `gateway_target_from`, so the kit and the test suite judge alike. A target is
built once per run, when the first check asks for it; a failure to build it is that check's verdict.
What goes wrong after the last check (the driver's `finish` raising) is written beside the records as
a problem of the run, never as a rule's verdict. A failure's traceback in pytest's output starts at
the kit's own code (the frames above it are pytest's and pytest-bdd's, calling a step or a fixture).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from simulator.conformance.collector import PROBLEMS, RECORDS, Collector, scenario_name, write_problem
from simulator.conformance.endpoint.target import EndpointTarget, endpoint_target_from
from simulator.conformance.gateway.target import GatewayTarget, gateway_target_from
from simulator.conformance.outcomes import rule_of
from simulator.conformance.settings import KitSettings, load_settings

pytest_plugins = ["simulator.conformance.endpoint.steps", "simulator.conformance.gateway.steps"]

KIT_CODE = str(Path(__file__).parent) + os.sep  # as frames name their files
ARTIFACTS = "artifacts"
COUNTERPARTS = "counterparts"  # the gateway direction's Threat Defense and mailbox: records and logs


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tdc-conform", "tdc-simulator conformance kit")
    group.addoption("--conform-settings", type=Path, default=None, metavar="FILE",
                    help="the run's settings (TOML, as `tdcsim conform` writes config.toml)")
    group.addoption("--conform-bundle", type=Path, default=None, metavar="DIR",
                    help="the bundle directory: raw records and the checks' artifacts go there")


def pytest_configure(config: pytest.Config) -> None:
    bundle = config.getoption("--conform-bundle")
    if bundle is not None:
        config.pluginmanager.register(Collector(bundle / RECORDS), "tdc-conform-collector")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    call: pytest.CallInfo[None],
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Before pytest renders a failure: its traceback from the first frame in the kit's code on
    (whole if none is)."""
    if call.excinfo is not None:
        traceback = call.excinfo.traceback
        first = next((index for index, entry in enumerate(traceback)
                      if str(entry.path).startswith(KIT_CODE)), 0)
        call.excinfo.traceback = traceback[first:]
    return (yield)


@pytest.fixture(scope="session")
def conform_settings(pytestconfig: pytest.Config) -> KitSettings:
    """The run's settings (`--conform-settings`)."""
    path = pytestconfig.getoption("--conform-settings")
    if path is None:
        raise pytest.UsageError("the conformance kit needs --conform-settings FILE")
    return load_settings(path)


@pytest.fixture(scope="session")
def conform_bundle(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle directory (`--conform-bundle`; a temporary one without it)."""
    bundle: Path | None = pytestconfig.getoption("--conform-bundle")
    return bundle if bundle is not None else tmp_path_factory.mktemp("conform-bundle")


@pytest.fixture
def conform_artifacts(request: pytest.FixtureRequest, conform_bundle: Path) -> Path:
    """Where this check keeps what the bundle should hold: `artifacts/<rule id>/`."""
    declared = rule_of(scenario_name(request.node))
    folder = conform_bundle / ARTIFACTS / (declared[0] if declared else request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def endpoint_target(conform_settings: KitSettings) -> EndpointTarget:
    """The intake endpoint under test, from `[endpoint]`."""
    if conform_settings.endpoint is None:
        raise pytest.UsageError("the settings have no [endpoint] section")
    return endpoint_target_from(conform_settings.endpoint)


@pytest.fixture(scope="session")
def gateway_target(conform_settings: KitSettings, conform_bundle: Path) -> Iterator[GatewayTarget]:
    """The gateway under test, from `[gateway]`: the kit's counterparts run while the checks do."""
    if conform_settings.gateway is None:
        raise pytest.UsageError("the settings have no [gateway] section")
    with gateway_target_from(conform_settings.gateway, conform_bundle / ARTIFACTS / COUNTERPARTS) as target:
        yield target
    for problem in target.problems:  # a `finish` that raised: the run reports it, no rule changes
        print(f"tdc-conform: {problem}")
        write_problem(conform_bundle / PROBLEMS, problem)
