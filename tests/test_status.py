"""Delivery status and `tophosts` (BEHAVIOUR.md §6): the tally, the vendor's layout, sorting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator.core.reports.status import (
    DOWN_NOTE,
    SORT_KEYS,
    DestinationStatus,
    DestinationTally,
    format_delivery_status,
    format_tophosts,
    sort_key,
)

NOW = datetime(2022, 8, 7, 5, 52, 4, tzinfo=UTC)
TDC = DestinationStatus("the.tdc.queue", active_recipients=1, delivered_recipients=12,
                        soft_bounced_events=9, hard_bounced_recipients=1)
DOWN = DestinationStatus("example.com", connections_out=1, delivered_recipients=1234,
                         hard_bounced_recipients=3, down=True)
BUSY = DestinationStatus("b.test", active_recipients=5, connections_out=2, soft_bounced_events=7,
                         hard_bounced_recipients=2)
ROWS = [TDC, DOWN, BUSY]


def hosts_in(text: str) -> list[str]:
    """The Recipient Host column of a `tophosts` table, top to bottom."""
    return [line.split()[1] for line in text.splitlines()[4:]]


def test_tophosts_in_the_vendors_layout() -> None:
    assert format_tophosts(ROWS, NOW).splitlines() == [
        "Status as of: Sun Aug  7 05:52:04 2022 GMT",
        "Hosts marked with '*' were down as of the last delivery attempt.",
        "",
        "#   Recipient Host  Active Recip.  Conn. Out  Deliv. Recip.  Soft Bounced  Hard Bounced",
        "1   b.test                      5          2              0             7             2",
        "2   the.tdc.queue               1          0             12             9             1",
        "3*  example.com                 0          1          1,234             0             3",
    ]


def test_only_down_hosts_are_marked() -> None:
    numbers = [line.split()[0] for line in format_tophosts(ROWS, NOW).splitlines()[4:]]
    assert numbers == ["1", "2", "3*"]
    up = format_tophosts([TDC, BUSY], NOW)
    assert "*" not in up.replace(DOWN_NOTE, ""), "no host is down, none is marked"


@pytest.mark.parametrize(("key", "order"), [
    ("active", ["b.test", "the.tdc.queue", "example.com"]),
    ("conn", ["b.test", "example.com", "the.tdc.queue"]),
    ("delivered", ["example.com", "the.tdc.queue", "b.test"]),
    ("soft", ["the.tdc.queue", "b.test", "example.com"]),
    ("hard", ["example.com", "b.test", "the.tdc.queue"]),
])
def test_sorted_by_each_counter_largest_first(key: str, order: list[str]) -> None:
    assert [row.host for row in sorted(ROWS, key=sort_key(key))] == order
    assert hosts_in(format_tophosts(ROWS, NOW, sort=key)) == order


def test_ties_are_broken_by_host_name() -> None:
    rows = [DestinationStatus("z.test"), DestinationStatus("a.test"), DestinationStatus("m.test")]
    assert hosts_in(format_tophosts(rows, NOW)) == ["a.test", "m.test", "z.test"]


def test_the_sort_keys_are_the_five_counters_in_the_vendors_order() -> None:
    assert SORT_KEYS == ("active", "conn", "delivered", "soft", "hard")


@pytest.mark.bad_input
@pytest.mark.parametrize("key", ["", "Active", "recipients", "host"])
def test_an_unknown_sort_key_names_the_valid_ones(key: str) -> None:
    with pytest.raises(ValueError, match=r"valid keys: active, conn, delivered, soft, hard$") as caught:
        sort_key(key)
    assert repr(key) in str(caught.value)
    with pytest.raises(ValueError, match="unknown sort key"):
        format_tophosts(ROWS, NOW, sort=key)


def test_tophosts_with_no_destination_is_the_heading_alone() -> None:
    lines = format_tophosts([], NOW + timedelta(days=10)).splitlines()
    assert lines[0] == "Status as of: Wed Aug 17 05:52:04 2022 GMT"
    assert lines[1:3] == [DOWN_NOTE, ""]
    assert lines[3].split("  ")[:2] == ["#", "Recipient Host"] and len(lines) == 4


def test_delivery_status_names_the_counters_in_full_by_destination() -> None:
    assert format_delivery_status(ROWS).splitlines() == [
        "Destination    Active Recipients  Connections Out  Delivered Recipients  Soft Bounced Events"
        "  Hard Bounced Recipients",
        "b.test                         5                2                     0                    7"
        "                        2",
        "example.com                    0                1                 1,234                    0"
        "                        3",
        "the.tdc.queue                  1                0                    12                    9"
        "                        1",
    ]


def test_the_tally_counts_connections_and_knows_when_a_host_is_down() -> None:
    tally = DestinationTally()
    assert tally.snapshot("x.test", 0) == DestinationStatus("x.test")
    tally.unreachable(NOW)
    assert tally.snapshot("x.test", 2) == DestinationStatus("x.test", 2, down=True, last_attempt=NOW)
    later = NOW + timedelta(minutes=1)
    tally.connected(later)
    tally.connected(later)
    status = tally.snapshot("x.test", 2)
    assert (status.connections_out, status.down, status.last_attempt) == (2, False, later)
    tally.disconnected()
    tally.delivered, tally.soft_bounced, tally.hard_bounced = 4, 5, 6
    assert tally.snapshot("x.test", 1) == DestinationStatus("x.test", 1, 1, 4, 5, 6, False, later)
