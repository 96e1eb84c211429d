"""The waitable records: everything by default, only the latest with a limit."""

from __future__ import annotations

import threading

import pytest

from simulator.core.records import Records


def test_without_a_limit_everything_is_kept() -> None:
    records: Records[int] = Records()
    for n in range(1000):
        records.append(n)
    assert records.snapshot() == list(range(1000))


def test_a_limit_keeps_only_the_latest() -> None:
    records: Records[int] = Records(limit=3)
    for n in range(10):
        records.append(n)
    assert records.snapshot() == [7, 8, 9] and len(records) == 3


def test_waiting_sees_items_appended_by_another_thread() -> None:
    records: Records[int] = Records(limit=5)

    def append_eight() -> None:
        for n in range(8):
            records.append(n)

    threading.Timer(0.05, append_eight).start()
    assert records.wait_until(lambda items: 7 in items, 5.0, "7") == [3, 4, 5, 6, 7]


def test_waiting_in_vain_names_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match="the answer"):
        Records[int]().wait_until(lambda items: False, 0.05, "the answer")
