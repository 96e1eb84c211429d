"""The core features against a sandbox that runs each machine and each endpoint in its own process,
as `tdcsim sandbox` does (issue 13): the scenarios of test_acceptance.py's inbound-only, TLS-error
logging and disable-flow features, with the same step library; only `tdc_processes` is overridden."""

import pytest
from pytest_bdd import scenarios

from simulator.testing.harness import SandboxFacade

scenarios("inbound_only.feature", "tls_error_logging.feature", "disable_flows.feature", "verdicts.feature")


@pytest.fixture
def tdc_processes() -> bool:
    """Every sandbox of this module is `ProcessSandbox`, built from the same settings as the fixtures'."""
    return True


def test_this_modules_sandboxes_run_as_processes(tdc_sandbox: SandboxFacade) -> None:
    """The override took: what only the in-process sandbox has is out of reach."""
    with pytest.raises(AssertionError, match="needs the in-process sandbox"):
        _ = tdc_sandbox.sandbox
