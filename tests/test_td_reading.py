"""Threat Defense reads each journal once and stores it off its event loop (issue 13).

`READING` must read every header exactly as `email.policy.default` does (it only remembers what it
parsed); a `ReadJournal` shared by the §3 check and the verdict analysis parses the original once;
the store gives each number out once however many threads store at the same time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import NoReturn

import pytest

from simulator.core.mail import inspection, journal_check
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.inspection import LONGEST_REMEMBERED, READING, RememberingHeaders
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.mail.journal_check import ReadJournal, check_journal, report_fields
from simulator.core.mail.samples import MessageFactory
from simulator.core.mail.td_analysis import analyse, findings
from simulator.endpoints.threat_defense import WORKER_NAME, JournalRecord, JournalStore
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

INTAKE = "sandbox-tenant@intake.threatdefense.test"
SYSTEM = "tdc-journal@esa1.sandbox.test"
NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)

#: Headers the policy reads in very different ways: encoded words, broken ones, groups, comments,
#: parameters (RFC 2231 too), defects, control characters, non-ASCII bytes, and one too long to keep.
HEADERS = [
    ("Subject", "Quarterly report"), ("Subject", "=?utf-8?q?Gr=C3=BC=C3=9Fe?= and =?bogus?x?y?="),
    ("Subject", "  folded\r\n\tover lines  "), ("Subject", "a\x00b\x1bc"), ("Subject", "caf\udce9"),
    ("From", "Alice <alice@sender.test>"), ("From", '"Doe, J." <j@x.test> (comment)'),
    ("From", "undisclosed-recipients:;"), ("From", "<<broken@@"), ("To", "a@x.test, B <b@y.test>"),
    ("To", "Group: a@x.test, b@y.test;"), ("Message-ID", "<q3-report@sender.test>"),
    ("Message-ID", "no angle brackets"), ("Message-ID", "<a\x07b@x>"), ("X-IronPort-MID", "42"),
    ("Content-Type", 'multipart/mixed; boundary="=_tdc_4_0_abc"'), ("Content-Type", "text/plain"),
    ("Content-Type", "text/plain; charset*=utf-8''%E2%82%AC; name=\"a b\""),
    ("Content-Type", "garbage"), ("Content-Type", "MESSAGE/RFC822; x=(comment)"),
    ("Content-Transfer-Encoding", "base64"), ("Date", "Wed, 17 Aug 2022 05:52:04 +0000"),
    ("Date", "not a date"), ("X-IronPort-RemoteIP", " 192.0.2.10 "),
    ("Subject", "x" * (LONGEST_REMEMBERED + 1)),
]


def _read(header: object) -> tuple[object, ...]:
    """All that a header object tells: its text, kind, defects and, for those that have them, the
    content type, parameters and addresses."""
    return (str(header), type(header).__mro__[1], [type(d) for d in getattr(header, "defects", ())],
            getattr(header, "content_type", None), dict(getattr(header, "params", {}) or {}),
            [str(a) for a in getattr(header, "addresses", ())])


@pytest.mark.parametrize(("name", "value"), HEADERS)
def test_reading_reads_each_header_as_policy_default_does(name: str, value: str) -> None:
    expected = _read(policy.default.header_fetch_parse(name, value))
    assert _read(READING.header_fetch_parse(name, value)) == expected
    assert _read(READING.header_fetch_parse(name, value)) == expected, "remembered, still the same"


def test_only_short_headers_are_remembered() -> None:
    """What is remembered stays small whatever clients send: a long value is parsed each time."""
    short, long = "x" * LONGEST_REMEMBERED, "x" * (LONGEST_REMEMBERED + 1)
    assert READING.header_fetch_parse("Subject", short) is READING.header_fetch_parse("Subject", short)
    assert READING.header_fetch_parse("Subject", long) is not READING.header_fetch_parse("Subject", long)


def _message_facts(message: Message) -> list[object]:
    facts: list[object] = []
    for part in message.walk():
        facts += [part.get_content_type(), [(k, _read(v)) for k, v in part.items()],
                  [type(d) for d in part.defects], part.is_multipart() or part.get_payload(decode=True)]
    return facts


def test_reading_parses_whole_messages_as_policy_default_does() -> None:
    factory = MessageFactory(3)
    journal = build_journal(
        JournalSource(7, "alice@sender.test", ("bob@example.com",), "Hi", "<m@x>",
                      factory.message(attachments=[("a.bin", b"\x00\xff")]).data),
        JournalAddressing(SYSTEM, INTAKE, "esa1.sandbox.test"), 8, NOW)
    broken = b"Subject: =?utf-8?b?broken\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n"
    for raw in (journal, broken, b"no headers at all", b"Subject: caf\xe9\r\n\r\n\xff\xfe body\r\n"):
        assert _message_facts(message_from_bytes(raw, policy=READING)) == (
            _message_facts(message_from_bytes(raw, policy=policy.default)))


def journal(delivered: bytes, recipients: tuple[str, ...] = ("bob@example.com",)) -> bytes:
    source = JournalSource(3, "alice@sender.test", recipients, "Account notice", "<n@sender.test>",
                           delivered)
    return build_journal(source, JournalAddressing(SYSTEM, INTAKE, "esa1.sandbox.test"), 4, NOW)


PHISH = (b"X-IronPort-RemoteIP: 198.51.100.7\r\nFrom: x@sender.test\r\nSubject: Account notice\r\n"
         b"Message-ID: <n@sender.test>\r\n\r\nPlease verify your account today.\r\n")


def test_the_check_and_the_analysis_share_one_parse_of_the_original(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    inspected: list[bytes] = []
    real = inspection.inspect  # the function journal_check imported

    def counting(raw: bytes) -> object:
        inspected.append(raw)
        return real(raw)

    monkeypatch.setattr(journal_check, "inspect", counting)
    raw = journal(PHISH, ("bob@example.com", "carol@example.com"))
    read = ReadJournal(raw)
    analysis = findings(read, "127.0.0.1", remediating=True)
    assert check_journal(read, SYSTEM, (INTAKE,), (INTAKE,)) == []
    assert inspected == [PHISH], "the original is parsed once, for both"
    assert report_fields(read) == report_fields(raw)
    assert (analysis.verdict, analysis.remediation, analysis.remediated, analysis.message_id) == (
        "Phishing", "quarantine", ("bob@example.com", "carol@example.com"), "<n@sender.test>")


def _refuse(*args: object) -> NoReturn:
    raise AssertionError("parsed with the policy")


def test_a_plain_journal_is_checked_and_analysed_without_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: the gateway's journal of a plain original costs no feed parser and no header parse
    tree; the answers are the policy's (tests/test_reading_equivalence.py)."""
    raw = journal(PHISH, ("bob@example.com", "carol@example.com"))
    monkeypatch.setattr(inspection, "_parse", _refuse)
    monkeypatch.setattr(RememberingHeaders, "__call__", _refuse)
    read = ReadJournal(raw)
    assert check_journal(read, SYSTEM, (INTAKE,), (INTAKE,)) == []
    analysis = findings(read, "127.0.0.1", remediating=True)
    assert (analysis.verdict, analysis.remediated) == ("Phishing", ("bob@example.com", "carol@example.com"))


