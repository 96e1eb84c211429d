"""The mail log (BEHAVIOUR.md §7.1): the gateway's line form, in the file and in memory alike."""

from __future__ import annotations

import errno
import io
import random
import re
import smtplib
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pytest

from simulator.core.clock import ManualClock
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.logformat import (
    _ESCAPES,
    TRACKING_LINE_RE,
    Level,
    LogLine,
    format_line,
    format_timestamp,
    one_line,
)
from simulator.gateway.logfile import open_for_append
from simulator.gateway.maillog import MailLog
from simulator.gateway.rolled import read_log_lines
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

#: What a terminal would act on: C0 controls but the LF ending a line, DEL, C1 controls.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC))


@pytest.fixture
def mail_log(clock: ManualClock, tmp_path: Path) -> Iterator[MailLog]:
    log = MailLog(clock, tmp_path / "mail_logs" / "mail.current")
    try:
        yield log
    finally:
        log.close()


def file_lines(log: MailLog) -> list[str]:
    assert log.path is not None
    return log.path.read_text(encoding="utf-8").splitlines()


def test_the_seed_example_line() -> None:
    at = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
    assert format_line(at, Level.INFO, "MID 3 queued for delivery") == (
        "Wed Aug 17 05:52:04 2022 Info: MID 3 queued for delivery"
    )


def test_a_single_digit_day_is_space_padded() -> None:
    at = datetime(2022, 8, 7, 5, 2, 4, tzinfo=UTC)
    assert format_line(at, Level.WARNING, "text") == "Sun Aug  7 05:02:04 2022 Warning: text"


@pytest.mark.parametrize("day", range(1, 32))
def test_every_timestamp_is_24_characters_and_reads_back(day: int) -> None:
    at = datetime(2024, 1, day, 23, 9, 7, tzinfo=UTC)
    text = format_timestamp(at)
    assert len(text) == 24
    assert datetime.strptime(text, "%a %b %d %H:%M:%S %Y") == at.replace(tzinfo=None)


def test_timestamps_read_as_c_locale_strftime_on_seeded_instants_of_every_year() -> None:
    """The names come from tables, not strftime (a sixth of its cost, and no locale): the same text."""
    chooser = random.Random(17)
    for _ in range(20_000):
        at = datetime(1, 1, 1, tzinfo=UTC) + timedelta(seconds=chooser.randrange(315_537_897_599))
        expected = f"{at:%a %b} {at.day:2d} {at:%H:%M:%S} {at.year}"  # strftime: C locale under pytest
        assert format_timestamp(at) == expected


@pytest.mark.parametrize("level", Level)
def test_every_level_matches_the_tracking_expression(level: Level) -> None:
    line = format_line(datetime(2022, 8, 7, 5, 2, 4, tzinfo=UTC), level, "TDC: Message 4 delivered.")
    found = TRACKING_LINE_RE.fullmatch(line)
    assert found is not None
    assert found.group(1) == "Sun Aug  7 05:02:04 2022"
    assert found.group(2) == "TDC: Message 4 delivered."


def test_file_and_memory_get_the_same_lines(mail_log: MailLog, clock: ManualClock) -> None:
    mail_log.info("New SMTP ICID 1 interface Management (127.0.0.1) address 127.0.0.1")
    clock.advance(timedelta(days=12, seconds=3))
    mail_log.warning("MID 3 could not be stored: disk full")
    mail_log.critical("DCID 1 internal error")
    mail_log.write(Level.DEBUG, "debug detail")
    memory = [str(line) for line in mail_log.lines()]
    assert file_lines(mail_log) == memory
    assert [line.level for line in mail_log] == [Level.INFO, Level.WARNING, Level.CRITICAL, Level.DEBUG]
    assert memory[1].startswith("Mon Aug 29 05:52:07 2022 Warning: ")


def test_every_line_written_matches_the_tracking_expression(mail_log: MailLog) -> None:
    for text in ["MID 3 Subject 'Grüße'", "TDC: Message 4 delivery failed to X: TLS Error.", ""]:
        mail_log.info(text)
    assert all(TRACKING_LINE_RE.fullmatch(line) for line in file_lines(mail_log))


