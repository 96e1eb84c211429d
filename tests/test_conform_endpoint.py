"""The kit's endpoint checks (features/endpoint.feature) against our own mock Threat Defense.

The same feature file the kit ships is bound here with the kit's own steps, against a running
fixture sandbox: every scenario passes (the self-test), so the kit can never drift from the
simulator's endpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import scenarios

from simulator.conformance.endpoint.scenarios import FEATURE
from simulator.conformance.endpoint.steps import *  # noqa: F403 - the kit's own step definitions
from simulator.conformance.endpoint.target import EndpointSection, EndpointTarget, endpoint_target_from
from simulator.sandbox import TD_HOSTNAME
from simulator.testing.harness import SandboxFacade
from simulator.transport.tls import SandboxTls

scenarios(str(FEATURE))


@pytest.fixture
def endpoint_target(tdc_sandbox: SandboxFacade, tdc_tls: SandboxTls) -> EndpointTarget:
    """The sandbox's mock Threat Defense, verified by the intake host name against the sandbox CA."""
    host, port = tdc_sandbox.listener_address("threat_defense")
    section = EndpointSection(target=f"{host}:{port}", server_name=TD_HOSTNAME, attempts=2, retry_wait=0.05)
    return endpoint_target_from(section, ca_pem=tdc_tls.ca_pem)


@pytest.fixture
def conform_artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"
