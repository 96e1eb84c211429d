"""The queue entry's lifecycle (STYLE.md "Lifecycles are tables"): the table allows exactly the moves
below, and a queue entry moves only through it, so an illegal move through the public API raises."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from simulator.core.errors import IllegalTransition, SimulatorError
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.lifecycle import TRANSITIONS, MessageState, transition
from simulator.core.mail.messages import QueueEntry
from simulator.core.mail.retry import RetrySchedule

S = MessageState

#: The lifecycle of a queue entry, written out independently of the module's table.
ALLOWED = {
    (S.QUEUED, S.DELIVERING),
    (S.DELIVERING, S.DELIVERED),
    (S.DELIVERING, S.DEFERRED),
    (S.DELIVERING, S.BOUNCED),  # a 5xx, or the retries ran out in this attempt
    (S.DEFERRED, S.DELIVERING),
}
TERMINAL = {S.DELIVERED, S.BOUNCED}
PAIRS = list(itertools.product(MessageState, repeat=2))

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
ENTRY = QueueEntry(mid=3, sender="alice@sender.test", recipients=("bob@example.com",), rids=(0,),
                   body=InMemoryBody(b"Subject: hi\r\n\r\nbody\r\n"), destination="example.com",
                   schedule=RetrySchedule.starting(NOW))


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


def test_the_table_holds_only_the_states_an_entry_stores() -> None:
    """Scanned, dropped and quarantined are the processing plan's decisions, never an entry's state."""
    assert {state.value for state in MessageState} == {
        "queued", "delivering", "delivered", "deferred", "bounced"
    }
    assert set(TRANSITIONS) == set(MessageState)


@pytest.mark.parametrize("state", sorted(TERMINAL, key=str), ids=str)
def test_terminal_states_have_no_exits(state: MessageState) -> None:
    assert TRANSITIONS[state] == frozenset()


def test_a_new_entry_is_queued_and_every_state_is_reachable_from_there() -> None:
    assert ENTRY.state is S.QUEUED
    reached, frontier = {S.QUEUED}, [S.QUEUED]
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


def test_a_delivered_entry_can_be_neither_retried_nor_delivered_again() -> None:
    delivered = ENTRY.moved_to(S.DELIVERING).moved_to(S.DELIVERED)
    with pytest.raises(IllegalTransition, match="from delivered to deferred"):
        delivered.retried(delivered.schedule.after_failure(NOW))
    with pytest.raises(IllegalTransition, match="from delivered to delivering"):
        delivered.moved_to(S.DELIVERING)
    assert delivered.state is S.DELIVERED, "a refused move changes nothing"


def test_a_bounced_entry_cannot_be_retried() -> None:
    bounced = ENTRY.moved_to(S.DELIVERING).moved_to(S.BOUNCED)
    with pytest.raises(IllegalTransition, match="from bounced to deferred"):
        bounced.retried(bounced.schedule.after_failure(NOW))


def test_a_queued_entry_is_not_delivered_without_an_attempt() -> None:
    with pytest.raises(IllegalTransition, match="from queued to delivered"):
        ENTRY.moved_to(S.DELIVERED)


def test_illegal_transition_is_a_simulator_error() -> None:
    assert issubclass(IllegalTransition, SimulatorError)
