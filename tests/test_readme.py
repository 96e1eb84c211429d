"""The README's operator examples run as written (issue 10 point 3): every line of the ```sh blocks of
"Administering a running sandbox" runs, in order, against a running default sandbox and exits 0, and
the `--config` example runs on the sandbox that file describes; so the README cannot rot."""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable
from pathlib import Path

from simulator.defaults import DEFAULT_INTAKE_ADDRESSES
from simulator.sandbox import SandboxSettings
from simulator.settings.file import load_config_file
from simulator.testing.harness import SandboxFacade

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Administering a running sandbox"


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end != -1 else len(text)]


def commands() -> list[list[str]]:
    """Each command line of the section's ```sh blocks, split as the shell splits it."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", section(), flags=re.MULTILINE | re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    return [shlex.split(line, comments=True) for line in lines]


def test_the_section_has_its_examples_and_says_where_tdcsim_is() -> None:
    found = commands()
    assert len(found) >= 20 and all(words[0] == "tdcsim" for words in found), found
    assert {"commit", "commits", "diff", "policy", "routes", "dns", "faults"} <= {words[1] for words in found}
    assert "`.venv/bin/tdcsim`" in section()


def test_every_example_runs_as_written_on_the_default_sandbox(tdc_sandbox: SandboxFacade) -> None:
    for words in commands():
        run = tdc_sandbox.tdcsim(*words[1:])
        assert (run.status, run.stderr) == (0, ""), f"{shlex.join(words)}: {run}"
    assert tdc_sandbox.store.pending is None  # the examples leave nothing pending behind them


def sales_example() -> list[str]:
    """The README's example for a sandbox whose `--config` declares SALES."""
    (line,) = re.findall(r"`(tdcsim policy set SALES [^`]*)`", section())
    return shlex.split(line)


def test_the_sales_example_runs_with_the_example_config_only(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_sandbox_settings: SandboxSettings
) -> None:
    assert "--config sandbox.example.toml" in section()
    default = tdc_start_sandbox(tdc_sandbox_settings).tdcsim(*sales_example()[1:])
    assert default.status == 2 and "unknown incoming mail policy 'SALES'" in default.stderr
    assert "unknown incoming mail policy 'SALES'" in section()
    declared = load_config_file(ROOT / "sandbox.example.toml")
    assert tdc_sandbox_settings.data_dir is not None
    settings = dataclasses.replace(
        tdc_sandbox_settings, data_dir=tdc_sandbox_settings.data_dir.with_name("example"),
        cluster=declared.cluster, intake_addresses=declared.intake_addresses or DEFAULT_INTAKE_ADDRESSES)
    run = tdc_start_sandbox(settings).tdcsim(*sales_example()[1:])
    assert (run.status, run.stderr) == (0, ""), run
