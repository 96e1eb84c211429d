"""`tdcsim conform` from the command line: `init`, one-line usage errors (exit 2), an unreachable target
(exit 2, with a bundle), and the kit's endpoint direction against our own mock Threat Defense: every
check passes and the bundle is complete. Each run is the command's `main` in this process: the only
subprocess is the kit's own pytest, as a vendor's run starts it. What an expected-failures file does
to a run's verdicts is judged in tests/test_conform_endpoint_faults.py, on the run it makes anyway
with the fault whose failures the file lists (`LISTED`)."""

from __future__ import annotations

import json
import socket
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.cli.main import main
from simulator.conformance.expected import kit_rules
from simulator.conformance.settings import load_settings
from simulator.testing.harness import SandboxFacade
from simulator.transport.tls import SandboxTls

BUNDLE_FILES = {"junit.xml", "results.json", "summary.md", "config.toml", "kit.json", "artifacts",
                "pytest-output.txt"}


def tdcsim(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `tdcsim ARGS` to its end: the exit status, stdout and stderr."""
    try:
        status = main(list(args))
    except SystemExit as exited:  # argparse's usage errors
        status = int(exited.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound by nobody who listens: a connection to it is refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def test_init_writes_an_example_that_loads_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "conform.toml"
    status, out, _ = tdcsim(capsys, "conform", "init", str(path))
    assert status == 0 and str(path) in out
    settings = load_settings(path, "gateway")
    assert settings.endpoint is not None and settings.gateway is not None
    path.write_text("# mine\n")
    status, out, err = tdcsim(capsys, "conform", "init", str(path))
    assert (status, out, err) == (2, "", f"tdcsim: {path} exists: not overwriting it\n")
    assert path.read_text() == "# mine\n"


@pytest.mark.bad_input
@pytest.mark.parametrize(("args", "words"), [
    (["conform"], "a command is needed: init, endpoint, gateway"),
    (["conform", "gateway"], "--config"),
    (["conform", "endpoint"], "needs --target HOST:PORT or --config FILE"),
    (["conform", "endpoint", "--target", "intake.example.com"], "--target: target must be HOST:PORT"),
    (["conform", "endpoint", "--target", "127.0.0.1:25", "--ca", "no-such-ca.pem"], "--ca: no such file:"),
    (["conform", "endpoint", "--target", "127.0.0.1:25", "--intake", "nobody"], "--intake: not an email"),
])
def test_bad_usage_is_one_line_and_exit_2(
        args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = tdcsim(capsys, *args)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and words in err
    assert list(tmp_path.iterdir()) == []  # nothing was run, nothing written


@pytest.mark.bad_input
def test_a_bad_configuration_file_names_the_file_key_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kit.toml"
    config.write_text('[kit]\nrun_timeout = 60\n\n[endpoint]\ntarget = "127.0.0.1:25"\ntimeout = "slow"\n')
    status, _, err = tdcsim(capsys, "conform", "endpoint", "--config", str(config))
    assert status == 2
    assert err == f"tdcsim: {config}: endpoint.timeout (line 6): must be a number, not 'slow'\n"


@pytest.mark.bad_input
def test_an_expected_failure_naming_no_rule_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = tmp_path / "known.toml"
    expected.write_text('[[expected_failure]]\nrule = "8.1-starttls-requird"\nreason = "ENG-1"\n')
    status, _, err = tdcsim(capsys, "conform", "endpoint", "--target", "127.0.0.1:25",
                            "--expected-failures", str(expected), "--output", str(tmp_path / "out"))
    assert status == 2 and not (tmp_path / "out").exists()
    assert err == (f"tdcsim: {expected}: expected_failure[0].rule (line 2): not a rule of the kit: "
                   "'8.1-starttls-requird' (did you mean '8.1-starttls-required'?)\n")


@pytest.mark.bad_input
def test_expected_failures_option_replaces_the_files_key_which_need_not_exist(
        tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    """`--expected-failures` wins: the file `kit.expected_failures` names is neither needed nor read,
    and the run's config.toml records the option's file."""
    config = tmp_path / "kit.toml"
    config.write_text(f'[kit]\nexpected_failures = "gone.toml"\n\n[gateway]\n'
                      f'incoming = "127.0.0.1:{closed_port}"\nrecipients = ["a@example.com"]\n')
    known = tmp_path / "known.toml"
    known.write_text('[[expected_failure]]\nrule = "3-wrapper-to"\nreason = "ENG-1"\n')
    status, _, err = tdcsim(capsys, "conform", "gateway", "--config", str(config),
                            "--expected-failures", str(known), "--output", str(tmp_path / "b"))
    assert status == 2 and "no such file" not in err
    assert err.startswith(f"tdcsim: cannot reach the gateway's incoming listener at 127.0.0.1:{closed_port}")
    used = load_settings(tmp_path / "b" / "config.toml", "gateway")
    assert used.kit.expected_failures == known.resolve()
    status, _, err = tdcsim(capsys, "conform", "gateway", "--config", str(config), "--expected-failures",
                            str(tmp_path / "none.toml"), "--output", str(tmp_path / "c"))
    assert status == 2 and not (tmp_path / "c").exists()
    assert err == f"tdcsim: --expected-failures: no such file: {(tmp_path / 'none.toml').resolve()}\n"


@pytest.mark.bad_input
def test_the_output_directory_must_be_new_or_empty(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("kept")
    status, _, err = tdcsim(capsys, "conform", "endpoint", "--target", "127.0.0.1:25",
                            "--output", str(tmp_path / "out"))
    assert status == 2
    assert err == f"tdcsim: --output: {tmp_path / 'out'} exists and is not an empty directory\n"


@pytest.mark.bad_input
def test_an_unreachable_target_is_one_line_exit_2_and_a_bundle(
        tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    status, out, err = tdcsim(capsys, "conform", "endpoint", "--target", f"127.0.0.1:{closed_port}")
    assert status == 2
    assert err.startswith(f"tdcsim: cannot reach the endpoint under test at 127.0.0.1:{closed_port}: ")
    assert len(err.splitlines()) == 1
    [bundle] = [path for path in (tmp_path / "conformance-results").glob("endpoint-*") if path.is_dir()]
    assert f"bundle: {bundle} (and {bundle.name}.tar.gz)" in out and "not-run" in out
    results = json.loads((bundle / "results.json").read_text())
    assert results["exit_status"] == 2 and results["counts"]["not-run"] == len(kit_rules("endpoint"))
    assert all(f"127.0.0.1:{closed_port}" in rule["detail"] for rule in results["rules"])
    assert f"No check ran: cannot reach the endpoint under test at 127.0.0.1:{closed_port}" in (
        bundle / "summary.md").read_text()
    assert bundle.with_name(bundle.name + ".tar.gz").is_file()


@pytest.mark.bad_input
def test_an_unreachable_gateway_names_its_listener(
        tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kit.toml"
    config.write_text(f'[gateway]\nincoming = "127.0.0.1:{closed_port}"\nrecipients = ["a@example.com"]\n')
    status, _, err = tdcsim(capsys, "conform", "gateway", "--config", str(config),
                            "--output", str(tmp_path / "b"))
    assert status == 2
    assert err.startswith(f"tdcsim: cannot reach the gateway's incoming listener at 127.0.0.1:{closed_port}")
    assert json.loads((tmp_path / "b" / "results.json").read_text())["counts"]["not-run"] == len(
        kit_rules("gateway"))


@pytest.fixture
def vendor_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose pytest configuration would break any pytest run started in it."""
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (vendor / "conftest.py").write_text("raise RuntimeError('the vendor conftest was loaded')\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--no-such-option-either")
    monkeypatch.chdir(vendor)
    return vendor


def test_our_mock_threat_defense_passes_every_endpoint_check(
        tdc_sandbox: SandboxFacade, tdc_tls: SandboxTls, vendor_directory: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The options win over the file (`--target`, `--ca`); the file gives only `retry_wait`: the mock
    answers the 11th journal on a connection 421, and the kit's default second before sending it
    again on a new connection (twice: 8.3 and 8.9) would be all this run's waiting."""
    (vendor_directory / "ca.pem").write_bytes(tdc_tls.ca_pem)
    (vendor_directory / "kit.toml").write_text("[endpoint]\nretry_wait = 0.05\n")
    host, port = tdc_sandbox.listener_address("threat_defense")
    bundle = vendor_directory / "bundle"
    command = ["endpoint", "--config", "kit.toml", "--target", f"{host}:{port}", "--ca", "ca.pem",
               "--output", "bundle"]
    status, out, err = tdcsim(capsys, "conform", *command)
    summary = (bundle / "summary.md").read_text()
    assert status == 0, summary + (bundle / "pytest-output.txt").read_text()
    rules = kit_rules("endpoint")
    assert out == f"bundle: bundle (and bundle.tar.gz)\nendpoint at {host}:{port}: {len(rules)} rules: " \
                  f"{len(rules)} passed\n" and err == ""
    assert {path.name for path in bundle.iterdir()} >= BUNDLE_FILES
    results = json.loads((bundle / "results.json").read_text())
    assert [rule["rule"] for rule in results["rules"]] == list(rules)
    assert {rule["outcome"] for rule in results["rules"]} == {"passed"} and results["exit_status"] == 0
    cases = ET.parse(bundle / "junit.xml").getroot().findall("./testsuite/testcase")
    assert [case.attrib["name"] for case in cases] == list(rules)
    assert {case.attrib["classname"] for case in cases} == {"endpoint"}
    kit = json.loads((bundle / "kit.json").read_text())
    assert kit["command"] == ["tdcsim", "conform", *command]
    used = load_settings(bundle / "config.toml", "endpoint").endpoint
    assert used is not None and used.ca == vendor_directory / "ca.pem" and used.target == f"{host}:{port}"
    assert used.retry_wait == 0.05
    assert any((bundle / "artifacts").rglob("transcript.txt"))
    with tarfile.open(vendor_directory / "bundle.tar.gz") as archive:
        assert {f"bundle/{name}" for name in BUNDLE_FILES} <= set(archive.getnames())

