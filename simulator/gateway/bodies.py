"""Message bodies a spool unit file keeps: references the queues and quarantines hold instead of bytes.

Design rule: a body larger than the spool's threshold is held as a `SpooledBody`, a reference of a
few dozen bytes (its unit file, where its bytes start there, how many, their sha256), and read only
when the bytes are needed: just before an entry is sent (`read_body`, off the event loop), for a
DSN's header block, at a release from quarantine; the reader drops them right after. A read that
cannot give back exactly the bytes stored (the file gone, cut short or changed) raises
`UnreadableBody` naming the file and what is wrong: one entry's failure, parked like any other.
Smaller bodies stay in memory (`InMemoryBody`), where a file read would cost more than they do.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simulator.core.errors import CorruptEntry
from simulator.core.mail.body import Body, InMemoryBody

#: Bodies larger than this (bytes) wait on disk, not in memory, unless the spool is told otherwise.
DEFAULT_THRESHOLD = 64 * 1024


class UnreadableBody(CorruptEntry):
    """The bytes a `SpooledBody` refers to cannot be read back whole."""


@dataclass(frozen=True)
class SpooledBody:
    """`size` bytes at `offset` of the unit file `path`, whose sha256 is `sha256`."""

    path: Path
    offset: int
    size: int
    sha256: str

    def read(self) -> bytes:
        """All the bytes, checked against their sha256 (`UnreadableBody` if they differ)."""
        data = self._read(self.size)
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise UnreadableBody(f"message bytes in {self.path} changed since they were stored "
                                 f"({self.size} bytes at offset {self.offset}: sha256 differs)")
        return data

    def head(self, limit: int) -> bytes:
        """The first `limit` bytes (not checked: the whole is needed for that)."""
        return self._read(min(limit, self.size))

    def _read(self, count: int) -> bytes:
        try:
            with self.path.open("rb") as stream:
                stream.seek(self.offset)
                data = stream.read(count)
        except OSError as error:
            raise UnreadableBody(f"message bytes in {self.path} cannot be read: "
                                 f"{error.strerror or error}") from error
        if len(data) != count:
            raise UnreadableBody(f"message bytes in {self.path} cut short: {len(data)} of {count} "
                                 f"bytes at offset {self.offset}")
        return data


def place(stored: bytes, start: int, sizes: Sequence[int], path: Path, threshold: int) -> list[Body]:
    """The bodies of a unit file `path` whose bytes are `stored`, its blobs of `sizes` following one
    another from `start`: references for those larger than `threshold`, the others in memory."""
    view, offset = memoryview(stored), start
    bodies: list[Body] = []
    for size in sizes:
        blob = view[offset:offset + size]
        if size > threshold:
            bodies.append(SpooledBody(path, offset, size, hashlib.sha256(blob).hexdigest()))
        else:
            bodies.append(InMemoryBody(bytes(blob)))
        offset += size
    return bodies


async def read_body(body: Body) -> bytes:
    """The bytes of `body`; a file is read off the event loop."""
    return body.read() if isinstance(body, InMemoryBody) else await asyncio.to_thread(body.read)
