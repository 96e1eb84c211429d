"""What the endpoints keep in memory of a message they stored: its bytes when small, else its file.

Design rule: the records of a running sandbox (the latest 2,000 journals and mailbox deliveries)
must not hold every large message received: a journal or delivery written to disk and larger than
`LARGEST_KEPT` bytes is kept as a `StoredFile`, which reads the file (exactly the bytes received)
when asked. Without a data dir, or for small messages, the bytes stay in memory (`InMemoryBody`),
a body already held so kept as it is (no copy of the record around it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.core.mail.body import Body, InMemoryBody

#: Messages larger than this (bytes) that are on disk are read from there, not kept in memory.
LARGEST_KEPT = 64 * 1024
#: How much of a message is read to find a header (a header block larger is cut there).
HEAD_READ = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A message an endpoint stored as the file `path`, `size` bytes."""

    path: Path
    size: int

    def read(self) -> bytes:
        """The file's bytes; OSError if it is gone, or not the size it was stored with."""
        data = self.path.read_bytes()
        if len(data) != self.size:
            raise OSError(f"{self.path} changed since it was stored ({len(data)} of {self.size} bytes)")
        return data

    def head(self, limit: int) -> bytes:
        with self.path.open("rb") as stream:
            return stream.read(min(limit, self.size))


def kept(data: bytes, path: Path | None) -> Body:
    """How a record keeps `data`, stored as `path` (None: not stored on disk)."""
    if path is not None and len(data) > LARGEST_KEPT:
        return StoredFile(path, len(data))
    return InMemoryBody(data)


def kept_body(body: Body, path: Path | None) -> Body:
    """`kept` for a body: the same object when it stays as it is (in memory and small enough)."""
    if path is not None and body.size > LARGEST_KEPT:
        return StoredFile(path, body.size)
    return body if isinstance(body, InMemoryBody) else kept(body.read(), path)
