"""The message lifecycle table (STYLE.md "Lifecycles are tables"): allowed moves pass, all others raise."""

from __future__ import annotations

import itertools

import pytest

from simulator.core.errors import IllegalTransition, SimulatorError
from simulator.core.mail.lifecycle import SETTLED, TRANSITIONS, MessageState, transition

S = MessageState

#: The lifecycle as BEHAVIOUR.md describes it, written out independently of the module's table.
ALLOWED = {
    (S.RECEIVED, S.SCANNED),
    (S.RECEIVED, S.DROPPED),  # refused before scanning
    (S.SCANNED, S.QUEUED),
    (S.SCANNED, S.DROPPED),
    (S.SCANNED, S.QUARANTINED),
    (S.QUEUED, S.DELIVERING),
    (S.DELIVERING, S.DELIVERED),
    (S.DELIVERING, S.DEFERRED),
    (S.DELIVERING, S.BOUNCED),
    (S.DEFERRED, S.DELIVERING),
    (S.DEFERRED, S.BOUNCED),  # retries exhausted while waiting
    (S.QUARANTINED, S.QUEUED),  # released from quarantine
}
TERMINAL = {S.DELIVERED, S.BOUNCED, S.DROPPED}
PAIRS = list(itertools.product(MessageState, repeat=2))


@pytest.mark.parametrize(("current", "new"), sorted(ALLOWED, key=str), ids=str)
def test_allowed_transition_passes(current: MessageState, new: MessageState) -> None:
    assert transition(current, new) is new


@pytest.mark.parametrize(
    ("current", "new"), [pair for pair in PAIRS if pair not in ALLOWED], ids=str
)
def test_every_other_pair_raises(current: MessageState, new: MessageState) -> None:
    with pytest.raises(IllegalTransition) as raised:
        transition(current, new)
    assert current.value in str(raised.value) and new.value in str(raised.value)


@pytest.mark.parametrize("state", sorted(TERMINAL, key=str), ids=str)
def test_terminal_states_have_no_exits(state: MessageState) -> None:
    assert TRANSITIONS[state] == frozenset()


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(MessageState)


def test_every_state_is_reachable_from_received() -> None:
    reached, frontier = {S.RECEIVED}, [S.RECEIVED]
    while frontier:
        for following in TRANSITIONS[frontier.pop()]:
            if following not in reached:
                reached.add(following)
                frontier.append(following)
    assert reached == set(MessageState)


def test_every_state_can_end() -> None:
    """No trap: from every state some path leads to a terminal state."""
    can_end = set(TERMINAL)
    while True:
        more = {state for state, nexts in TRANSITIONS.items() if nexts & can_end} - can_end
        if not more:
            break
        can_end |= more
    assert can_end == set(MessageState)


def test_settled_states_include_every_terminal_state_and_no_busy_one() -> None:
    assert TERMINAL <= SETTLED
    assert not {S.RECEIVED, S.SCANNED, S.QUEUED, S.DELIVERING} & SETTLED


def test_illegal_transition_is_a_simulator_error() -> None:
    assert issubclass(IllegalTransition, SimulatorError)
