"""The journal latency's hops (issue 13): the times the oracle reads from each journal's record as
Threat Defense writes it, the split of accepted -> stored into hops (a later journal of a connection
measured from the previous one's 250), and the hops in the terminal's table and the README."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench import hops, readme, report
from bench.corpus import Corpus
from bench.hops import JournalTimes
from bench.tracker import Tracker
from simulator.core.mail.body import InMemoryBody
from simulator.endpoints.threat_defense import JournalRecord, JournalStore

INTAKE = "sandbox-tenant@intake.threatdefense.test"
MS = 1_000_000


def test_an_iso_time_becomes_exact_nanoseconds() -> None:
    assert hops.iso_ns("1970-01-01T00:00:01.000001+00:00") == 1_000_001_000
    assert hops.iso_ns("2026-11-30T17:18:11+01:00") == hops.iso_ns("2026-11-30T16:18:11.000000+00:00")
    assert hops.iso_ns("2026-11-30T16:18:11.123456+00:00") % 1000 == 0


def test_an_iso_time_without_an_offset_is_utc_not_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert hops.iso_ns("2026-11-30T16:18:11.5") == hops.iso_ns("2026-11-30T16:18:11.500000+00:00")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_record_without_received_at_has_no_received_time() -> None:
    times = hops.journal_times({"received_at": None, "connection": 3, "message_on_connection": 2}, 7)
    assert times == JournalTimes(received_ns=None, stored_ns=7, connection=3, position=2)


def test_the_oracle_reads_the_times_of_a_record_as_threat_defense_writes_it(tmp_path: Path) -> None:
    corpus = Corpus.generate(5, 1, "example.com")
    received = datetime(2026, 11, 30, 16, 18, 11, 123456, tzinfo=UTC)
    record = JournalRecord(number=1, intake_address=INTAKE, mail_from="tdc@gateway.test", rcpt_tos=(INTAKE,),
                           tls_protocol="TLSv1.3", tls_cipher="x", connection=4, message_on_connection=3,
                           broken_rules=(), body=InMemoryBody(corpus.mail(42).data), received_at=received)
    JournalStore(tmp_path / "threat-defense").save(record)
    tracker = Tracker(tmp_path, INTAKE, corpus)
    tracker.scan()
    stored_ns = (tmp_path / "threat-defense" / INTAKE / "1.json").stat().st_mtime_ns
    assert tracker.journal_times == {42: JournalTimes(hops.iso_ns(received.isoformat()), stored_ns, 4, 3)}
    assert tracker.journals.first_ns == {42: stored_ns}


def test_a_record_read_half_written_is_taken_at_a_later_scan(tmp_path: Path) -> None:
    corpus = Corpus.generate(5, 1, "example.com")
    folder = tmp_path / "threat-defense" / INTAKE
    folder.mkdir(parents=True)
    (folder / "1.eml").write_bytes(corpus.mail(7).data)
    whole = json.dumps({"check": "valid", "connection": 2, "message_on_connection": 1, "received_at": None},
                       indent=2) + "\n"
    (folder / "1.json").write_text(whole[:30])
    tracker = Tracker(tmp_path, INTAKE, corpus)
    tracker.scan()
    assert tracker.journal_times == {} and tracker.journals.first_ns == {}
    (folder / "1.json").write_text(whole)
    tracker.scan()
    assert tracker.journal_times[7].connection == 2 and tracker.invalid_journals == 0


def journal(received_ms: int | None, stored_ms: int, connection: int, position: int) -> JournalTimes:
    received_ns = None if received_ms is None else received_ms * MS
    return JournalTimes(received_ns, stored_ms * MS, connection, position)


def test_the_hops_of_first_and_later_journals_of_a_connection() -> None:
    accepted = {1: 0, 2: 5 * MS, 3: 6 * MS, 4: 100 * MS, 5: 0}
    times = {1: journal(20, 23, 1, 1), 2: journal(30, 31, 1, 2), 3: journal(40, 44, 1, 3),
             4: journal(110, 112, 2, 1), 5: journal(None, 9, 3, 1), 6: journal(50, 51, 4, 2)}
    split = hops.split(accepted, times)
    assert split["to_threat_defense_ms"]["count"] == 4  # 5 has no received time, 6 was never accepted
    to_threat_defense = split["to_threat_defense_ms"]
    assert (to_threat_defense["p50"], to_threat_defense["max"]) == (22.5, 34.0)  # of 20, 25, 34 and 10
    assert split["at_threat_defense_ms"]["max"] == 4.0
    assert split["first_on_connection_ms"]["count"] == 2
    assert (split["first_on_connection_ms"]["p50"], split["first_on_connection_ms"]["max"]) == (15.0, 20.0)
    assert (split["waiting_ms"]["p50"], split["waiting_ms"]["max"]) == (21.5, 25.0)  # 23-5 and 31-6
    assert (split["sending_ms"]["p50"], split["sending_ms"]["max"]) == (8.0, 9.0)  # 30-23 and 40-31
    assert split["connections"] == 4 and split["journals_per_connection"] == 1.75  # (3 + 1 + 1 + 2) / 4
    assert [split[name]["label"] for name, _ in hops.HOPS] == [label for _, label in hops.HOPS]


def test_a_journal_accepted_after_the_previous_one_s_250_waited_for_nothing() -> None:
    split = hops.split({1: 0, 2: 50 * MS, 3: 60 * MS},
                       {1: journal(10, 11, 1, 1), 2: journal(54, 56, 1, 2), 3: journal(64, 66, 1, 3)})
    # the connection was kept open between them: the journals waited for no turn, sent in 4 ms each
    sending = split["sending_ms"]
    assert (split["waiting_ms"]["max"], sending["p50"], sending["max"]) == (0.0, 4.0, 4.0)


def test_a_later_journal_whose_predecessor_is_unknown_has_no_waiting_or_sending() -> None:
    split = hops.split({1: 0}, {1: journal(10, 11, 1, 2)})
    assert split["first_on_connection_ms"]["count"] == split["waiting_ms"]["count"] == 0
    assert split["to_threat_defense_ms"]["count"] == 1 and split["waiting_ms"]["p99"] is None


def test_percentiles_give_p90_too() -> None:
    figures = report.percentiles([float(n) for n in range(1, 101)])
    assert (figures["p50"], figures["p90"], figures["p99"], figures["max"]) == (50.5, 90.1, 99.01, 100.0)


@pytest.fixture
def split_results() -> dict[str, Any]:
    accepted = {1: 0, 2: 5 * MS, 3: 6 * MS}
    times = {1: journal(20, 23, 1, 1), 2: journal(30, 31, 1, 2), 3: journal(40, 44, 1, 3)}
    results = {"machine": {"nproc": 2}, "options": {"smoke": False},
               "latency": {"rate": 53.0, "journal_ms": {"p99": 44.0}, "hops": hops.split(accepted, times)}}
    return results


def test_the_terminal_table_shows_each_hop_with_its_percentiles(split_results: dict[str, Any]) -> None:
    lines = report.table(split_results).splitlines()
    head = "journal latency by hop, ms (1 connections to Threat Defense, 3.0 journals each on average;"
    assert any(line.startswith(head) for line in lines)
    (first,) = [line for line in lines if line.startswith("first of a connection")]
    assert first.split()[-5:] == ["1", "-", "-", "-", "-"]  # one journal: no percentiles
    (waiting,) = [line for line in lines if line.startswith("later on a connection: accepted → its turn")]
    assert waiting.split()[-5:] == ["2", "21.5", "24.3", "24.9", "25.0"]  # of 23 - 5 and 31 - 6


def test_the_readme_shows_the_hops_only_when_the_run_measured_them(split_results: dict[str, Any]) -> None:
    text = readme.block(split_results)
    assert "| hop | n | p50 | p90 | p99 | max |" in text
    assert "| later on a connection: its turn → DATA | 2 | 8.0 | 8.8 | 9.0 | 9.0 |" in text
    del split_results["latency"]["hops"]
    assert "| hop |" not in readme.block(split_results) and "by hop" not in readme.block(split_results)
    assert report.hop_lines(split_results) == []
