"""`mail.current` rolls over by size to `mail.@<timestamp>.s`, as AsyncOS names rolled logs, and
message tracking reads across the rolled files and the current one, oldest first (BEHAVIOUR.md §9.6)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.cli.main import main as tdcsim
from simulator.core.clock import ManualClock
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.tracking import track
from simulator.defaults import mail_log_path
from simulator.gateway.logfile import ROLLOVER_BYTES
from simulator.gateway.machine import log_tail
from simulator.gateway.maillog import MailLog
from simulator.gateway.rolled import log_files, read_log_lines, rolled_logs, track_log
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

START = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mail_logs" / "mail.current"


@pytest.fixture
def small_log(clock: ManualClock, path: Path) -> Iterator[MailLog]:
    """A log that rolls over past 200 bytes: about three lines a file."""
    log = MailLog(clock, path, rollover_bytes=200)
    try:
        yield log
    finally:
        log.close()


def written(log: MailLog) -> list[str]:
    return [str(line) for line in log.lines()]


def test_the_default_threshold_is_ten_mebibytes(clock: ManualClock, path: Path) -> None:
    log = MailLog(clock, path)
    assert ROLLOVER_BYTES == 10 * 1024 * 1024 and log.file is not None
    assert log.file.rollover_bytes == ROLLOVER_BYTES
    log.close()


def test_mail_current_rolls_over_between_whole_lines_named_as_asyncos_names_them(
    small_log: MailLog, path: Path
) -> None:
    for mid in range(1, 8):
        small_log.info(f"MID {mid} queued for delivery")
    names = [file.name for file in log_files(path)]
    assert names == ["mail.@20220817T055204.s", "mail.@20220817T055204_0001.s", "mail.current"]
    assert all(file.stat().st_size <= 200 for file in log_files(path))
    assert all(file.read_bytes().endswith(b"\n") for file in rolled_logs(path))
    assert read_log_lines(path) == written(small_log)


def test_rolled_names_follow_the_clock_and_never_collide(
    small_log: MailLog, path: Path, clock: ManualClock
) -> None:
    for minutes in (0, 1, 1, 2):  # two lines a file: two roll-overs at 05:54:04, one at the others
        clock.advance(timedelta(minutes=minutes))
        for mid in range(3):
            small_log.info(f"MID {mid} queued for delivery after {minutes} more minutes")
    names = [file.name for file in rolled_logs(path)]
    assert names == ["mail.@20220817T055204.s", "mail.@20220817T055304.s", "mail.@20220817T055404.s",
                     "mail.@20220817T055404_0001.s", "mail.@20220817T055604.s"]
    assert names == sorted(names)
    assert read_log_lines(path) == written(small_log)


def test_a_clock_that_went_back_names_the_next_file_after_the_newest(
    small_log: MailLog, path: Path
) -> None:
    (path.parent / "mail.@20300101T000000.s").write_text("")  # left by a run whose clock was ahead
    for mid in range(1, 5):
        small_log.info(f"MID {mid} queued for delivery")
    assert [file.name for file in rolled_logs(path)] == [
        "mail.@20300101T000000.s", "mail.@20300101T000000_0001.s"]


def test_other_files_in_the_folder_are_not_the_log(small_log: MailLog, path: Path) -> None:
    for name in ("mail.@notadate.s", "other.@20220817T055204.s", "mail.@20220817T055204.s.gz"):
        (path.parent / name).write_text("not the log\n")
    small_log.info("MID 1 queued for delivery")
    assert log_files(path) == [path]


def test_tracking_reads_across_the_rolled_files_in_order(small_log: MailLog, path: Path) -> None:
    for text in ("Start MID 3 ICID 1", "MID 3 ICID 1 From: <a@outside.test>",
                 "MID 3 ICID 1 RID 0 To: <b@example.com>", "MID 3 queued for delivery",
                 "Delivery start DCID 2 MID 3 to RID [0]", "Message done DCID 2 MID 3 to RID [0]",
                 "Message finished MID 3 done"):
        small_log.info(text)
    assert len(rolled_logs(path)) >= 2
    history = track_log(path, 3)
    assert history == track(small_log.lines(), 3) and len(history) == 7
    assert history[0].endswith("Start message 3 on incoming connection (ICID 1).")


def test_tdcsim_tracking_reads_the_rolled_files(clock: ManualClock, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = MailLog(clock, mail_log_path(data_dir, "esa1"), rollover_bytes=60)  # a line a file
    for text in ("Start MID 5 ICID 2", "MID 5 queued for delivery", "Message finished MID 5 done"):
        log.info(text)
    log.close()
    assert len(rolled_logs(mail_log_path(data_dir, "esa1"))) == 2
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert tdcsim(["tracking", "--data-dir", str(data_dir), "5"]) == 0
    assert out.getvalue().splitlines() == [
        "17 Aug 2022 05:52:04 (GMT +00:00) Start message 5 on incoming connection (ICID 2).",
        "17 Aug 2022 05:52:04 (GMT +00:00) Message 5 queued for delivery.",
        "17 Aug 2022 05:52:04 (GMT +00:00) Message 5 finished: done."]


def test_a_restart_right_after_a_roll_over_continues_the_ids(small_log: MailLog, path: Path) -> None:
    small_log.info("Start MID 41 ICID 9")
    small_log.info("New SMTP DCID 17 interface 127.0.0.1 address 127.0.0.1 port 2528")
    small_log.info("Message finished MID 41 done")  # the roll-over: mail.current holds only this
    assert "MID 41 ICID 9" in log_tail(path) and "DCID 17" in log_tail(path)


def test_a_sandbox_log_rolls_over_and_the_api_tracks_across_it(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    log = tdc_sandbox.machine.log  # the in-process MailLog itself: its file, its writer
    assert log.file is not None and log.path is not None
    log.file.rollover_bytes = 1024  # a few messages' lines each
    mids = []
    for _ in range(4):
        outcome = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message())
        assert outcome.mid is not None
        mids.append(outcome.mid)
    tdc_sandbox.settle()
    assert len(rolled_logs(log.path)) >= 3
    assert read_log_lines(log.path) == written(log)
    for mid in mids:
        answer = tdc_sandbox.admin_client().get(f"/tracking/{mid}")
        assert answer["history"] == track(log.lines(), mid)
        assert any(event.endswith(f"Message {mid} finished: done.") for event in answer["history"])
