"""The kit's binding of `features/endpoint.feature`: one test per scenario, one scenario per rule.

Design rule: nothing but the binding; the steps come from `simulator.conformance.endpoint.steps`
(loaded by the kit's plugin) and the target from its `endpoint_target` fixture.
"""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import scenarios

FEATURE = Path(__file__).resolve().parent.parent / "features" / "endpoint.feature"

scenarios(str(FEATURE))
