"""The gateway's mail log: `mail_logs/mail.current` plus the same lines in memory.

Design rule: the line form is `core/reports/logformat.py`'s; `MailLog` only appends and lets other
threads wait for a line, which is how tests observe the gateway (the log is the oracle). Writing
never raises, so the log can never refuse mail the gateway already stored: memory and the waiters see
a line at once, and a line the file refuses waits, in order, for the file to take it (`logfile.py`,
which also rolls `mail.current` over by size).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from simulator.core.clock import Clock
from simulator.core.records import Records
from simulator.core.reports.logformat import Level, LogLine, one_line
from simulator.gateway.logfile import ROLLOVER_BYTES, LogFile


class MailLog:
    """Appends lines to `mail.current` and keeps them in memory for observers in any thread."""

    def __init__(
        self, clock: Clock, path: Path | None = None, kept: int | None = None,
        rollover_bytes: int = ROLLOVER_BYTES,
    ) -> None:
        self._clock = clock
        self._lines: Records[LogLine] = Records(kept)
        self.path = path
        self.file = LogFile(path, clock, rollover_bytes) if path is not None else None

    def write(self, level: Level, text: str) -> LogLine:
        """Log `text` at `level`, now; never raises."""
        # a line's number is its position among the appended ones, given under the records' lock,
        # so numbers follow memory's order whichever thread logs
        return self._lines.append_made(
            lambda number: LogLine(self._clock.now(), level, one_line(text), number), also=self._write_file)

    def _write_file(self, line: LogLine) -> None:
        """Runs under the records' lock, so the file gets the lines in memory's order."""
        if self.file is not None and self.file.append(str(line)) and self.file.lost:
            lost, self.file.lost = self.file.lost, 0
            self.warning(f"{lost} mail-log lines were lost: the log file refused them while "
                         "its backlog was full")

    def info(self, text: str) -> LogLine:
        return self.write(Level.INFO, text)

    def warning(self, text: str) -> LogLine:
        return self.write(Level.WARNING, text)

    def critical(self, text: str) -> LogLine:
        return self.write(Level.CRITICAL, text)

    def lines(self) -> list[LogLine]:
        """A snapshot of every line so far."""
        return self._lines.snapshot()

    def lines_after(self, number: int) -> list[LogLine]:
        """The kept lines after line number `number` (a line's number is its place among the appended
        ones), copied alone: a poll for what is new does not copy the whole log."""
        return self._lines.after(number)[1]

    def matching(self, pattern: str) -> list[LogLine]:
        """Every line whose text matches the regular expression `pattern` (re.search)."""
        return _matching(re.compile(pattern), self.lines())

    def wait_for(self, pattern: str, timeout: float = 10.0, count: int = 1) -> list[LogLine]:
        """Block until `count` lines match `pattern`; raise TimeoutError naming the pattern."""
        compiled = re.compile(pattern)
        lines = self._lines.wait_until(
            lambda lines: len(_matching(compiled, lines)) >= count,
            timeout,
            f"{count} mail-log line(s) matching {pattern!r}",
        )
        return _matching(compiled, lines)

    def __iter__(self) -> Iterator[LogLine]:
        return iter(self.lines())

    def close(self) -> None:
        """Write what waits and close the file; later lines stay in memory only (as before `open`)."""
        if self.file is not None:
            self.file.close()
            self.file = None


def _matching(pattern: re.Pattern[str], lines: list[LogLine]) -> list[LogLine]:
    return [line for line in lines if pattern.search(line.text)]
