"""The queue entry's lifecycle as a transition table (after h11's `_state.py`).

Design rule: the table holds exactly the states a `QueueEntry` stores, and an entry changes state only
through `transition` (via `QueueEntry.moved_to`), which raises `IllegalTransition` for a move the table
does not list. Terminal states end an entry's life; `DEFERRED` waits for a retry. What happens before
an entry exists (scanned, dropped, quarantined, released) is the processing plan's decision, not a
stored state: a dropped splinter is never stored, and a held one is a `HeldMessage` in a quarantine.
"""

from __future__ import annotations

from enum import Enum

from simulator.core.errors import IllegalTransition


class MessageState(Enum):
    """Where a queue entry (an original's recipients or a journal copy) is in its life."""

    QUEUED = "queued"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"


_S = MessageState

TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    _S.QUEUED: frozenset({_S.DELIVERING}),
    _S.DELIVERING: frozenset({_S.DELIVERED, _S.DEFERRED, _S.BOUNCED}),
    _S.DEFERRED: frozenset({_S.DELIVERING}),  # retries run out only in an attempt: DELIVERING -> BOUNCED
    _S.DELIVERED: frozenset(),
    _S.BOUNCED: frozenset(),
}


def transition(current: MessageState, new: MessageState) -> MessageState:
    """Return `new` if the table allows `current -> new`, else raise `IllegalTransition`."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"a message cannot go from {current.value} to {new.value}")
    return new
