"""Where an accepted message is kept until every destination has it.

Design rule: the pipeline calls `store` before the listener answers 250, and nothing is
acknowledged that `store` did not keep. `MemorySpool` is the seam for the durable, on-disk spool:
in memory the queue entries themselves are the only copy, so it only counts what it was given.
"""

from __future__ import annotations

from typing import Protocol

from simulator.messages import ReceivedMessage


class Spool(Protocol):
    """Keeps accepted messages until they are finished."""

    async def store(self, message: ReceivedMessage) -> None: ...


class MemorySpool:
    """No durability: a process that dies loses its queue (the durable spool fixes that)."""

    def __init__(self) -> None:
        self.stored = 0

    async def store(self, message: ReceivedMessage) -> None:
        self.stored += 1
