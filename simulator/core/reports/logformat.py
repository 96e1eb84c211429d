"""The mail log's line form: levels, timestamps, the vendor's tracking regex (BEHAVIOUR.md §7.1).

Design rule: pure formatting. The writer (`gateway/maillog.py`) and the readers (message tracking,
the test harness) share these definitions, so a line is written and read by one grammar.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

#: The vendor's regular expression for mail-log lines (message tracking reads logs with it).
TRACKING_LINE_RE = re.compile(r"(\w\w\w \w\w\w[ ]+\d+ \d\d:\d\d:\d\d \d\d\d\d) \w*: (.*)")


class Level(Enum):
    """Mail-log levels, as the gateway names them."""

    CRITICAL = "Critical"
    WARNING = "Warning"
    INFO = "Info"
    DEBUG = "Debug"
    TRACE = "Trace"


_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_timestamp(at: datetime) -> str:
    """`Wed Aug 17 05:52:04 2022`: the day of the month is space-padded. Names from the tables, not
    strftime: the same text as `%a %b` in the C locale, and a sixth of strftime's cost (every line)."""
    return (f"{_WEEKDAY_NAMES[at.weekday()]} {_MONTH_NAMES[at.month - 1]} {at.day:2d} "
            f"{at.hour:02d}:{at.minute:02d}:{at.second:02d} {at.year}")


_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_WEEKDAYS = frozenset(_WEEKDAY_NAMES)


@functools.lru_cache(maxsize=4096)  # a log's lines come many to a second
def parse_timestamp(text: str) -> datetime | None:
    """The UTC time a `format_timestamp` text names, or None if it names none (e.g. `Feb 30`).

    By hand, not `strptime`: tracking reads every line of a large log, and `strptime` was most of it."""
    try:
        weekday, month, day, clock, year = text.split()
        hour, minute, second = clock.split(":")
        at = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except (ValueError, KeyError):
        return None
    return at if weekday in _WEEKDAYS else None


#: Every control character (C0, DEL, C1) as `\xNN` (BEHAVIOUR.md §9.2); as `\uNNNN` the Unicode
#: line separators, which `str.splitlines` breaks a line at, and lone surrogates (undecodable input
#: kept by `surrogateescape`), which no file can be written with.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({code: f"\\u{code:04x}" for code in (0x2028, 0x2029, *range(0xD800, 0xE000))})


def one_line(text: str) -> str:
    """`text` with every control character escaped: no text can start a line of its own (log
    forging) or reach a terminal that prints the log (`tdcsim tail`) as ESC, BEL or NUL. Every
    escaped character is one `str.isprintable` refuses (category Cc, Zl, Zp or Cs), so printable text,
    nearly every line, is returned as it is without a translation (a tenth of the cost)."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def format_line(at: datetime, level: Level, text: str) -> str:
    """One mail-log line in the gateway's form."""
    return f"{format_timestamp(at)} {level.value}: {text}"


@dataclass(frozen=True)
class LogLine:
    """One line of the mail log."""

    at: datetime
    level: Level
    text: str
    #: Its place in its machine's log since the machine started (1, 2, ...), which tells a line from
    #: an equal one even in a copy (a machine in another process); 0: read back from a file.
    number: int = field(default=0, compare=False)

    def __str__(self) -> str:
        return format_line(self.at, self.level, self.text)