def test_findings_move_nothing_and_analyse_carries_them_out() -> None:
    raw, moves = journal(PHISH), []
    assert findings(raw, "127.0.0.1", remediating=True).remediated == ("bob@example.com",)
    assert analyse(raw, "127.0.0.1", lambda *move: moves.append(move)).remediation == "quarantine"
    assert moves == [("bob@example.com", "<n@sender.test>", ".Quarantine")]


def draft(number: int) -> JournalRecord:
    return JournalRecord(number, INTAKE, SYSTEM, (INTAKE,), "TLSv1.3", "c", 1, 1, (),
                         InMemoryBody(b"journal %d" % number))


def test_numbers_are_given_out_once_however_many_threads_store(tmp_path: Path) -> None:
    store, stored = JournalStore(tmp_path / "td"), []

    def worker() -> None:
        for _ in range(25):
            stored.append(store.save_next(INTAKE, draft).number)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(stored) == list(range(1, 201))
    folder = tmp_path / "td" / INTAKE
    assert {path.name for path in folder.iterdir()} == (
        {f"{n}.eml" for n in range(1, 201)} | {f"{n}.json" for n in range(1, 201)})
    assert all((folder / f"{n}.eml").read_bytes() == b"journal %d" % n for n in range(1, 201))


def test_a_number_that_could_not_be_stored_is_given_out_again(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "td")
    store.save_next(INTAKE, draft)
    (tmp_path / "td" / INTAKE / "2.json").mkdir()  # the record beside journal 2 cannot be written
    with pytest.raises(OSError):
        store.save_next(INTAKE, draft)
    assert not (tmp_path / "td" / INTAKE / "2.eml").exists()
    (tmp_path / "td" / INTAKE / "2.json").rmdir()
    assert store.save_next(INTAKE, draft).number == 2
    assert [record.number for record in store.records.snapshot()] == [1, 2]


def test_threat_defense_examines_and_stores_off_its_event_loop(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tdc_sandbox.sandbox.journals_store
    threads: list[str] = []
    real_write = JournalStore._write

    def watched(folder: Path, record: JournalRecord) -> Path:
        threads.append(threading.current_thread().name)
        return real_write(folder, record)

    monkeypatch.setattr(JournalStore, "_write", staticmethod(watched))
    assert send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message()).accepted
    (record,) = store.records.wait_until(lambda records: len(records) == 1, 10, "the journal")
    assert record.valid and record.verdict
    assert threads and all(name.startswith(WORKER_NAME) for name in threads), threads
