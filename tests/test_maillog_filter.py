"""System > Mail Log's filter and live-tail bookkeeping without sockets: which IDs a line names, how the
filter form is read, which lines are new since the last one sent, what a tail that fell behind sends,
and a client too slow to read cut off."""

from __future__ import annotations

import asyncio
import itertools
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from simulator.admin.bounds import LARGEST_MID
from simulator.console import live_tail
from simulator.console.live_tail import MOST_PER_POLL, MOST_STREAMS, LiveTail, OpenStreams, event
from simulator.console.maillog_filter import (
    DEFAULT_LINES,
    MOST_LINES,
    LogFilter,
    last_matching,
    lines_since,
    named_ids,
    parse_filter,
)
from simulator.console.render import CONSOLE
from simulator.core.clock import ManualClock
from simulator.core.reports.logformat import Level, LogLine
from simulator.gateway.maillog import MailLog

TLS_LINE = "TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: TLS Error."
#: A normal incoming message 3 on ICID 5, delivered on DCID 2, and its copy, message 4 (BEHAVIOUR.md §7.1).
STORY = [
    "New SMTP ICID 5 interface Main (127.0.0.1) address 127.0.0.1 reverse dns host unknown verified no",
    "ICID 5 ACCEPT SG UNKNOWNLIST match ALL SBRS None",
    "Start MID 3 ICID 5",
    "MID 3 ICID 5 From: <alice@sender.test>",
    "MID 3 ICID 5 RID 0 To: <bob@example.com>",
    "MID 3 Subject 'about MID 33 and ICID 7'",
    "TDC: Message 4 created from message 3 for intake@intake.threatdefense.test.",
    "New SMTP DCID 2 interface 127.0.0.1 address 127.0.0.1 port 2526",
    "Delivery start DCID 2 MID 3 to RID [0]",
    "MID 33 ICID 7 From: <mid3@x.test>",
    TLS_LINE,
    "DCID 2 close",
    "ICID 5 close",
]


def shown(chosen: LogFilter) -> list[str]:
    return [text for text in STORY if chosen.matches(text)]


def test_a_line_names_its_own_ids_not_those_in_what_it_quotes() -> None:
    assert named_ids("Start MID 3 ICID 5") == {("MID", 3), ("ICID", 5)}
    assert named_ids("Delivery start DCID 2 MID 3 to RID [0]") == {("DCID", 2), ("MID", 3)}
    assert named_ids("MID 3 Subject 'about MID 33 and ICID 7'") == {("MID", 3)}
    assert named_ids("MID 3 ICID 5 From: <MID 9@x.test>") == {("MID", 3), ("ICID", 5)}
    assert named_ids("Incoming connection (ICID 5) lost.") == {("ICID", 5)}
    assert named_ids("MID 33 ready 120 bytes from <a@b.test>") == {("MID", 33)}  # 33 is not 3


def test_a_tdc_line_names_the_copy_and_when_created_its_original() -> None:
    assert named_ids(TLS_LINE) == {("MID", 4)}
    assert named_ids(STORY[6]) == {("MID", 4), ("MID", 3)}


def test_the_mid_filter_shows_the_message_and_its_copys_creation_not_mid_33() -> None:
    assert shown(LogFilter(mid=3)) == [STORY[2], STORY[3], STORY[4], STORY[5], STORY[6], STORY[8]]
    assert shown(LogFilter(mid=4)) == [STORY[6], TLS_LINE]


def test_icid_and_dcid_filters_show_their_connections_lines() -> None:
    assert shown(LogFilter(icid=5)) == [STORY[0], STORY[1], STORY[2], STORY[3], STORY[4], STORY[12]]
    assert shown(LogFilter(dcid=2)) == [STORY[7], STORY[8], STORY[11]]


def test_several_ids_show_the_lines_naming_any_of_them() -> None:
    assert shown(LogFilter(mid=4, dcid=2)) == [STORY[6], STORY[7], STORY[8], TLS_LINE, STORY[11]]


