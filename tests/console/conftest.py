"""The console's HTTP tests: a sandbox whose connector starts disabled, and a client logged in to it."""

from __future__ import annotations

import dataclasses

import pytest

from fixtures.console_client import ConsoleClient, logged_in_client
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector starts disabled, as before the seed's enable procedure."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False)


@pytest.fixture
def browser(tdc_sandbox: SandboxFacade) -> ConsoleClient:
    """A client logged in as admin."""
    return logged_in_client(tdc_sandbox.console_url, tdc_sandbox.console_password)
