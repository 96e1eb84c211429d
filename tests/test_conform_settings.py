"""The conformance kit's configuration file: refusals name the dotted key and its line (or the option
that gave the value), relative paths are the file's, and the settings a run used read back the same."""

from __future__ import annotations

import re
import typing
from importlib import resources
from pathlib import Path

import pytest
from pydantic import BaseModel

from simulator.conformance.settings import KitSettings, load_settings, read_settings, settings_toml
from simulator.core.errors import ConfigError

ENDPOINT = '[endpoint]\ntarget = "127.0.0.1:2525"\n'
GATEWAY = '[gateway]\nincoming = "127.0.0.1:25"\nrecipients = ["alice@corp.example.com"]\n'


def refusal(text: str, overrides: dict[tuple[str | int, ...], tuple[str, object]] | None = None) -> str:
    with pytest.raises(ConfigError) as refused:
        read_settings(text, Path("/nonexistent"), overrides or {})
    return str(refused.value)


@pytest.mark.bad_input
@pytest.mark.parametrize(("text", "expected"), [
    ('[endpoint]\ntarget = "intake.example.com"\n',
     "endpoint.target (line 2): target must be HOST:PORT with a port from 1 to 65535, "
     "not 'intake.example.com'"),
    (ENDPOINT + "tiemout = 5\n", "endpoint.tiemout (line 3): unknown key (known here: target, server_name, "),
    (ENDPOINT + "timeout = 0\n", "endpoint.timeout (line 3): must be more than 0, not 0"),
    ("[kit]\nrun_timeout = -1\n", "kit.run_timeout (line 2): must be more than 0, not -1"),
    ('[kit]\nconnect_timeout = "10s"\n', "kit.connect_timeout (line 2): must be a number, not '10s'"),
    ("[kit]\nretries = 3\n", "kit.retries (line 2): unknown key (known here: results_dir, "),
    ("[vendor]\nname = 'x'\n", "vendor (line 1): unknown key (known here: kit, endpoint, gateway)"),
    ("[endpoint]\nca = 'ca.pem'\n", "endpoint.target (line 1): is missing"),
    ('[gateway]\nincoming = "127.0.0.1:25"\nrecipients = []\n',
     "gateway.recipients (line 3): must not be empty"),
    (GATEWAY + "\n[gateway.waits]\nretry = 0\n", "gateway.waits.retry (line 6): must be more than 0, not 0"),
    (GATEWAY + "\n[gateway.driver]\noptions = {}\n", "gateway.driver (line 5): give either python"),
    (ENDPOINT + 'ca = "missing-ca.pem"\n', "endpoint.ca (line 3): no such file: /nonexistent/missing-ca.pem"),
    ('[kit]\nexpected_failures = "known.toml"\n', "kit.expected_failures (line 2): no such file: "),
    ("[endpoint\n", "TOML syntax: "),
])
def test_a_bad_file_names_the_key_and_its_line(text: str, expected: str) -> None:
    assert refusal(text).startswith(expected)


@pytest.mark.bad_input
def test_a_bad_option_is_named_as_the_option() -> None:
    assert refusal(ENDPOINT, {("endpoint", "target"): ("--target", "nowhere")}).startswith(
        "--target: target must be HOST:PORT")
    assert refusal(ENDPOINT, {("endpoint", "intake_address"): ("--intake", "tenant")}) == (
        "--intake: not an email address: 'tenant'")
    assert refusal(ENDPOINT, {("endpoint", "ca"): ("--ca", Path("/nonexistent/ca.pem"))}) == (
        "--ca: no such file: /nonexistent/ca.pem")


def test_options_win_over_the_file_and_make_a_section_of_their_own(tmp_path: Path) -> None:
    settings = read_settings(ENDPOINT, tmp_path, {("endpoint", "target"): ("--target", "[::1]:26"),
                                                  ("endpoint", "server_name"): ("--server-name", "td.test")})
    assert settings.endpoint is not None
    assert (settings.endpoint.target, settings.endpoint.server_name) == ("[::1]:26", "td.test")
    alone = read_settings("", tmp_path, {("endpoint", "target"): ("--target", "127.0.0.1:1")})
    assert alone.endpoint is not None and alone.gateway is None


def test_relative_paths_are_the_files_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "ca.pem").write_text("pem")
    (tmp_path / "conf" / "kit.toml").write_text(ENDPOINT + 'ca = "ca.pem"\n[kit]\nresults_dir = "out"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(Path("conf/kit.toml"), "endpoint")
    assert settings.endpoint is not None and settings.endpoint.ca == tmp_path / "conf" / "ca.pem"
    assert settings.kit.results_dir == tmp_path / "conf" / "out"
    assert load_settings(None, None).kit.results_dir == tmp_path / "conformance-results"


@pytest.mark.bad_input
def test_the_direction_run_needs_its_section(tmp_path: Path) -> None:
    (tmp_path / "kit.toml").write_text(ENDPOINT)
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "kit.toml", "gateway")
    assert str(refused.value) == "gateway: no [gateway] section: the gateway under test is not described"
    with pytest.raises(ConfigError, match="cannot read it"):
        load_settings(tmp_path / "missing.toml", "endpoint")


def test_the_settings_used_read_back_the_same(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("pem")
    text = (ENDPOINT + 'ca = "ca.pem"\n\n' + GATEWAY + '\n[gateway.driver]\nurl = "http://127.0.0.1:1/d"\n'
            'options = { "odd key" = "é\\u007f\\"", list = [1, 2.5, true], nested = { a = "b" } }\n')
    settings = read_settings(text, tmp_path, {("endpoint", "intake_address"): ("--intake", "t@i.example")})
    written = settings_toml(settings)
    assert read_settings(written, Path("/elsewhere"), {}) == settings
    assert 'ca = "' + str(tmp_path / "ca.pem") + '"' in written


EXAMPLE = resources.files("simulator.conformance").joinpath("example.toml").read_text(encoding="utf-8")


def documented(model: type[BaseModel], table: str) -> list[str]:
    """Every table header and key of `model` (at `table`) the example does not show, set or commented."""
    missing = []
    for name, field in model.model_fields.items():
        kinds = typing.get_args(field.annotation) or (field.annotation,)
        nested = [kind for kind in kinds if isinstance(kind, type) and issubclass(kind, BaseModel)]
        if nested:
            header = f"{table}.{name}".lstrip(".")
            if not re.search(rf"^#? ?\[{re.escape(header)}\]$", EXAMPLE, re.MULTILINE):
                missing.append(f"[{header}]")
            missing += documented(nested[0], header)
        elif table and not re.search(rf"^#? ?{name} = ", EXAMPLE, re.MULTILINE):
            missing.append(f"{table}.{name}")
    return missing


def test_the_example_file_shows_every_key() -> None:
    assert documented(KitSettings, "") == []


def test_the_example_file_loads_and_describes_both_directions() -> None:
    example = EXAMPLE
    settings = read_settings(example, Path("/tmp"), {})
    assert settings.endpoint is not None and settings.gateway is not None
    defaults = KitSettings().kit.model_copy(update={"results_dir": Path("/tmp/conformance-results")})
    assert settings.kit == defaults
