"""A message's bytes as queue entries and held splinters carry them.

Design rule: pure. `Body` is what the rest of the gateway reads bytes through: `InMemoryBody` holds
them (small messages, and every message of a sandbox without a data dir); the gateway's spool makes
references to where a unit file keeps larger ones (`gateway/bodies.py`), read only when the bytes
are needed (sending, a DSN's header block, a release from quarantine) and dropped right after, so a
large message waits on disk, not in memory. Reading raises when the bytes cannot be had whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Body(Protocol):
    """A message's bytes, in memory or kept elsewhere; `read` raises if they cannot be had whole."""

    @property
    def size(self) -> int: ...

    def read(self) -> bytes:
        """All the bytes."""

    def head(self, limit: int) -> bytes:
        """The first `limit` bytes (all of them if there are fewer): enough for the header block."""


@dataclass(frozen=True)
class InMemoryBody:
    """Bytes held in memory: small messages, and every message of a sandbox without a data dir."""

    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)

    def read(self) -> bytes:
        return self.content

    def head(self, limit: int) -> bytes:
        return self.content[:limit]
