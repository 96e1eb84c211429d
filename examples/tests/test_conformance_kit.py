"""The installed conformance kit checks the installed mock Threat Defense: every endpoint rule passes.

Run from the built wheel (make examples), this proves the kit's feature files ship with the package.
"""

import json
import subprocess
import sys
from pathlib import Path


def test_the_kit_passes_the_mock_threat_defense(tdc_sandbox, tmp_path: Path) -> None:
    host, port = tdc_sandbox.listener_address("threat_defense")
    tdcsim = Path(sys.executable).parent / "tdcsim"
    run = subprocess.run(
        [str(tdcsim), "conform", "endpoint", "--target", f"{host}:{port}",
         "--ca", str(tdc_sandbox.data_dir / "ca.pem"), "--output", str(tmp_path / "bundle")],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((tmp_path / "bundle" / "results.json").read_text())
    assert {rule["outcome"] for rule in results["rules"]} == {"passed"}
    assert len(results["rules"]) >= 11
    assert (tmp_path / "bundle.tar.gz").exists()
