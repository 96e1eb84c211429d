"""The Threat Defense portal's pure parts, without sockets: a journal's view (from the report part,
or from its own headers when it is no journal), the tenant's list and its pages, the remediation
words, the download's file name, and the three steps' marks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.console.portal_journals import (
    PAGE_SIZE,
    READ_MODE_NONE,
    eml_name,
    find,
    of_tenant,
    page_count,
    page_number,
    remediation_text,
    viewed,
)
from simulator.console.portal_steps import guide, using_tenant
from simulator.core.errors import BadRequest, NotFound
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.endpoints.faults import Fault
from simulator.endpoints.kept import StoredFile
from simulator.endpoints.threat_defense import JournalRecord

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


def test_a_tenants_journals_are_listed_newest_first_and_found_by_number() -> None:
    records = [record(1, b""), record(1, b"", OTHER), record(2, b"")]
    assert [(each.intake_address, each.number) for each in of_tenant(records, "Tenant@Intake.test")] == [
        (TENANT, 2), (TENANT, 1)]
    assert find(records, TENANT, 1) is records[0]
    with pytest.raises(NotFound, match="has no journal 3"):
        find(records, TENANT, 3)


@pytest.mark.parametrize(("text", "total", "number"), [("", 0, 1), ("1", 0, 1), ("2", PAGE_SIZE + 1, 2)])
def test_a_page_number_within_the_pages(text: str, total: int, number: int) -> None:
    assert page_number(text, total) == number


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