@pytest.mark.bad_input
def test_a_line_break_in_the_text_cannot_forge_a_log_line(mail_log: MailLog) -> None:
    """Reply text from a remote server can span lines (aiosmtplib joins them with LF)."""
    mail_log.info("TDC: Message 4 delivery failed: 451 first line\nWed Aug 17 05:52:04 2022 Info: forged")
    lines = file_lines(mail_log)
    assert len(lines) == len(mail_log.lines()) == 1
    assert all(TRACKING_LINE_RE.fullmatch(line) for line in lines)


def test_the_file_is_appended_to_across_restarts(clock: ManualClock, tmp_path: Path) -> None:
    path = tmp_path / "mail.current"
    for text in ("before restart", "after restart"):
        log = MailLog(clock, path)
        log.info(text)
        log.close()
    assert [line.split("Info: ")[1] for line in path.read_text().splitlines()] == [
        "before restart", "after restart",
    ]


def test_a_memory_only_log(clock: ManualClock) -> None:
    log = MailLog(clock)
    line = log.info("only in memory")
    assert log.lines() == [line] and log.path is None
    log.close()


def test_write_uses_the_clock(mail_log: MailLog, clock: ManualClock) -> None:
    clock.advance(timedelta(minutes=61))
    assert mail_log.info("later").at == clock.now()


def test_matching_searches_the_text(mail_log: MailLog) -> None:
    for text in ("MID 3 queued for delivery", "TDC: Message 4 queued", "MID 30 queued for delivery"):
        mail_log.info(text)
    assert [line.text for line in mail_log.matching(r"^MID 3 ")] == ["MID 3 queued for delivery"]


def test_wait_for_returns_once_a_line_arrives_from_another_thread(mail_log: MailLog) -> None:
    writer = threading.Timer(0.05, mail_log.info, args=("TDC: Message 4 delivered.",))
    writer.start()
    try:
        lines = mail_log.wait_for(r"TDC: Message \d+ delivered", timeout=5)
    finally:
        writer.join()
    assert [line.text for line in lines] == ["TDC: Message 4 delivered."]


def test_wait_for_a_count(mail_log: MailLog) -> None:
    for mid in (3, 5):
        mail_log.info(f"MID {mid} queued for delivery")
    assert len(mail_log.wait_for("queued for delivery", timeout=1, count=2)) == 2


def test_wait_for_times_out_naming_the_pattern(mail_log: MailLog) -> None:
    mail_log.info("MID 3 queued for delivery")
    with pytest.raises(TimeoutError, match="TDC: Message 4 delivered to") as raised:
        mail_log.wait_for("TDC: Message 4 delivered to", timeout=0.05)
    assert "0.05" in str(raised.value)


def test_log_line_str_is_the_formatted_line() -> None:
    at = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
    assert str(LogLine(at, Level.INFO, "x")) == format_line(at, Level.INFO, "x")


# --- control characters (BEHAVIOUR.md §9.2) ---------------------------------------------------------


@pytest.mark.bad_input
@pytest.mark.parametrize(("raw", "escaped"), [
    ("\r", "\\x0d"), ("\n", "\\x0a"), ("\x1b[2J", "\\x1b[2J"), ("\x07", "\\x07"), ("\x00", "\\x00"),
    ("\t", "\\x09"), ("\x7f", "\\x7f"), ("\x9b31m", "\\x9b31m"), ("\x85", "\\x85"),
    ("\u2028", "\\u2028"), ("\udcff", "\\udcff"),
])
def test_every_control_character_is_written_as_an_escape(mail_log: MailLog, raw: str, escaped: str) -> None:
    assert one_line(f"a{raw}b") == f"a{escaped}b"
    line = mail_log.info(f"ICID 1 SMTP authentication failed for user: a{raw}b")
    assert line.text.endswith(f"user: a{escaped}b")
    assert file_lines(mail_log) == [str(line)]
    assert not CONTROL.search(str(line))


def test_printable_text_is_left_as_it_is() -> None:
    text = "MID 3 Subject 'Grüße, 你好 — \\x1b is already text' <a@b.test> \"q\""
    assert one_line(text) == text


# --- a file that refuses lines (BEHAVIOUR.md §9.4): nothing raises, nothing is lost ------------------


