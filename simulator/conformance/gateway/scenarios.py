"""The binding of `features/gateway.feature`: one pytest test per scenario, one scenario per rule.

Design rule: nothing but the binding; the steps come from `steps.py` (loaded by the kit's plugin, or
by the test suite), the target from whoever runs it.
"""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import scenarios

FEATURE = Path(__file__).resolve().parent.parent / "features" / "gateway.feature"

scenarios(str(FEATURE))
