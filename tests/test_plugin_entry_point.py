"""The installed plugin (issue 11 item 5): registered through the `pytest11` entry point, loaded with no
conftest edit, and switched off with `-p no:tdc_simulator`, as the README documents."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import simulator.testing.plugin

FEATURE = """Feature: An outside suite
  Scenario: it uses our steps
    Given a running sandbox with the Threat Defense Connector enabled
    When an outside sender sends a message to 1 local recipient through the public listener
    Then Threat Defense receives 1 journal
"""


def run_pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest in `folder`, a suite with no conftest.py, as an outside team would run it."""
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def outside_suite(folder: Path) -> Path:
    (folder / "outside.feature").write_text(FEATURE, encoding="utf-8")
    binding = 'from pytest_bdd import scenarios\n\nscenarios("outside.feature")\n'
    (folder / "test_outside.py").write_text(binding, encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return folder


def test_the_entry_point_names_the_plugin_module() -> None:
    (plugin,) = [point for point in entry_points(group="pytest11") if point.name == "tdc_simulator"]
    assert plugin.load() is simulator.testing.plugin


def test_an_outside_suite_uses_our_fixtures_and_steps_with_no_conftest(tmp_path: Path) -> None:
    result = run_pytest(outside_suite(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_documented_opt_out_unloads_fixtures_and_steps(tmp_path: Path) -> None:
    result = run_pytest(outside_suite(tmp_path), "-p", "no:tdc_simulator")
    assert result.returncode == 1
    assert 'Step definition is not found: Given "a running sandbox' in result.stdout
