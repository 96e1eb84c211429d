"""Quarantines: messages a scanning engine held back, kept until an administrator releases them
(BEHAVIOUR.md §2.4: a released message is delivered, and copied, at release).

Design rule: a held splinter is as durable as a queued one, and stored with it: it is part of its
message's spool unit (`spool.py`), flushed before the listener answers 250, so a message is held
and queued together or not at all. This module is the in-memory view: it learns of a splinter
only once its unit is stored, and forgets it once its release is; a large splinter's bytes stay in
its unit (its `body` is a reference, read at release). Release re-plans the message against the
configuration of that moment.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.core.errors import NotFound
from simulator.core.mail.messages import HeldMessage


class Quarantines:
    """Every quarantine of one machine: the held splinters by MID."""

    def __init__(self, recovered: Iterable[HeldMessage] = ()) -> None:
        self.held: dict[int, HeldMessage] = {held.mid: held for held in recovered}

    def hold(self, messages: Iterable[HeldMessage]) -> None:
        """Keep `messages` (already stored in the spool)."""
        self.held.update((held.mid, held) for held in messages)

    def get(self, mid: int) -> HeldMessage:
        if mid not in self.held:
            raise NotFound(f"message: no message {mid} in a quarantine")
        return self.held[mid]

    def released(self, mid: int) -> None:
        """Forget `mid` once its release is stored."""
        self.held.pop(mid, None)
