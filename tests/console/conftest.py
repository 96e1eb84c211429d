"""The console's HTTP tests: a sandbox whose connector starts disabled, and a client logged in to it;
or, for the tests that only read or send what the console must refuse, one such sandbox per module that
they share, each taking its turn (fixtures/shared_sandbox.py): a sandbox started per case costs each
of these parametrized tests more than its own requests do."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from fixtures.console_client import ConsoleClient, logged_in_client
from fixtures.shared_sandbox import module_settings, turn_on
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, shared_by_module
from simulator.transport.tls import SandboxTls


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector starts disabled, as before the seed's enable procedure."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False)


@pytest.fixture
def browser(tdc_sandbox: SandboxFacade) -> ConsoleClient:
    """A client logged in as admin."""
    return logged_in_client(tdc_sandbox.console_url, tdc_sandbox.console_password)


@pytest.fixture(scope="module")
def refusing_sandbox(
    tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls
) -> Iterator[SandboxFacade]:
    """One sandbox (the connector disabled, the default settings otherwise) that a module's refusal
    tests share: started once for the module, not once per case."""
    settings = module_settings(tmp_path_factory, "refusing", tdc_enabled=False)
    with shared_by_module(settings, tdc_tls) as sandbox:
        yield sandbox


@pytest.fixture
def shared(refusing_sandbox: SandboxFacade, request: pytest.FixtureRequest) -> Iterator[SandboxFacade]:
    """The module's shared sandbox for one test's turn: the test fails if it changed it (configuration,
    faults) or made it log a warning."""
    with turn_on(refusing_sandbox, request):
        yield refusing_sandbox


@pytest.fixture
def shared_browser(shared: SandboxFacade) -> ConsoleClient:
    """A client logged in as admin to the module's shared sandbox, for one test's turn."""
    return logged_in_client(shared.console_url, shared.console_password)
