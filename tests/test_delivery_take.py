"""What a destination queue hands a connection (`Destination.take_due_noting`), pure: the due entries
of one domain, oldest first, up to the room it has, and the domains of the due entries it left, which
tell an open connection whether another connection is wanted (BEHAVIOUR.md §4.3)."""

from __future__ import annotations

from datetime import timedelta

from simulator.core.clock import ManualClock
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.messages import TDC_QUEUE, QueueEntry
from simulator.core.mail.retry import RetrySchedule
from simulator.gateway.delivery import Destination

NOW = ManualClock().now()


def queue_of(*entries: tuple[int, str, bool]) -> Destination:
    """A queue of copies (MID, intake domain, due now?), in that order."""
    queue = Destination(TDC_QUEUE, NOW)
    later = RetrySchedule.starting(NOW + timedelta(minutes=5))
    queue.entries = [QueueEntry(mid, "j@esa1.test", (f"tenant@{domain}",), (0,), InMemoryBody(b""), TDC_QUEUE,
                                RetrySchedule.starting(NOW) if due else later, original_mid=mid - 1)
                     for mid, domain, due in entries]
    return queue


def mids(entries: list[QueueEntry]) -> list[int]:
    return [entry.mid for entry in entries]


def test_a_connection_takes_due_entries_of_its_domain_and_learns_which_domains_still_wait() -> None:
    queue = queue_of((2, "a.test", True), (4, "b.test", True), (6, "a.test", False), (8, "a.test", True),
                     (10, "c.test", False))
    taken, due_left = queue.take_due_noting(NOW, 10, "a.test")
    assert (mids(taken), due_left) == ([2, 8], {"b.test"}), "one not due yet waits for no connection"
    assert mids(queue.entries) == [4, 6, 10]


def test_what_a_connection_has_no_room_for_is_left_and_named() -> None:
    queue = queue_of((2, "a.test", True), (4, "a.test", True), (6, "a.test", True))
    taken, due_left = queue.take_due_noting(NOW, 2, "a.test")
    assert (mids(taken), due_left, mids(queue.entries)) == ([2, 4], {"a.test"}, [6])


def test_without_a_domain_the_first_due_entry_chooses_it() -> None:
    queue = queue_of((2, "a.test", False), (4, "b.test", True), (6, "a.test", True), (8, "b.test", True))
    taken, due_left = queue.take_due_noting(NOW, 10)
    assert (mids(taken), due_left) == ([4, 8], {"a.test"})
    taken, due_left = queue.take_due_noting(NOW, 10)
    assert (mids(taken), due_left, mids(queue.entries)) == ([6], set(), [2])
