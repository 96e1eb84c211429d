"""Plain-text tables for the operator: the one column layout of the CLI's and the gateway's tables.

Design rule: pure text; every table the operator reads (delivery status, `tophosts`, the CLI's
connector, policy, route and quarantine lists) is laid out here, so they align the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def aligned(headings: Sequence[str], rows: Iterable[Sequence[str]], left: int | None = None) -> str:
    """Columns two spaces apart: the first `left` (default: all) left-aligned, the rest (numbers)
    right-aligned; trailing spaces trimmed."""
    lines = [list(headings), *(list(row) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(headings))]
    flush_left = len(headings) if left is None else left
    return "\n".join(
        "  ".join(cell.ljust(width) if column < flush_left else cell.rjust(width)
                  for column, (cell, width) in enumerate(zip(line, widths, strict=True))).rstrip()
        for line in lines)
