"""The one column layout of every operator table."""

from __future__ import annotations

from simulator.core.reports.layout import aligned


def test_columns_are_left_aligned_two_spaces_apart_and_trimmed() -> None:
    assert aligned(["Domain", "Host"], [["a.test", "h"], ["example.com", "mailbox"]]).splitlines() == [
        "Domain       Host",
        "a.test       h",
        "example.com  mailbox",
    ]


def test_columns_after_the_first_left_ones_are_right_aligned() -> None:
    assert aligned(["Destination", "Delivered"], [["the.tdc.queue", "1,024"], ["x", "3"]], left=1) == (
        "Destination    Delivered\n"
        "the.tdc.queue      1,024\n"
        "x                      3"
    )
