"""The mail log (BEHAVIOUR.md §7.1): the gateway's line form, in the file and in memory alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.core.clock import ManualClock
from simulator.core.reports.logformat import TRACKING_LINE_RE, Level, LogLine, format_line, format_timestamp
from simulator.gateway.maillog import MailLog


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
