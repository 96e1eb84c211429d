"""A TOML file read so that every refusal names the dotted key and its line (toml_lines.py finds it).

Design rule: `Table` is a read-only view of one TOML table and its path; its readers check types and
unknown keys, and `checking` re-raises a validator's ConfigError at the key it was about.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from simulator.core.errors import ConfigError
from simulator.settings.toml_lines import KeyPath, dotted, key_lines, line_of

T = TypeVar("T")
_KINDS: dict[type, str] = {bool: "true or false", int: "a whole number", str: "a string",
                           list: "a list", dict: "a table"}


@dataclass(frozen=True)
class Table:
    """A TOML table being read; every refusal names the dotted key and its line."""

    values: Mapping[str, Any]
    path: KeyPath
    lines: Mapping[KeyPath, int]

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def where(self, *keys: str | int) -> str:
        """`cluster.policies[0].name (line 30)`."""
        path = self.path + keys
        return f"{dotted(path) or 'file'} (line {line_of(self.lines, path)})"

    def error(self, reason: str, *keys: str | int) -> ConfigError:
        return ConfigError(self.where(*keys), reason)

    @contextmanager
    def checking(self, *keys: str | int) -> Iterator[None]:
        """Re-raise a validator's ConfigError as one about `keys`, with the line."""
        try:
            yield
        except ConfigError as error:
            raise self.error(error.reason, *keys) from None

    def only(self, known: Iterable[str]) -> Table:
        """This table, if it has no key outside `known`."""
        known = tuple(known)
        for key in self.values:
            if key not in known:
                raise self.error(f"unknown key (known here: {', '.join(known)})", key)
        return self

    def get(self, key: str, kind: type[T], default: T) -> T:
        """The value of `key` (or `default`), if it is of `kind`."""
        value = self.values.get(key, default)
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        raise self.error(f"must be {_KINDS.get(kind, kind.__name__)}, not {value!r}", key)

    def need(self, key: str, kind: type[T]) -> T:
        """The value of `key`, which must be there."""
        if key not in self.values:
            raise self.error("is missing", key)
        found: T = self.get(key, kind, self.values[key])
        return found

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings (empty if `key` is absent)."""
        values = self.get(key, list, [])
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(f"must be a list of strings, not {value!r}", key, index)
        return tuple(values)

    def table(self, key: str) -> Table:
        """The sub-table `key` (empty if absent)."""
        return Table(self.get(key, dict, {}), (*self.path, key), self.lines)

    def tables(self, key: str) -> list[Table]:
        """The array of tables `key` (`[[key]]`; empty if absent)."""
        items = self.get(key, list, [])
        if not all(isinstance(item, dict) for item in items):
            raise self.error(f"must be tables ([[{dotted((*self.path, key))}]]), not {items!r}", key)
        return [Table(item, (*self.path, key, index), self.lines) for index, item in enumerate(items)]


def parse_toml(text: str) -> Table:
    """The root table of `text`; a syntax error is a ConfigError with tomllib's line and column."""
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("TOML syntax", str(error)) from None
    return Table(values, (), key_lines(text))
