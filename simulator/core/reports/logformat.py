"""The mail log's line form: levels, timestamps, the vendor's tracking regex (BEHAVIOUR.md §7.1).

Design rule: pure formatting. The writer (`gateway/maillog.py`) and the readers (message tracking,
the test harness) share these definitions, so a line is written and read by one grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
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


def format_timestamp(at: datetime) -> str:
    """`Wed Aug 17 05:52:04 2022`: the day of the month is space-padded."""
    return f"{at:%a %b} {at.day:2d} {at:%H:%M:%S %Y}"


def one_line(text: str) -> str:
    """`text` with CR and LF escaped, so that no text can start a line of its own (log forging)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def format_line(at: datetime, level: Level, text: str) -> str:
    """One mail-log line in the gateway's form."""
    return f"{format_timestamp(at)} {level.value}: {text}"


@dataclass(frozen=True)
class LogLine:
    """One line of the mail log."""

    at: datetime
    level: Level
    text: str

    def __str__(self) -> str:
        return format_line(self.at, self.level, self.text)