def test_tdc_only_keeps_the_connectors_lines_and_narrows_the_ids() -> None:
    assert shown(LogFilter(tdc_only=True)) == [STORY[6], TLS_LINE]
    assert shown(LogFilter(mid=3, tdc_only=True)) == [STORY[6]]
    assert shown(LogFilter()) == STORY


def test_the_form_is_read_with_its_defaults() -> None:
    form = parse_filter({"mid": " 3 ", "icid": "", "tdc": "on"})
    assert form.chosen == LogFilter(mid=3, tdc_only=True)
    assert (form.lines, form.errors) == (DEFAULT_LINES, {})
    assert form.typed == {"mid": "3", "icid": "", "dcid": "", "lines": ""}
    assert form.chosen.query() == {"mid": "3", "tdc": "on"}
    assert parse_filter({}).chosen == LogFilter()
    assert parse_filter({"tdc": "yes", "lines": str(MOST_LINES)}).chosen == LogFilter()
    assert parse_filter({"lines": str(MOST_LINES)}).lines == MOST_LINES


@pytest.mark.bad_input
@pytest.mark.parametrize(("field", "typed"), [
    ("mid", "abc"), ("mid", "0"), ("mid", "-3"), ("icid", "3.5"), ("dcid", str(LARGEST_MID + 1)),
    ("mid", "٣"), ("mid", "9" * 5000), ("lines", "0"), ("lines", str(MOST_LINES + 1)), ("lines", "x"),
])
def test_a_bad_field_is_an_error_naming_it_never_an_exception(field: str, typed: str) -> None:
    form = parse_filter({field: typed})
    assert list(form.errors) == [field]
    label = {"mid": "MID", "icid": "ICID", "dcid": "DCID", "lines": "lines"}[field]
    assert form.errors[field].startswith(f"{label} must be a whole number from 1 to ")
    assert len(form.errors[field]) < 200  # what was typed is quoted cut short


NUMBERS = itertools.count(1)


def line(text: str) -> LogLine:
    """A line as a machine's log makes it: the next number."""
    return LogLine(datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC), Level.INFO, text, next(NUMBERS))


def test_new_lines_are_those_after_the_last_one_sent_found_by_number_in_a_copy_too() -> None:
    first, second, third = line("same"), line("same"), line("third")  # equal, yet not the same line
    assert lines_since([first, second, third], first.number) == ([second, third], False)
    assert lines_since([first, second, third], third.number) == ([], False)
    assert lines_since([first, second], None) == ([first, second], False)
    assert lines_since([], None) == ([], False)
    copies = pickle.loads(pickle.dumps([first, second, third]))  # what a machine's process sends
    assert lines_since(copies, first.number) == (copies[1:], False)


def test_a_last_line_that_left_memory_makes_every_line_new_and_says_some_are_missing() -> None:
    sent, gone = line("sent"), line("rolled out")
    kept = [line("a"), line("b")]
    assert gone not in kept and lines_since(kept, sent.number) == (kept, True)


def test_a_poll_of_the_machine_log_after_a_number_gives_the_tail_what_is_new_and_what_was_missed() -> None:
    log = MailLog(ManualClock(datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)), kept=3)
    for number in range(1, 4):
        log.info(f"ICID {number} close")
    assert lines_since(log.lines_after(1), 1) == (log.lines()[1:], False)
    for number in range(4, 8):
        log.info(f"ICID {number} close")  # line 4 leaves memory before it is polled
    fresh, missed = lines_since(log.lines_after(3), 3)
    assert ([each.number for each in fresh], missed) == ([5, 6, 7], True)
    assert lines_since(log.lines_after(7), 7) == ([], False)


def test_the_page_shows_the_last_matching_lines_oldest_first() -> None:
    lines = [line(text) for text in STORY]
    assert [each.text for each in last_matching(lines, LogFilter(dcid=2), 2)] == [STORY[8], STORY[11]]
    assert last_matching(lines, LogFilter(mid=999), 10) == []


