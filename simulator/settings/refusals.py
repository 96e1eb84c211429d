"""How the `--config` file's models refuse a value, and how pydantic's refusal becomes the one-line
ConfigError that names the dotted key and its line.

Design rule: the models say what is wrong in pydantic's terms; this module alone puts it in the
operator's words. A check that knows a more exact place than the value it was handed (an element,
a key) says so with `refuse(reason, *at)`; a core validator's ConfigError keeps its reason
(`checked`). Of several refusals, the first in the file is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator
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


def checked(validator: Callable[[T], object]) -> AfterValidator:
    """A core validator (raising ConfigError) as a pydantic check that keeps the value."""

    def check(value: T) -> T:
        try:
            validator(value)
        except ConfigError as error:
            raise refuse(error.reason) from None
        return value

    return AfterValidator(check)


def rule(holds: Callable[[Any], object], reason: str) -> AfterValidator:
    """A check that refuses a value unless it `holds`; `{!r}` in `reason` shows the value."""

    def check(value: T) -> T:
        if not holds(value):
            raise refuse(reason.format(value))
        return value

    return AfterValidator(check)


def unique(reason: str, field: str = "", fold: Callable[[str], str] = str) -> AfterValidator:
    """No two elements of a list alike (their `field`, as `fold` makes it); `reason` names the second."""

    def check(items: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for index, item in enumerate(items):
            if fold(value := getattr(item, field) if field else item) in seen:
                raise refuse(reason.format(value), index, *([field] if field else []))
            seen.add(fold(value))
        return items

    return AfterValidator(check)


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


def _explained(detail: ErrorDetails) -> tuple[KeyPath, str]:
    """Where a refusal is (a check may name a part of its value), and why."""
    kind, ctx, value = detail["type"], detail.get("ctx", {}), detail["input"]
    path: KeyPath = (*detail["loc"], *ctx.get("at", ()))
    if kind == "model_type" and isinstance(path[-1], int):  # [[...]] written as a list
        return path[:-1], f"must be tables ([[{dotted(path[:-1])}]]), not {value!r}"
    if kind in ("refused", "missing"):
        return path, str(ctx["reason"]) if kind == "refused" else "is missing"
    if kind == "literal_error":
        return path, f"must be one of {', '.join(_QUOTED.findall(ctx['expected']))}, not {value!r}"
    if kind == "greater_than_equal":
        return path, f"must be at least {ctx['ge']}, not {value!r}"
    return path, f"must be {_KINDS[kind]}, not {value!r}" if kind in _KINDS else detail["msg"]


def refusal(error: ValidationError, lines: Lines) -> ConfigError:
    """The refusal that comes first in the file, naming its dotted key and line."""
    refusals = [_explained(detail) for detail in error.errors(include_url=False)]
    path, reason = min(refusals, key=lambda refused: line_of(lines, refused[0]))
    return ConfigError(where(lines, path), reason)