class FullDisk:
    """Opens the real file, but while `full` every write fails with ENOSPC (after `fits` bytes of it)."""

    def __init__(self) -> None:
        self.full = False
        self.fits = 0  # bytes of the next write that still fit on the disk

    def open(self, path: Path) -> BinaryIO:
        disk = self

        class Stream(io.FileIO):
            def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
                if not disk.full:
                    return super().write(data)
                fitting, disk.fits = bytes(data)[:disk.fits], 0
                if fitting:
                    return super().write(fitting)
                raise OSError(errno.ENOSPC, "No space left on device")

        return Stream(path, "ab")


@pytest.fixture
def disk() -> FullDisk:
    return FullDisk()


@pytest.fixture
def flaky_log(clock: ManualClock, tmp_path: Path, disk: FullDisk) -> Iterator[MailLog]:
    log = MailLog(clock, tmp_path / "mail_logs" / "mail.current")
    assert log.file is not None
    log.file.opener = disk.open
    try:
        yield log
    finally:
        log.close()


def test_lines_the_disk_refuses_wait_in_order_and_are_written_when_it_takes_them(
    flaky_log: MailLog, disk: FullDisk
) -> None:
    assert flaky_log.file is not None
    flaky_log.info("MID 1 queued for delivery")
    disk.full = True
    for mid in (2, 3, 4):
        flaky_log.info(f"MID {mid} queued for delivery")  # never raises
    assert len(file_lines(flaky_log)) == 1 and flaky_log.file.unwritten == 3
    assert len(flaky_log.wait_for("queued for delivery", timeout=0, count=4)) == 4  # memory has them
    disk.full = False
    flaky_log.info("MID 5 queued for delivery")
    assert file_lines(flaky_log) == [str(line) for line in flaky_log.lines()]
    assert [line.text for line in flaky_log.lines()] == [f"MID {n} queued for delivery" for n in range(1, 6)]
    assert flaky_log.file.unwritten == 0


def test_a_line_the_disk_took_half_of_is_finished_never_torn(flaky_log: MailLog, disk: FullDisk) -> None:
    disk.full, disk.fits = True, 10
    flaky_log.info("MID 1 queued for delivery")
    assert flaky_log.path is not None and len(flaky_log.path.read_bytes()) == 10
    flaky_log.info("MID 2 queued for delivery")
    disk.full = False
    flaky_log.close()  # closing writes what waits
    assert file_lines(flaky_log) == [str(line) for line in flaky_log.lines()]


def test_on_an_open_file_a_refused_or_half_taken_line_waits_and_is_finished_in_order(
    flaky_log: MailLog, disk: FullDisk
) -> None:
    assert flaky_log.file is not None and flaky_log.path is not None
    flaky_log.info("MID 1 queued for delivery")  # the file is open: the next lines go straight to it
    written = len(flaky_log.path.read_bytes())
    disk.full, disk.fits = True, 10
    flaky_log.info("MID 2 queued for delivery")  # 10 bytes of it taken
    flaky_log.info("MID 3 queued for delivery")  # refused
    assert len(flaky_log.path.read_bytes()) == written + 10 and flaky_log.file.unwritten == 2
    disk.full = False
    flaky_log.info("MID 4 queued for delivery")
    assert file_lines(flaky_log) == [str(line) for line in flaky_log.lines()]
    assert flaky_log.file.unwritten == 0


def test_a_file_that_cannot_even_be_opened_refuses_nothing(flaky_log: MailLog) -> None:
    assert flaky_log.file is not None

    def refused(path: Path) -> BinaryIO:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    flaky_log.file.opener = refused
    flaky_log.file.reopen()
    line = flaky_log.critical("MID 7 could not be delivered")
    assert flaky_log.lines() == [line] and flaky_log.file.unwritten == 1
    flaky_log.file.opener = open_for_append
    flaky_log.info("MID 7 queued for delivery")
    assert file_lines(flaky_log) == [str(line) for line in flaky_log.lines()]


def test_a_file_that_takes_nothing_without_an_error_is_a_refusal_not_a_spin(flaky_log: MailLog) -> None:
    assert flaky_log.file is not None

    class Stubborn(io.FileIO):
        def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
            return 0

    flaky_log.file.opener = lambda path: Stubborn(path, "ab")
    flaky_log.file.reopen()
    flaky_log.info("MID 8 queued for delivery")
    assert flaky_log.file.unwritten == 1
    flaky_log.file.opener = open_for_append
    flaky_log.info("MID 9 queued for delivery")
    assert file_lines(flaky_log) == [str(line) for line in flaky_log.lines()]


