"""The message lifecycle as a transition table (after h11's `_state.py`).

Design rule: a state changes only through `transition`, which raises `IllegalTransition` for a move
the table does not list. Terminal states end a message's life; `DEFERRED` waits for a retry.
"""

from __future__ import annotations

from enum import Enum

from simulator.core.errors import IllegalTransition


class MessageState(Enum):
    """Where a message (an original, a splinter or a journal copy) is in its life."""

    RECEIVED = "received"
    SCANNED = "scanned"
    QUEUED = "queued"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    DROPPED = "dropped"
    QUARANTINED = "quarantined"


_S = MessageState

TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    _S.RECEIVED: frozenset({_S.SCANNED, _S.DROPPED}),
    _S.SCANNED: frozenset({_S.QUEUED, _S.DROPPED, _S.QUARANTINED}),
    _S.QUEUED: frozenset({_S.DELIVERING}),
    _S.DELIVERING: frozenset({_S.DELIVERED, _S.DEFERRED, _S.BOUNCED}),
    _S.DEFERRED: frozenset({_S.DELIVERING, _S.BOUNCED}),
    _S.QUARANTINED: frozenset({_S.QUEUED}),  # released from quarantine
    _S.DELIVERED: frozenset(),
    _S.BOUNCED: frozenset(),
    _S.DROPPED: frozenset(),
}

#: States in which the gateway is not working on the message right now.
SETTLED: frozenset[MessageState] = frozenset(
    {_S.DELIVERED, _S.DEFERRED, _S.BOUNCED, _S.DROPPED, _S.QUARANTINED}
)


def transition(current: MessageState, new: MessageState) -> MessageState:
    """Return `new` if the table allows `current -> new`, else raise `IllegalTransition`."""
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"a message cannot go from {current.value} to {new.value}")
    return new


class ConfigState(Enum):
    """Where the configuration is: nothing pending, or changes submitted but not committed."""

    COMMITTED = "committed"
    SUBMITTED = "submitted"


CONFIG_TRANSITIONS: dict[ConfigState, frozenset[ConfigState]] = {
    ConfigState.COMMITTED: frozenset({ConfigState.SUBMITTED}),  # Submit
    ConfigState.SUBMITTED: frozenset({ConfigState.SUBMITTED, ConfigState.COMMITTED}),  # Submit, Commit/Clear
}


def config_transition(current: ConfigState, new: ConfigState) -> ConfigState:
    """Return `new` if the configuration table allows `current -> new`, else raise."""
    if new not in CONFIG_TRANSITIONS[current]:
        raise IllegalTransition(f"the configuration cannot go from {current.value} to {new.value}")
    return new
