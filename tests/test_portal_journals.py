"""The Threat Defense portal's pure parts, without sockets: a journal's view (from the report part,
or from its own headers when it is no journal), the tenant's list and its pages, the remediation
words, the download's file name, and the three steps' marks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.admin.operated import JournalPage
from simulator.console.portal_journals import (
    PAGE_SIZE,
    READ_MODE_NONE,
    eml_name,
    page_count,
    page_number,
    remediation_text,
    requested_page,
    viewed,
)
from simulator.console.portal_steps import guide, using_tenant
from simulator.core.clock import ManualClock
from simulator.core.errors import BadRequest, NotFound
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.records import Records
from simulator.endpoints.faults import Fault
from simulator.endpoints.kept import StoredFile
from simulator.endpoints.threat_defense import JournalRecord
from simulator.sandbox.parts import ThreatDefense
from simulator.sandbox.settings import SandboxSettings
from simulator.transport.tls import SandboxTls

TENANT, OTHER = "tenant@intake.test", "other@intake.test"
NOW = datetime(2022, 8, 17, 5, 52, tzinfo=UTC)
LINKS = {"details": "/details", "edit": "/edit", "commit": "/commit"}
ORIGINAL = (b"From: a@outside.test\r\nTo: b@example.com\r\nSubject: Hello =?utf-8?q?w=C3=B6rld?=\r\n"
            b"Message-ID: <m1@outside.test>\r\nX-IronPort-RemoteIP: 192.0.2.7\r\n\r\nhi\r\n")


def record(number: int, data: bytes, intake: str = TENANT, **findings: Any) -> JournalRecord:
    return JournalRecord(number, intake, "gw@esa1.test", (intake,), "TLSv1.3", "AES", 1, 1, (),
                         InMemoryBody(data), **findings)


def journal() -> bytes:
    source = JournalSource(3, "a@outside.test", ("b@example.com", "c@example.com"), "Hello wörld",
                           "<m1@outside.test>", ORIGINAL)
    return build_journal(source, JournalAddressing("gw@esa1.test", TENANT, "esa1.test"), 4, NOW)


def test_a_journal_is_shown_from_its_report_part() -> None:
    view = viewed(record(1, journal(), verdict="Neutral", sender_ip="192.0.2.7"), "read")
    assert (view.sender, view.subject, view.verdict, view.true_sender) == (
        "a@outside.test", "Hello wörld", "Neutral", "192.0.2.7")
    assert view.date == "Wed, 17 Aug 2022 05:52:00 +0000"
    assert view.report == (("Sender", "a@outside.test"), ("Subject", "Hello wörld"),
                           ("Message-ID", "<m1@outside.test>"), ("To", "b@example.com"),
                           ("To", "c@example.com"))
    assert view.broken == () and view.remediation == READ_MODE_NONE


def test_a_message_that_is_no_journal_is_shown_from_its_own_headers_with_its_rules_described() -> None:
    broken = replace(record(1, ORIGINAL), broken_rules=("parts.two", "no.such-rule"))
    view = viewed(broken, "read-write")
    assert (view.sender, view.subject, view.report) == ("a@outside.test", "Hello wörld", ())
    assert view.broken == ({"rule": "parts.two", "description":
                            "there are exactly two parts: the report and the original"},
                           {"rule": "no.such-rule", "description": ""})
    assert view.remediation == "None"


def test_a_journal_whose_file_is_gone_still_shows_its_findings(tmp_path: Path) -> None:
    gone = replace(record(1, b"", verdict="Spam", remediation="junk"), body=StoredFile(tmp_path / "1.eml", 9))
    view = viewed(gone, "read-write")
    assert not view.readable and (view.sender, view.report) == ("", ())
    assert (view.verdict, view.remediation) == ("Spam", "Moved to Junk")


@pytest.fixture
def threat_defense(tdc_tls: SandboxTls) -> ThreatDefense:
    """The Threat Defense part (not listening) holding, in order: TENANT 1, OTHER 1, TENANT 2, TENANT 3."""
    part = ThreatDefense(SandboxSettings(None, threat_defense_port=0), tdc_tls, ManualClock(NOW), None)
    for number, intake in ((1, TENANT), (1, OTHER), (2, TENANT), (3, TENANT)):
        part.store.save(record(number, b"", intake))
    return part


def numbers(records: Sequence[JournalRecord]) -> list[tuple[str, int]]:
    return [(each.intake_address, each.number) for each in records]


def test_a_page_of_a_tenants_journals_is_newest_first_with_its_count(threat_defense: ThreatDefense) -> None:
    first = threat_defense.journal_page("Tenant@Intake.test", 0, 2)
    assert first.total == 3 and numbers(first.records) == [(TENANT, 3), (TENANT, 2)]
    second = threat_defense.journal_page(TENANT, 2, 2)
    assert second.total == 3 and numbers(second.records) == [(TENANT, 1)]
    assert threat_defense.journal_page(TENANT, 4, 2) == JournalPage(3, ())  # past the last: only the count
    assert threat_defense.journal_page(OTHER, 0, 0) == JournalPage(1, ())
    assert threat_defense.journal_page("nobody@intake.test", 0, 25) == JournalPage(0, ())


def test_one_journal_is_found_by_tenant_and_number(threat_defense: ThreatDefense) -> None:
    found = threat_defense.journal("TENANT@intake.test", 1)
    assert found is not None and (found.intake_address, found.number) == (TENANT, 1)
    assert threat_defense.journal(TENANT, 4) is None and threat_defense.journal("x@intake.test", 1) is None


def test_the_journals_after_a_position_are_only_those_received_since(threat_defense: ThreatDefense) -> None:
    every = threat_defense.journals_after(0)
    assert (every.oldest, every.first) == (1, 1)
    assert numbers(every.records) == numbers(threat_defense.journals())
    later = threat_defense.journals_after(3)
    assert (later.first, numbers(later.records)) == (4, [(TENANT, 3)])
    assert threat_defense.journals_after(4).records == ()


def test_records_read_newest_first_by_page_and_after_a_position_past_what_was_dropped() -> None:
    kept: Records[int] = Records(limit=5)
    for number in range(1, 11):  # positions 1..10; 6..10 kept
        kept.append(number)
    assert kept.newest(lambda n: n % 2 == 0, skip=1, count=1) == (3, [8])
    assert kept.newest() == (5, [10, 9, 8, 7, 6]) and kept.newest(skip=9, count=3) == (5, [])
    assert kept.after(8) == (6, [9, 10])
    assert kept.after(2) == (6, [6, 7, 8, 9, 10])  # 3..5 are gone: the oldest kept says so
    assert kept.after(10) == (6, [])


@pytest.mark.parametrize(("text", "total", "number"), [("", 0, 1), ("1", 0, 1), ("2", PAGE_SIZE + 1, 2)])
def test_a_page_number_within_the_pages(text: str, total: int, number: int) -> None:
    assert page_number(text, total) == number == requested_page(text)


@pytest.mark.parametrize(("text", "total", "error"), [
    ("0", 1, BadRequest), ("-1", 1, BadRequest), ("two", 1, BadRequest), ("²", 1, BadRequest),
    ("2", PAGE_SIZE, NotFound), ("2", 0, NotFound),
])
def test_a_page_number_that_is_none_or_past_the_last(text: str, total: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        page_number(text, total)
    assert page_count(0) == 1 and page_count(PAGE_SIZE) == 1 and page_count(PAGE_SIZE + 1) == 2


def test_the_remediation_in_words_and_the_downloads_file_name() -> None:
    assert [remediation_text(each, "read-write") for each in ("quarantine", "trash", "junk", "")] == [
        "Moved to Quarantine", "Moved to Trash", "Moved to Junk", "None"]
    assert remediation_text("", "read") == READ_MODE_NONE
    assert eml_name(record(7, b"")) == "tenant-7.eml"
    assert eml_name(record(2, b"", 'a"b;ü@x.test')) == "a_b__-2.eml"


def machine(name: str, enabled: bool, address: str) -> dict[str, Any]:
    return {"machine": name, "enabled": enabled, "intake_address": address}


def test_the_steps_are_marked_from_the_state_alone() -> None:
    disabled = [machine("esa1", False, TENANT), machine("esa2", False, TENANT)]
    enabled = [machine("esa1", True, TENANT.upper()), machine("esa2", True, "x@elsewhere.test")]
    marks = [[step.done for step in guide((TENANT,), (), pending, committed, LINKS)]
             for pending, committed in ((disabled, disabled), (enabled, disabled), (enabled, enabled))]
    assert marks == [[True, False, False], [True, True, False], [True, True, True]]
    assert guide((TENANT,), (), enabled, disabled, LINKS)[2].link == "/commit"
    committed = guide((TENANT,), (), enabled, enabled, LINKS)[2]
    assert committed.state == f"Committed: enabled with {TENANT} on esa1."
    assert using_tenant(enabled, (OTHER,)) == {}
    assert not guide((TENANT,), (Fault("down"),), enabled, enabled, LINKS)[0].done
    assert not guide((), (), disabled, disabled, LINKS)[0].done
