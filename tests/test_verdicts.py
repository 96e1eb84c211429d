"""Threat Defense's verdicts, remediation choices and true sender (pure, BEHAVIOUR.md §8.5-8.6)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest

from simulator.core.mail.inspection import inspect
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal
from simulator.core.mail.scanning import EICAR, GTUBE
from simulator.core.mail.td_analysis import analyse
from simulator.core.mail.verdicts import EXECUTABLE, REMEDIATION, verdict_of

ADDRESSING = JournalAddressing("tdc-journal@esa1.sandbox.test", "t@intake.td.test", "esa1.sandbox.test")


def original(subject: str = "hello", body: str = "nothing special\r\n", extra: str = "") -> bytes:
    return (f"Received: from [127.0.0.1] by esa1;\r\n date\r\nX-IronPort-RemoteIP: 198.51.100.7\r\n"
            f"From: a@outside.test\r\nTo: bob@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <v1@outside.test>\r\n{extra}\r\n{body}").encode()


def journal(delivered: bytes, recipients: tuple[str, ...] = ("bob@example.com",)) -> bytes:
    source = JournalSource(3, "a@outside.test", recipients, "hello", "<v1@outside.test>", delivered)
    return build_journal(source, ADDRESSING, 4, datetime(2022, 8, 17, 5, 52, tzinfo=UTC))


@pytest.mark.parametrize(
    ("message", "verdict"),
    [
        (original(body=EICAR.decode() + "\r\n"), "Malicious"),
        (original(extra='Content-Type: application/octet-stream; name="x"\r\n'
                        'Content-Disposition: attachment; filename="invoice.exe"\r\n'), "Malicious"),
        (original(subject="Please verify your account today"), "Phishing"),
        (original(body="Kindly arrange a wire transfer before noon.\r\n"), "BEC"),
        (original(subject="You have won a prize"), "Scam"),
        (original(body=GTUBE.decode() + "\r\n"), "Spam"),
        (original(extra="List-Unsubscribe: <mailto:u@list.test>\r\n"), "Graymail"),
        (original(), "Neutral"),
    ],
)
def test_each_verdict_has_content_that_earns_it(message: bytes, verdict: str) -> None:
    assert verdict_of(inspect(message)) == verdict


#: The verdicts from the most to the least severe (README "Verdicts"), each with content earning it:
#: (subject, body, extra headers).
BY_SEVERITY = {
    "Malicious": ("", EICAR.decode() + "\r\n", ""),
    "Phishing": ("Please verify your account", "", ""),
    "BEC": ("", "Kindly arrange a wire transfer.\r\n", ""),
    "Scam": ("You have won", "", ""),
    "Spam": ("", GTUBE.decode() + "\r\n", ""),
    "Graymail": ("", "", "List-Unsubscribe: <mailto:u@list.test>\r\n"),
}
PAIRS = list(itertools.combinations(BY_SEVERITY, 2))  # (more severe, milder)


@pytest.mark.parametrize(("severe", "milder"), PAIRS, ids=[f"{a}-over-{b}" for a, b in PAIRS])
def test_a_message_earning_two_verdicts_gets_the_more_severe(severe: str, milder: str) -> None:
    subjects, bodies, headers = zip(BY_SEVERITY[milder], BY_SEVERITY[severe], strict=True)  # milder first
    both = original(subject=" ".join(subjects), body="".join(bodies), extra="".join(headers))
    assert verdict_of(inspect(both)) == severe


def test_only_ascii_letters_match_filename_in_a_latin_1_reading() -> None:
    """Why `verdicts` searches for `EXECUTABLE` only where `filename` is written in ASCII: no other
    latin-1 character matches its letters case-insensitively (Unicode folds some, e.g. U+0130)."""
    matching = {chr(code) for code in range(256) if re.fullmatch("[filenam]", chr(code), re.IGNORECASE)}
    assert matching == set("filenamFILENAM")
    assert EXECUTABLE.pattern.startswith("filename")


@pytest.mark.parametrize("spelling", ["filename", "FileName", "FILENAME"])
def test_an_executable_is_found_whatever_the_case_of_filename(spelling: str) -> None:
    extra = f'Content-Disposition: attachment; {spelling}="Invoice.EXE"\r\n'
    assert verdict_of(inspect(original(extra=extra))) == "Malicious"
    assert verdict_of(inspect(original(extra=extra.replace(spelling, "fil\u00e9name")))) == "Neutral"


def test_every_verdict_has_a_remediation_choice() -> None:
    assert set(REMEDIATION) == {"BEC", "Scam", "Phishing", "Malicious", "Spam", "Graymail", "Neutral"}


def test_the_true_sender_comes_from_the_gateways_header_else_the_connection() -> None:
    assert analyse(journal(original()), "127.0.0.1").sender_ip == "198.51.100.7"
    plain = original().replace(b"X-IronPort-RemoteIP: 198.51.100.7\r\n", b"")
    assert analyse(journal(plain), "127.0.0.1").sender_ip == "127.0.0.1"


def test_read_mode_records_the_verdict_and_touches_nothing() -> None:
    analysis = analyse(journal(original(subject="verify your account")), "127.0.0.1", remediate=None)
    assert (analysis.verdict, analysis.remediation, analysis.remediated) == ("Phishing", "", ())


def test_read_write_mode_remediates_every_envelope_recipient() -> None:
    moves: list[tuple[str, str, str]] = []
    message = original(subject="verify your account")
    analysis = analyse(journal(message, ("bob@example.com", "carol@example.com")), "127.0.0.1",
                       remediate=lambda *move: moves.append(move))
    assert analysis.remediation == "quarantine"
    assert moves == [("bob@example.com", "<v1@outside.test>", ".Quarantine"),
                     ("carol@example.com", "<v1@outside.test>", ".Quarantine")]


def test_a_neutral_message_is_left_alone_even_in_read_write_mode() -> None:
    moves: list[object] = []
    assert analyse(journal(original()), "127.0.0.1", remediate=lambda *m: moves.append(m)).remediation == ""
    assert moves == []


def test_a_journal_without_an_original_has_no_verdict() -> None:
    assert analyse(b"Subject: not a journal\r\n\r\nhi\r\n", "10.0.0.1").verdict == ""
