"""The mail log on disk: `mail.current`, rolled over by size to `mail.@<timestamp>.s` (BEHAVIOUR.md §9.6).

Design rule: appending never raises. A line the file refuses (a full disk, a closed file) waits in
memory, in order, and goes out before the next one once the file takes it again; a half-written line
is finished, never torn or split across files. `mail.current` rolls over only between whole lines,
once the next line would take it past `rollover_bytes`, to the name `rolled.py` gives it from the
clock. The waiting lines are bounded (`most_unwritten_bytes`): past it the oldest are dropped, and
counted in `lost` for the mail log to say.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections import deque
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

from simulator.core.clock import Clock
from simulator.gateway.rolled import rolled_logs, rolled_name

#: AsyncOS rolls a log over at a size limit; 10 MiB unless the constructor is told otherwise.
ROLLOVER_BYTES = 10 * 1024 * 1024
#: Lines waiting for a file that refuses them are kept up to this many bytes; past it, the oldest go.
MOST_UNWRITTEN_BYTES = 16 * 1024 * 1024

Opener = Callable[[Path], BinaryIO]


def open_for_append(path: Path) -> BinaryIO:
    """Unbuffered, so a refused write raises at once and what was written is on its way to disk."""
    return path.open("ab", buffering=0)


def _stamp(clock: Clock) -> str:
    return f"{clock.now().astimezone(UTC):%Y%m%dT%H%M%S}"


class LogFile:
    """`mail.current`, appended to line by line, rolled over by size; never raises."""

    def __init__(
        self, path: Path, clock: Clock, rollover_bytes: int = ROLLOVER_BYTES,
        opener: Opener = open_for_append, most_unwritten_bytes: int = MOST_UNWRITTEN_BYTES,
    ) -> None:
        self.path, self._clock, self.opener = path, clock, opener
        self.rollover_bytes, self.most_unwritten_bytes = rollover_bytes, most_unwritten_bytes
        self._stream: BinaryIO | None = None
        self._opened_before = False
        self._size = 0  # of mail.current
        self._unwritten: deque[bytes] = deque()
        self._unwritten_bytes = 0
        self._offset = 0  # bytes of the first unwritten line already in the file
        self.lost = 0  # lines dropped from a full backlog
        path.parent.mkdir(parents=True, exist_ok=True)  # at start-up a folder that cannot be made stops us

    @property
    def unwritten(self) -> int:
        """Lines waiting for the file to take them."""
        return len(self._unwritten)

    def append(self, line: str) -> bool:
        """Write `line` after every line still waiting; False if the file refused (it waits too)."""
        data = f"{line}\n".encode("utf-8", "backslashreplace")
        self._unwritten.append(data)
        self._unwritten_bytes += len(data)
        if self._unwritten_bytes > self.most_unwritten_bytes:
            self._bound()
        return self.flush()

    def flush(self) -> bool:
        """Write every waiting line, oldest first; False if the file refused (they wait still)."""
        try:
            while self._unwritten:
                self._write_first()
        except Exception:  # OSError (a full disk), ValueError (a closed file), ...: reopen next time
            self._close_stream()
            return False
        return True

    def reopen(self) -> None:
        """Close the file; the next line opens it again, through `opener`."""
        self._close_stream()

    def close(self) -> None:
        self.flush()
        self._close_stream()

    def _write_first(self) -> None:
        """Write what is left of the oldest waiting line; `mail.current` rolled over first if the whole
        line would take it past `rollover_bytes` (never a line split across two files)."""
        stream = self._stream or self._open()  # may put a line break first (see `_open`)
        first, offset = self._unwritten[0], self._offset
        if self._size + len(first) > self.rollover_bytes and self._size and not offset:
            self._roll()
            stream = self._stream or self._open()
        written = stream.write(memoryview(first)[offset:] if offset else first)
        if not written:  # nothing taken (and no error): a refusal all the same, or we would spin
            raise OSError(errno.ENOSPC, "the mail log file took nothing")
        self._size += written
        if offset + written < len(first):
            self._offset = offset + written
            return
        self._unwritten.popleft()
        self._unwritten_bytes -= len(first)
        self._offset = 0

    def _open(self) -> BinaryIO:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream = self.opener(self.path)
        try:
            self._size = stream.seek(0, os.SEEK_END)
        except Exception:
            stream.close()
            raise
        if not self._opened_before and self._size and not self._ends_a_line():
            self._unwritten.appendleft(b"\n")  # the last run tore its last line (a crash)
            self._unwritten_bytes += 1
        self._stream, self._opened_before = stream, True
        return stream

    def _ends_a_line(self) -> bool:
        with self.path.open("rb") as stream:
            stream.seek(-1, os.SEEK_END)
            return stream.read(1) == b"\n"

    def _roll(self) -> None:
        """`mail.current` becomes `mail.@<now>.s`; a new `mail.current` is started at the next write."""
        rolled = rolled_logs(self.path)
        stem = self.path.name.split(".")[0]
        target = rolled_name(stem, _stamp(self._clock), rolled[-1] if rolled else None)
        try:
            self.path.rename(self.path.with_name(target))
        except OSError:
            return  # go on with mail.current: the roll-over is tried again at the next line
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def _bound(self) -> None:
        """Past the backlog's limit the oldest waiting lines go (a line half in the file stays)."""
        keep = 1 if self._offset else 0
        while self._unwritten_bytes > self.most_unwritten_bytes and len(self._unwritten) > keep + 1:
            self._unwritten_bytes -= len(self._unwritten[keep])
            del self._unwritten[keep]
            self.lost += 1

