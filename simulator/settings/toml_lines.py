"""Where each key of a TOML file is written: `tomllib` gives the values but no line numbers.

Design rule: a small line scanner, not a second TOML parser. It follows table headers (`[a.b]`,
`[[a.b]]` with each element's index), `key = ...` lines (dotted keys too) and the elements of array
values, and skips the inside of multi-line strings. A key it did not see (inside an inline table, a
number in an array) takes the line of its nearest ancestor.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping

KeyPath = tuple[str | int, ...]
Lines = Mapping[KeyPath, int]  # where each key path is first written

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
_HEADER = re.compile(rf"[ \t]*(\[\[?)[ \t]*({_DOTTED})[ \t]*\]\]?")
_ASSIGNMENT = re.compile(rf"[ \t]*({_DOTTED})[ \t]*=")
_TOKEN = re.compile(r"""\"\"\"|'''|"(?:[^"\\]|\\.)*"|'[^']*'|#|[\[\]{},]""")


def split_key(dotted: str) -> tuple[str, ...]:
    """`a."b.c"` -> ("a", "b.c")."""
    return tuple(tomllib.loads(f"k = {part}")["k"] if part[0] in "\"'" else part
                 for part in re.findall(_KEY, dotted))


def dotted(path: KeyPath) -> str:
    """("cluster", "policies", 0, "name") -> `cluster.policies[0].name`."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def _table_path(parts: tuple[str, ...], arrays: Mapping[KeyPath, int]) -> KeyPath:
    """The path of a header's table: an array of tables on the way means its latest element."""
    path: KeyPath = ()
    for part in parts:
        path += (part,)
        if path in arrays:
            path += (arrays[path] - 1,)
    return path


class _Scanner:
    """Reads TOML text line by line, noting where each key path (and array element) is first written."""

    def __init__(self) -> None:
        self.lines: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}  # array of tables -> elements so far
        self.table: KeyPath = ()
        self.depth, self.in_string = 0, ""  # open brackets; the open multi-line string's delimiter
        self.array: KeyPath | None = None  # the array value being read, and its current element
        self.element = 0

    def note(self, path: KeyPath, number: int, known: int) -> None:
        for end in range(known + 1, len(path) + 1):
            self.lines.setdefault(path[:end], number)

    def line(self, number: int, text: str) -> None:
        if self.depth == 0 and not self.in_string:
            text = self._key(number, text)
        for token in _TOKEN.findall(text):
            if self.in_string:
                self.in_string = "" if token == self.in_string else self.in_string
            elif token == "#":
                break
            else:
                self._token(number, token)

    def _key(self, number: int, text: str) -> str:
        """Note a table header or a `key =`; return what follows it."""
        if header := _HEADER.match(text):
            parts = split_key(header[2])
            if header[1] == "[[":
                array = (*_table_path(parts[:-1], self.arrays), parts[-1])
                self.arrays[array] = self.arrays.get(array, 0) + 1
            self.table = _table_path(parts, self.arrays)
            self.note(self.table, number, 0)
            return ""
        if assignment := _ASSIGNMENT.match(text):
            path, value = self.table + split_key(assignment[1]), text[assignment.end():]
            self.note(path, number, len(self.table))
            self.array, self.element = (path if value.lstrip().startswith("[") else None), 0
            return value
        return text

    def _token(self, number: int, token: str) -> None:
        if self.array is not None and self.depth == 1 and token[0] in "\"'[{":
            self.note((*self.array, self.element), number, len(self.array))
        if token in ('"""', "'''"):
            self.in_string = token
        elif token == "," and self.depth == 1:
            self.element += 1
        elif token in ("[", "{"):
            self.depth += 1
        elif token in ("]", "}"):
            self.depth -= 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """The line (1-based) where each key path of TOML `text` is first written."""
    scanner = _Scanner()
    for number, line in enumerate(text.splitlines(), start=1):
        scanner.line(number, line)
    return scanner.lines


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int:
    """The line of `path`, else of its nearest ancestor that has one (else 1)."""
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def where(lines: Lines, path: KeyPath) -> str:
    """`cluster.policies[0].name (line 30)`: how a refusal names a key."""
    return f"{dotted(path) or 'file'} (line {line_of(lines, path)})"