def test_an_event_is_one_data_field_named_when_it_is_not_a_line() -> None:
    assert event("Wed Aug 17 05:52:04 2022 Info: ICID 5 close") == (
        b"data: Wed Aug 17 05:52:04 2022 Info: ICID 5 close\n\n")
    assert event("[marker]", "skipped") == b"event: skipped\ndata: [marker]\n\n"


class FakeSandbox:
    """`recent_log` of one machine, as the test sets it."""

    def __init__(self) -> None:
        self.lines: list[LogLine] = []

    async def recent_log(self, machine: str, since: int = 0, most: int | None = None) -> list[LogLine]:
        after = [line for line in self.lines if line.number > since]
        return after if most is None else after[max(0, len(after) - most):]


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


@dataclass
class FakeRequest:
    """What a live tail asks of its request: the console (for the sandbox) and the transport."""

    app: dict[object, object]
    transport: FakeTransport


def tail_of(sandbox: FakeSandbox, chosen: LogFilter) -> tuple[LiveTail, FakeTransport]:
    current = SimpleNamespace(sandbox=sandbox)
    transport = FakeTransport()
    request = FakeRequest({CONSOLE: current}, transport)
    tail = asyncio.run(LiveTail.opened(request, "esa1", chosen))  # type: ignore[arg-type]
    return tail, transport


def test_a_tail_sends_only_what_was_logged_after_it_opened_and_matches() -> None:
    sandbox = FakeSandbox()
    sandbox.lines = [line("TDC: Message 1 created from message 0 for x@y.test.")]
    tail, _ = tail_of(sandbox, LogFilter(tdc_only=True))
    assert tail.new_events(sandbox.lines) == []
    sandbox.lines += [line("Start MID 2 ICID 1"), line(TLS_LINE)]
    assert tail.new_events(sandbox.lines) == [event(str(sandbox.lines[-1]))]
    assert tail.new_events(sandbox.lines) == []


def test_a_tail_that_fell_behind_sends_the_latest_lines_after_one_marker() -> None:
    sandbox = FakeSandbox()
    tail, _ = tail_of(sandbox, LogFilter())
    sandbox.lines = [line(f"ICID {number} close") for number in range(1, MOST_PER_POLL + 51)]
    events = tail.new_events(sandbox.lines)
    assert len(events) == MOST_PER_POLL + 1
    assert events[0].startswith(b"event: skipped\ndata: [50 matching lines not shown: ")
    assert events[-1] == event(str(sandbox.lines[-1]))
    unseen = line("ICID 998 close")  # logged, then out of memory before the next poll
    sandbox.lines = [line("ICID 999 close")]  # every line it saw has left memory, and `unseen` too
    assert unseen not in sandbox.lines
    (marker, *_) = tail.new_events(sandbox.lines)
    assert marker.startswith(b"event: skipped\ndata: [some matching lines not shown: ")


class StuckResponse:
    """A response whose client never reads: a write never finishes."""

    async def write(self, data: bytes) -> None:
        await asyncio.Event().wait()


def test_a_client_too_slow_to_read_is_cut_off_not_queued_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_tail, "WRITE_TIMEOUT", 0.05)
    tail, transport = tail_of(FakeSandbox(), LogFilter())
    written = asyncio.run(tail.write(StuckResponse(), b"data: x\n\n"))  # type: ignore[arg-type]
    assert (written, transport.aborted) == (False, True)


def test_open_streams_are_bounded_and_all_end_at_shutdown_even_one_opened_during_it() -> None:
    async def scenario() -> None:
        streams = OpenStreams()
        endings = [streams.open() for _ in range(MOST_STREAMS)]
        assert streams.full() and not any(ending.is_set() for ending in endings)
        streams.close(endings.pop())
        assert not streams.full()
        streams.end_all()
        assert all(ending.is_set() for ending in endings)
        assert streams.open().is_set()

    asyncio.run(scenario())
