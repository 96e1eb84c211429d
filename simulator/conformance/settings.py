"""The vendor configuration file (TOML): `[kit]` (where bundles go, the expected-failures file, the
run's time limits), `[endpoint]` and `[gateway]` (each direction's own model), and the command-line
options that override it.

Design rule: one reader for the vendor's file, the command line and the run's own `config.toml` (the
settings used, written into the bundle and read back by the run's pytest plugin). A refusal names the
dotted key and its line (settings/toml_lines.py, settings/refusals.py), or the option that gave the
value. Relative paths are the file's (else the working directory's); every file named must exist.
"""

from __future__ import annotations

import json
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ErrorDetails

from simulator.conformance.endpoint.target import EndpointSection
from simulator.conformance.gateway.target import GatewaySection
from simulator.core.errors import ConfigError
from simulator.settings.refusals import Section, refusal
from simulator.settings.toml_lines import KeyPath, Lines, key_lines, line_of, where

M = TypeVar("M", bound=BaseModel)
Seconds = Annotated[float, Field(gt=0)]
FilePath = Annotated[Path, Field(strict=False)]  # TOML gives a string
#: An option overriding a key of the file: key path -> (option, value).
Overrides = Mapping[KeyPath, tuple[str, Any]]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class KitSection(Section):
    """`[kit]`: where each run's bundle goes, the expected failures, how long a run may take."""

    results_dir: FilePath = Path("conformance-results")
    expected_failures: FilePath | None = None
    connect_timeout: Seconds = 10.0  # to find the target reachable before any check
    run_timeout: Seconds = 3600.0  # for the whole run of one direction's checks


class KitSettings(Section):
    """The vendor configuration file: `[kit]`, and the section of each direction it describes."""

    kit: KitSection = KitSection()
    endpoint: EndpointSection | None = None
    gateway: GatewaySection | None = None


def load_settings(path: Path | None, direction: str | None = None,
                  overrides: Overrides | None = None) -> KitSettings:
    """The settings of file `path` (None: no file) with `overrides` applied; ConfigError names the
    key and line of the first problem (or the option), or the `direction`'s missing section."""
    try:
        text = "" if path is None else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("file", f"cannot read it: {error}") from None
    base = Path.cwd() if path is None else path.resolve().parent
    settings = read_settings(text, base, overrides or {})
    if direction is not None and getattr(settings, direction) is None:
        raise ConfigError(direction, f"no [{direction}] section: the {direction} under test is not described")
    return settings


def read_settings(text: str, base: Path, overrides: Overrides) -> KitSettings:
    """The settings TOML `text` declares, with `overrides`; relative paths are `base`'s."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("TOML syntax", str(error)) from None
    for (*tables, key), (_, value) in overrides.items():
        table = data
        for name in tables:
            table = table.setdefault(str(name), {})
        table[str(key)] = str(value.resolve()) if isinstance(value, Path) else value
    lines, options = key_lines(text), {path: option for path, (option, _) in overrides.items()}
    try:
        settings = _anchored(KitSettings.model_validate(data), base)
    except ValidationError as error:
        raise _refused(error, lines, options) from None
    _check_files(settings, lines, options)
    return settings


def _anchored(model: M, base: Path) -> M:
    """`model` with each relative path made `base`'s."""
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path) and not value.expanduser().is_absolute():
            updates[name] = base / value
        elif isinstance(value, BaseModel):
            updates[name] = _anchored(value, base)
    return model.model_copy(update=updates)


def _paths(model: BaseModel, at: KeyPath = ()) -> Iterator[tuple[KeyPath, Path]]:
    """Every path `model` names, with its key path."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path):
            yield (*at, name), value.expanduser()
        elif isinstance(value, BaseModel):
            yield from _paths(value, (*at, name))


def _check_files(settings: KitSettings, lines: Lines, options: Mapping[KeyPath, str]) -> None:
    """Every file the settings name exists (the results directory is made by the run)."""
    for path, value in _paths(settings):
        if path != ("kit", "results_dir") and not value.exists():
            raise ConfigError(options.get(path) or where(lines, path), f"no such file: {value}")


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    """The model of the table at `path`, if the settings have one there."""
    model: type[BaseModel] = KitSettings
    for part in path:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        kinds = typing.get_args(field.annotation) or (field.annotation,)
        found = [kind for kind in kinds if isinstance(kind, type) and issubclass(kind, BaseModel)]
        if not found:
            return None
        model = found[0]
    return model


def _reason(detail: ErrorDetails) -> str | None:
    """The direction models' refusals in the operator's words (the rest are refusals.py's)."""
    kind, ctx, path = detail["type"], detail.get("ctx", {}), tuple(detail["loc"])
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        return f"unknown key (known here: {', '.join(model.model_fields)})" if model else "unknown key"
    if kind in ("greater_than", "greater_than_equal"):
        least, words = (ctx["gt"], "more than") if kind == "greater_than" else (ctx["ge"], "at least")
        return f"must be {words} {least:g}, not {detail['input']!r}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, not {detail['input']!r}"
    if kind == "too_short":
        return "must not be empty"
    return None


def _refused(error: ValidationError, lines: Lines, options: Mapping[KeyPath, str]) -> ConfigError:
    """The refusal of an option first, else the one that comes first in the file."""
    details = error.errors(include_url=False)
    for detail in details:
        if (option := options.get(tuple(detail["loc"]))) is not None:
            return ConfigError(option, _reason(detail) or detail["msg"])
    first = min(details, key=lambda detail: line_of(lines, tuple(detail["loc"])))
    reason = _reason(first)
    return ConfigError(where(lines, tuple(first["loc"])), reason) if reason else refusal(error, lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return f"[{', '.join(_toml_value(each) for each in value)}]"
    if isinstance(value, dict):
        return f"{{ {', '.join(f'{_toml_key(key)} = {_toml_value(each)}' for key, each in value.items())} }}"
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _toml_table(table: Mapping[str, Any], path: tuple[str, ...]) -> list[str]:
    """A table's keys, then its sub-tables, each under its header."""
    lines = [f"[{'.'.join(map(_toml_key, path))}]"] if path else []
    lines += [f"{_toml_key(key)} = {_toml_value(value)}" for key, value in table.items()
              if not isinstance(value, dict)]
    for key, value in table.items():
        if isinstance(value, dict):
            lines += ["", *_toml_table(value, (*path, key))]
    return lines


def settings_toml(settings: KitSettings) -> str:
    """The settings as TOML that `read_settings` reads back to the same settings."""
    header = "# The settings this run used: defaults filled in, command-line options applied, paths absolute."
    return "\n".join([header, *_toml_table(settings.model_dump(mode="json", exclude_none=True), ())]) + "\n"
