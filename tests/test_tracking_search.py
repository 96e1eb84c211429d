"""Message tracking's search without a sandbox (core/reports/search.py): the lines that say who a
message is become one row per received message, each field of the query narrows the rows, and the
time range and the form's UTC times read as the page says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator.core.reports.logformat import Level, LogLine
from simulator.core.reports.search import Query, logged_text, messages, search, search_text, utc_time

START = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)


def received(mid: int, icid: int, sender: str, recipients: list[str], subject: str, message_id: str,
             at: datetime) -> list[LogLine]:
    """The lines the gateway logs as it receives a message (BEHAVIOUR.md §7.1), all at `at`."""
    texts = [f"New SMTP ICID {icid} interface Management (127.0.0.1) address 127.0.0.1 reverse dns host "
             "unknown verified no", f"Start MID {mid} ICID {icid}", f"MID {mid} ICID {icid} From: <{sender}>",
             *(f"MID {mid} ICID {icid} RID {rid} To: <{rcpt}>" for rid, rcpt in enumerate(recipients)),
             f"MID {mid} Message-ID '{message_id}'", f"MID {mid} Subject {subject!r}",
             f"MID {mid} ready 321 bytes from <{sender}>", f"MID {mid} queued for delivery"]
    return [LogLine(at, Level.INFO, text) for text in texts]


def log() -> list[LogLine]:
    """Three messages an hour apart; the second split in two, its splinter copied to Threat Defense."""
    later = START + timedelta(hours=1)
    return [
        *received(1, 1, "alice@outside.test", ["bob@example.com"], "Quarterly report", "<a1@outside.test>",
                  START),
        *received(2, 2, "carol@partner.test", ["dave@example.com", "erin@example.com"], "It's lunch time",
                  "<c2@partner.test>", later),
        LogLine(later, Level.INFO, "MID 2 was split creating MID 3 due to a per-recipient policy SALES in "
                                    "the inbound table"),
        LogLine(later, Level.INFO, "TDC: Message 4 created from message 3 for tenant@intake.test."),
        *received(5, 3, "alice@outside.test", ["erin@example.com"], "Lunch menu MID 1 ICID 1 From: <x@y>",
                  "<a5@outside.test>", START + timedelta(hours=2)),
    ]


def mids(query: Query) -> list[int]:
    return [found.mid for found in search(log(), query)]


def test_each_received_message_is_one_row_newest_first_with_what_the_log_says_of_it() -> None:
    rows = messages(str(line) for line in log())
    assert [row.mid for row in rows] == [5, 2, 1]
    second = rows[1]
    assert second.sender == "carol@partner.test"
    assert second.recipients == ["dave@example.com", "erin@example.com"]
    assert (second.subject, second.message_id) == ("It's lunch time", "<c2@partner.test>")
    assert (second.at, second.splinters, second.copies) == (START + timedelta(hours=1), [3], [4])


def test_an_empty_query_lists_every_message() -> None:
    assert mids(Query()) == [5, 2, 1]


@pytest.mark.parametrize(("query", "expected"), [
    (Query(sender="ALICE@"), [5, 1]),
    (Query(sender="carol@partner.test"), [2]),
    (Query(recipient="erin"), [5, 2]),
    (Query(recipient="bob@example.com"), [1]),
    (Query(subject="lunch"), [5, 2]),
    (Query(subject="it's"), [2]),
    (Query(message_id="<a1@"), [1]),
    (Query(mid=1), [1]),
    (Query(sender="alice", subject="lunch"), [5]),
    (Query(sender="alice", recipient="dave"), []),
])
def test_each_field_narrows_the_rows(query: Query, expected: list[int]) -> None:
    assert mids(query) == expected


def test_a_mid_finds_its_message_by_a_splinter_or_a_journal_copy_too() -> None:
    assert mids(Query(mid=3)) == [2] and mids(Query(mid=4)) == [2]
    assert mids(Query(mid=6)) == []


def test_the_time_range_includes_both_ends() -> None:
    assert mids(Query(since=START + timedelta(hours=1))) == [5, 2]
    assert mids(Query(until=START + timedelta(hours=1))) == [2, 1]
    assert mids(Query(since=START + timedelta(hours=1), until=START + timedelta(hours=1))) == [2]
    assert mids(Query(since=START + timedelta(seconds=1), until=START + timedelta(minutes=59))) == []


def test_a_subject_quoting_a_log_line_is_no_line_of_its_own() -> None:
    assert mids(Query(sender="x@y")) == []
    assert mids(Query(subject="From: <x@y>")) == [5]


def test_the_text_of_mail_current_gives_the_same_rows_and_a_torn_line_is_skipped() -> None:
    texts = [str(line) for line in log()] + ["Wed Aug 17 09:00:00 2022 Info: Start MID 9"]
    assert [row.mid for row in search_text(texts, Query())] == [5, 2, 1]
    assert [row.subject for row in search_text(texts, Query(recipient="dave"))] == ["It's lunch time"]


def test_a_message_met_after_its_start_line_is_kept_at_its_first_line() -> None:
    late = START + timedelta(minutes=5)
    rows = messages([str(LogLine(late, Level.INFO, "MID 7 ICID 2 RID 0 To: <z@example.com>"))])
    assert [(row.mid, row.at, row.recipients) for row in rows] == [(7, late, ["z@example.com"])]


def test_a_subject_is_read_back_as_it_was_written() -> None:
    assert logged_text(repr('say "hi"\n')) == 'say "hi"\n'
    assert logged_text(repr("it's")) == "it's" and logged_text(repr("plain")) == "plain"
    assert logged_text(repr("both ' and \"")) == "both ' and \""
    assert logged_text("'torn") == "'torn" and logged_text("1") == "1"


def test_the_form_times_are_utc_and_the_end_of_a_range_takes_its_whole_minute() -> None:
    assert utc_time("2022-08-17T05:52") == datetime(2022, 8, 17, 5, 52, tzinfo=UTC)
    assert utc_time("2022-08-17T05:52", to_the_end=True) == datetime(2022, 8, 17, 5, 52, 59, tzinfo=UTC)
    assert utc_time("2022-08-17T05:52:04", to_the_end=True) == START
    assert utc_time("  ") is None


@pytest.mark.parametrize(("text", "error"), [
    ("yesterday", r"not a date and time such as 2022-08-17T05:52 \(UTC\)"),
    ("2022-08-17 05:52", "not a date and time"),
    ("2022-08-17T05:52+02:00", "not a date and time"),
    ("2022-02-30T05:52", "no such date and time"),
    ("2022-08-17T25:00", "no such date and time"),
])
def test_a_time_not_in_the_form_is_refused_saying_the_form(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        utc_time(text)