def test_a_full_backlog_drops_its_oldest_lines_and_says_how_many(flaky_log: MailLog, disk: FullDisk) -> None:
    assert flaky_log.file is not None
    size = len(str(flaky_log.info("MID 10 queued for delivery"))) + 1  # every MID below has two digits
    flaky_log.file.most_unwritten_bytes = 5 * size
    disk.full = True
    for mid in range(11, 21):
        flaky_log.info(f"MID {mid} queued for delivery")  # 16-20 wait; 11-15 are dropped
    disk.full = False
    flaky_log.info("MID 21 queued for delivery")  # one more than the backlog holds: 16 goes too
    written = [line.split(": ", 1)[1] for line in file_lines(flaky_log)]
    assert written == [
        "MID 10 queued for delivery", *(f"MID {mid} queued for delivery" for mid in range(17, 22)),
        "6 mail-log lines were lost: the log file refused them while its backlog was full"]
    assert len(flaky_log.lines()) == 13  # memory lost none


def test_a_line_torn_by_a_crash_does_not_swallow_the_next_one(clock: ManualClock, tmp_path: Path) -> None:
    path = tmp_path / "mail.current"
    path.write_text("Wed Aug 17 05:52:04 2022 Info: MID 3 que")  # kill -9 mid-write
    log = MailLog(clock, path)
    line = log.info("Resumed 1 spooled queue entries")
    log.close()
    assert path.read_text().splitlines() == ["Wed Aug 17 05:52:04 2022 Info: MID 3 que", str(line)]


@pytest.mark.bad_input
def test_tdcsim_tail_prints_no_control_character_a_client_sent(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    """An AUTH user name reaches the mail log as the client sent it: ESC, BEL and DEL included."""
    hostile = "\x1b]0;owned\x07\x1b[2J\x7froot"
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("client.test")
        client.user, client.password = hostile, "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.auth("PLAIN", client.auth_plain)
    tdc_sandbox.mail_log.wait_for("SMTP authentication failed")
    tail = tdc_sandbox.tdcsim("tail", "--lines", "50")
    assert tail.status == 0
    assert "for user: \\x1b]0;owned\\x07\\x1b[2J\\x7froot using AUTH" in tail.stdout
    assert not CONTROL.search(tail.stdout)


def test_a_sandbox_whose_log_disk_is_full_accepts_delivers_and_catches_up(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, disk: FullDisk
) -> None:
    log = tdc_sandbox.machine.log  # the in-process MailLog itself: its file, its writer
    assert log.file is not None and log.path is not None
    file = log.file

    def fill_the_disk() -> None:
        file.opener, disk.full = disk.open, True
        file.reopen()

    tdc_sandbox._runner.run(fill_the_disk)
    tdc_sandbox.set_faults("mailbox", "down")  # the originals wait in their queue meanwhile
    outcomes = [send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message()) for _ in range(3)]
    assert all(outcome.accepted for outcome in outcomes)
    tdc_sandbox.settle()
    assert len(tdc_sandbox.journals()) == 3 and file.unwritten > 0
    assert len(read_log_lines(log.path)) < len(log.lines())
    tdc_sandbox.set_faults("mailbox")
    disk.full = False
    tdc_sandbox.advance(timedelta(seconds=60))  # the queued originals go: no restart
    assert len(tdc_sandbox.mailbox()) == 3
    for outcome in outcomes:
        assert log.matching(rf"^Message done DCID \d+ MID {outcome.mid} ")
    assert read_log_lines(log.path) == [str(line) for line in log.lines()] and file.unwritten == 0


def test_one_line_leaves_printable_text_as_it_is_and_escapes_the_rest() -> None:
    """Printable text is returned untouched only because no escaped character is printable."""
    assert not any(chr(code).isprintable() for code in _ESCAPES)
    printable = "Info: MID 7 Subject 'Grüße \u2013 日本' <a@b.test> \\x1b"
    assert one_line(printable) is printable
    for code in (0x00, 0x0A, 0x1B, 0x7F, 0x85, 0x9F, 0x2028, 0x2029, 0xD800, 0xDFFF):
        assert one_line(f"a{chr(code)}b") == f"a{_ESCAPES[code]}b"
