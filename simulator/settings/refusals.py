"""How the `--config` file's models refuse a value, and how pydantic's refusal becomes the one-line
ConfigError that names the dotted key and its line.

Design rule: the models (schema.py, levels.py, policies.py) say what is wrong in pydantic's terms;
this module alone turns that into the operator's words. A check that knows a more exact place than
the value it was handed (a list's element, a table's key) says so: `refuse(reason, *at)`. A core
validator's ConfigError keeps its reason (`checked`). Of several refusals, the first in the file wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from simulator.core.errors import ConfigError
from simulator.settings.toml_lines import KeyPath, Lines, dotted, line_of, where

T = TypeVar("T")
_KINDS = {"bool_type": "true or false", "int_type": "a whole number", "string_type": "a string",
          "list_type": "a list", "dict_type": "a table", "model_type": "a table"}
_QUOTED = re.compile(r"'([^']*)'")  # the choices in pydantic's "Input should be 'a', 'b' or 'c'"


def refuse(reason: str, *at: str | int) -> PydanticCustomError:
    """A refusal of the value being checked, or of its part at the keys `at`."""
    return PydanticCustomError("refused", "{reason}", {"reason": reason, "at": at})


def checked(validator: Callable[[T], object]) -> Callable[[T], T]:
    """A core validator (raising ConfigError) as a pydantic one that keeps the value."""

    def check(value: T) -> T:
        try:
            validator(value)
        except ConfigError as error:
            raise refuse(error.reason) from None
        return value

    return check


class Section(BaseModel):
    """A TOML table: only the keys it names, each of TOML's own type (strict: no "5" for 5)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, data: Any) -> Any:
        for key in data if isinstance(data, dict) else ():
            if key not in cls.model_fields:
                raise refuse(f"unknown key (known here: {', '.join(cls.model_fields)})", key)
        return data


def _reason(detail: ErrorDetails) -> str:
    """Why a value is refused, in the operator's words."""
    kind, ctx, value = detail["type"], detail.get("ctx", {}), detail["input"]
    if kind in ("refused", "missing"):
        return str(ctx["reason"]) if kind == "refused" else "is missing"
    if kind == "literal_error":
        return f"must be one of {', '.join(_QUOTED.findall(ctx['expected']))}, not {value!r}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, not {value!r}"
    return f"must be {_KINDS[kind]}, not {value!r}" if kind in _KINDS else detail["msg"]


def _explained(detail: ErrorDetails) -> tuple[KeyPath, str]:
    """Where a refusal is (a check may name a part of its value), and why."""
    path: KeyPath = (*detail["loc"], *detail.get("ctx", {}).get("at", ()))
    if detail["type"] == "model_type" and isinstance(path[-1], int):  # [[...]] written as a list
        return path[:-1], f"must be tables ([[{dotted(path[:-1])}]]), not {detail['input']!r}"
    return path, _reason(detail)


def refusal(error: ValidationError, lines: Lines) -> ConfigError:
    """The refusal that comes first in the file, naming its dotted key and line."""
    refusals = [_explained(detail) for detail in error.errors(include_url=False)]
    path, reason = min(refusals, key=lambda refused: line_of(lines, refused[0]))
    return ConfigError(where(lines, path), reason)
