"""Which journals Threat Defense holds, as the labs' checks read them: each one's intake address and the
machine, copy MID and original MID its headers name (`Arrival`).

Design rule: a lab check moves only what is new. Threat Defense may be another process and keeps up to
thousands of journals: `Arrivals` asks it only for the journals received since its last read
(`RunningSandbox.journals_after`, by position), reads each one's headers once, off the event loop, and
forgets a journal once Threat Defense no longer keeps it, so the arrivals are exactly those of the
journals it keeps, oldest first, as if every one had been read again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from simulator.admin.labs_state import Arrival
from simulator.admin.operated import JournalWindow, RunningSandbox
from simulator.endpoints.threat_defense import JournalRecord

HEAD = 8192  # bytes of a journal read for its headers: the gateway writes them first, short
COPY_ID = re.compile(rb"^Message-ID: <tdc\.(\d+)\.\d+@([^.>]+)[^>]*>\r?$", re.MULTILINE | re.IGNORECASE)
ORIGINAL = re.compile(rb"^X-IronPort-MID: (\d+)\r?$", re.MULTILINE | re.IGNORECASE)


def arrival(record: JournalRecord) -> Arrival | None:
    """Which machine's copy of which MID a journal is (its Message-ID and X-IronPort-MID), if it says."""
    head = record.body.head(HEAD)
    copy, original = COPY_ID.search(head), ORIGINAL.search(head)
    if copy is None or original is None:
        return None
    return Arrival(record.intake_address, copy[2].decode("ascii", "replace"), int(copy[1]), int(original[1]))


def arrivals(records: Sequence[JournalRecord]) -> list[Arrival | None]:
    return [arrival(record) for record in records]


class Arrivals:
    """The arrivals of the journals Threat Defense keeps, each read once."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self._sandbox = sandbox
        self._known: dict[int, Arrival | None] = {}  # by the journal's position
        self._last = 0  # the position of the newest journal read
        self._oldest = 1  # the position of the oldest journal Threat Defense still keeps, as last seen

    async def read(self) -> tuple[Arrival, ...]:
        """Every kept journal's arrival (those that say which copy they are), oldest first."""
        window = await self._sandbox.journals_after(self._last)
        found = await asyncio.to_thread(arrivals, window.records)
        self._remember(window, found)
        return tuple(each for _, each in sorted(self._known.items()) if each is not None)

    def _remember(self, window: JournalWindow, found: list[Arrival | None]) -> None:
        """Add what `window` brought; forget what Threat Defense keeps no more (by the newest window
        seen: two checks at once may finish in either order)."""
        self._oldest = max(self._oldest, window.oldest)
        self._known.update(enumerate(found, start=window.first))
        for position in [position for position in self._known if position < self._oldest]:
            del self._known[position]
        self._last = max(self._last, window.first + len(found) - 1)
