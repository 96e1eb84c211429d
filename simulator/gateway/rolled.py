"""The mail log's files: `mail.current` and those it rolled over to, `mail.@<timestamp>.s` (BEHAVIOUR.md
§9.6), named and read in time order.

Design rule: a rolled file is named `mail.@20220817T055204.s` (AsyncOS's naming) from the clock in UTC;
a second roll-over within the same second, or after the clock went back, takes the newest name's
timestamp with a counter, `mail.@20220817T055204_0001.s`, so names never collide and sort in time
order. Readers list the rolled files by (timestamp, counter), then `mail.current`, and read them as
one log; nothing here writes.
"""

from __future__ import annotations

import re
from pathlib import Path

from simulator.core.reports.tracking import track_text

ROLLED = re.compile(r"(?P<stem>.+)\.@(?P<stamp>\d{8}T\d{6})(?:_(?P<count>\d+))?\.s")


def _rolled_key(path: Path, stem: str) -> tuple[str, int] | None:
    found = ROLLED.fullmatch(path.name)
    if found is None or found["stem"] != stem:
        return None
    return found["stamp"], int(found["count"] or 0)


def rolled_logs(current: Path) -> list[Path]:
    """The files `current` rolled over to, oldest first."""
    stem = current.name.split(".")[0]
    keyed = [(key, path) for path in current.parent.glob(f"{stem}.@*.s")
             if (key := _rolled_key(path, stem)) is not None]
    return [path for _, path in sorted(keyed)]


def log_files(current: Path) -> list[Path]:
    """Every file of the log, oldest first: the rolled ones, then `current` if it exists."""
    return [*rolled_logs(current), *([current] if current.exists() else [])]


def _read_all(files: list[Path]) -> str | None:
    try:
        return "".join(path.read_text(encoding="utf-8", errors="replace") for path in files)
    except FileNotFoundError:  # `mail.current` between its roll-over and its first new line
        return None


def read_log_lines(current: Path) -> list[str]:
    """Every line of the log across its rolled files, oldest first (re-read if a roll-over raced us).

    Lines end at LF only: the writer escapes every other line break (`one_line`)."""
    text: str | None = None
    for _ in range(5):
        files = log_files(current)
        text = _read_all(files)
        if text is not None and log_files(current) == files:
            break
    lines = (text or "").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def rolled_name(stem: str, stamp: str, newest: Path | None) -> str:
    """The next rolled file's name: `stamp`, or after `newest` with a counter if not later than it."""
    last = _rolled_key(newest, stem) if newest else None
    if last is None or stamp > last[0]:
        return f"{stem}.@{stamp}.s"
    return f"{stem}.@{last[0]}_{last[1] + 1:04d}.s"


def track_log(current: Path, mid: int) -> list[str]:
    """Message tracking across the rolled files and `mail.current` (UnknownMessage if none names it)."""
    return track_text(read_log_lines(current), mid)
