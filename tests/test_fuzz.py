"""The fuzz suite (issue 9): a seconds-long seeded run in `make test`, and the fuzzer's own parts.

The run has the criteria of `make fuzz`: no internal-error reply, no dead worker, every legitimate
message delivered and journaled, the sandbox alive and stopped cleanly. The other tests show that the
generator covers what issue 9 lists and that each criterion can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fuzz import judge
from fuzz.campaign import Campaign
from fuzz.child import Child, Tail
from fuzz.owners import Owners
from fuzz.run import main
from fuzz.sessions import session
from fuzz.wire import Exchange, Transcript

SESSIONS = 200


def test_a_seeded_run_of_200_sessions_finds_nothing(
    tdc_seed: int, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--sessions", str(SESSIONS), "--seed", str(tdc_seed)])
    printed = capsys.readouterr()
    assert status == 0, printed.out + printed.err
    assert f"fuzz: {SESSIONS} sessions (seed {tdc_seed}), 20 legitimate messages" in printed.out


def test_a_session_is_a_function_of_its_seed_and_index() -> None:
    assert session(7, 42) == session(7, 42)
    assert session(7, 42) != session(8, 42)
    assert session(7, 42) != session(7, 43)


WANTED = {  # what issue 9 asks the sessions to contain, as a pattern over the bytes sent
    "mixed case": rb"(?m)^(?=[a-zA-Z]*[a-z])(?=[a-zA-Z]*[A-Z])(?!Mail\b)[a-zA-Z]{4} ",
    "overlong line": rb"[^\n]{2000}",
    "bare LF": rb"[^\r]\n",
    "CR in an address": rb"(?i)(?:MAIL FROM|RCPT TO):<[^>\n]*\r[^\n]",
    "quoted local part": rb'(?i)(?:MAIL FROM|RCPT TO):<"',
    "non-ASCII with SMTPUTF8": rb"(?i)MAIL FROM:<[^>\r\n]*[\x80-\xff][^\r\n]*SMTPUTF8",
    "non-ASCII without SMTPUTF8": rb"(?i)MAIL FROM:<[^>\r\n]*[\xc3-\xe4][\x80-\xbf][^\r\n]*>\r\n",
    "invalid UTF-8": rb"\xff\xfe",
    "NUL, ESC and BEL": rb"\x00[\s\S]*\x1b[\s\S]*\x07",
    "MAIL FROM:<": rb"(?i)MAIL FROM:<\r\n",
    "pipelined commands": rb"(?i)MAIL FROM:[^\n]*\nRCPT TO:[^\n]*\n",
    "dot-stuffing": rb"\r\n\.\.",
    "SMTP smuggling": rb"\n\.\r\nMAIL FROM",
    "STARTTLS in a transaction": rb"(?i)RCPT TO:[^\n]*\nSTARTTLS\r\n",
    "AUTH junk": rb"(?i)AUTH PLAIN !!!",
    "huge line in DATA": rb"L{70000}",
}


def test_the_sessions_contain_every_hostile_form_issue_9_lists() -> None:
    sessions = [session(1, index) for index in range(2000)]
    sent = [b"".join(step.data for step in fuzzed.steps) for fuzzed in sessions]
    missing = [name for name, pattern in WANTED.items() if not any(re.search(pattern, s) for s in sent)]
    assert missing == []
    endings = {step.action for fuzzed in sessions for step in fuzzed.steps}
    assert endings == {"send", "close", "abort"}
    assert {fuzzed.target for fuzzed in sessions} == {"inbound", "relay", "threat_defense", "mailbox"}
    mid_data = [f for f in sessions if len(f.steps) > 2 and f.steps[-1].action != "send"
                and f.steps[-3].data.upper().endswith(b"DATA\r\n")]
    assert mid_data, "no session hangs up in the middle of DATA"


@pytest.mark.parametrize("reply", [
    b"500 Error: (IndexError) string index out of range",
    b"500 Error: (OSError) [Errno 28] No space left on device",
    b"451 4.3.0 AttributeError: 'NoneType' object has no attribute 'x'",
    b"250-ok\r\n250 Traceback (most recent call last):",
    b"554 UnicodeEncodeError",
])
def test_internal_error_text_in_a_reply_is_a_failure(reply: bytes) -> None:
    assert judge.internal_reply(Exchange(b"MAIL FROM:<\r\n", reply[:3].decode(), reply)) is not None


@pytest.mark.parametrize("reply", [
    b"500 Error: bad syntax", b'500 Error: command "XERROR" not recognized', b"451 4.3.0 Internal error",
    b"501 5.1.7 Bad sender address syntax", b"552 5.3.4 Message size exceeds fixed maximum message size",
    b"500 Command line too long",
])
def test_the_servers_own_error_replies_are_not(reply: bytes) -> None:
    assert judge.internal_reply(Exchange(b"MAIL FROM:<\r\n", reply[:3].decode(), reply)) is None


def test_stderr_alarms_are_classed_by_their_last_exception() -> None:
    stderr = ("Task exception was never retrieved\nfuture: <Task finished name='Task-9' coro=<x()>>\n"
              "Traceback (most recent call last):\n  File \"a.py\", line 3, in x\n"
              "OSError: [Errno 28] No space left on device\nnothing else\n")
    findings = judge.stderr_findings(stderr)
    assert [f.kind for f in findings] == [
        "stderr: Task exception was never retrieved: OSError: [Errno N] No space left on device"]


def test_a_dead_worker_line_fails_and_other_critical_lines_are_shown() -> None:
    dead, other = judge.log_findings([
        "Wed Aug 17 05:52:04 2022 Critical: delivery worker 3 of example.com died: KeyError('x')",
        "Wed Aug 17 05:52:04 2022 Critical: MID 7 internal error: KeyError('x'); parked",
        "Wed Aug 17 05:52:04 2022 Critical: Delivery worker of example.com internal error: KeyError('x')",
        "Wed Aug 17 05:52:04 2022 Info: MID 7 queued for delivery",
    ])
    assert [f.kind for f in dead] == [
        "mail log: dead worker: delivery worker N of example.com died: KeyError(…)"]
    assert [f.kind for f in other] == ["mail log: Critical: MID N internal error: KeyError(…); parked",
                                       "mail log: Critical: Delivery worker of example.com internal error: "
                                       "KeyError(…)"]


def test_a_tail_follows_a_rolled_over_log(tmp_path: Path) -> None:
    log = tmp_path / "mail.current"
    log.write_text("one\n")
    tail = Tail(log)
    assert tail.new() == "one\n"
    with log.open("a") as file:
        file.write("two\n")
    log.rename(tmp_path / "mail.@20220817T055204.s")
    log.write_text("three\n")
    assert tail.new() == "two\nthree\n"


def test_a_legitimate_message_that_is_not_delivered_fails_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    # the settle wait only bounds a delivery that never comes (the mailbox is down)
    status = main(["--sessions", "2", "--settle", "0.25", "--", "--mailbox-fault", "down"])
    printed = capsys.readouterr().out
    assert status == 1
    assert "legitimate message not delivered to the mailbox: 1 time(s)" in printed


def test_a_sandbox_that_dies_fails_the_run(tmp_path: Path) -> None:
    child = Child(tmp_path / "data", [])
    child.start()
    child.kill()
    outcome = Campaign(child, seed=1).run([0])
    assert list(outcome.failures) == ["the sandbox died"]


def test_a_log_line_is_pinned_to_the_session_whose_connection_it_names() -> None:
    first, second = (Transcript(session(1, index)) for index in (3, 4))
    owners = Owners()
    for made in (first, None, second):
        owners.connected(made)
    owners.read(["Info: New SMTP ICID 7 interface esa1 public", "Info: New SMTP ICID 8 interface x",
                 "Info: New SMTP ICID 9 interface x", "Info: Start MID 20 ICID 9",
                 "Info: MID 20 was split creating MID 21 due to a per-recipient policy",
                 "Info: TDC: Message 22 created from message 21 for x@y."])
    assert owners.owner("Critical: ICID 7 internal error") == (True, first)
    assert owners.owner("Critical: ICID 8 internal error") == (True, None)  # a legitimate message's
    assert owners.owner("Critical: MID 22 to RID [0] internal error") == (True, second)
    assert owners.owner("Critical: MID 99 internal error") == (False, None)


def test_an_endpoints_report_of_a_bug_it_answered_is_shown() -> None:
    stderr = ("MailboxHandler answered 451 4.3.0 Internal error, try again later: "
              "AttributeError(\"'NoneType' object has no attribute '_write_appdata'\")\n")
    assert [f.kind for f in judge.stderr_reports(stderr)] == [
        "stderr: MailboxHandler answered 451: AttributeError(…)"]
    assert judge.stderr_findings(stderr) == []


def test_a_critical_line_is_classed_without_its_traceback_but_with_the_function_that_raised() -> None:
    _, other = judge.log_findings([
        "Mon Nov 30 07:47:10 2026 Critical: ICID 3 internal error: TLSSetupException(); answered 451; "
        'Traceback (most recent call last): | File "smtp.py", line 936, in smtp_STARTTLS | await waiter |'
        ' File "x.py", line 5, in push | raise TLSSetupException()'])
    assert [f.kind for f in other] == [
        "mail log: Critical: ICID N internal error: TLSSetupException(); answered N (in push)"]


class ScriptedChild:
    """A child whose mail log gains `batches`, one per read (then nothing), and that stays alive."""

    def __init__(self, batches: list[list[str]]) -> None:
        self.batches = batches
        self.mail_log = self

    def new(self) -> str:
        return "".join(f"{line}\n" for line in self.batches.pop(0)) if self.batches else ""

    def exit_status(self) -> None:
        return None


def test_after_a_gateway_session_hangs_up_the_log_is_read_until_its_icid_closes() -> None:
    """What the server logs while handling the hang-up is pinned to the session: reading stops at
    this session's `ICID n close`, not at another connection's, and not before it comes."""
    hung_up = Transcript(session(1, 5), connected=True)  # inbound, ends with an abort
    assert hung_up.session.target == "inbound" and hung_up.session.steps[-1].action == "abort"
    child = ScriptedChild([["Info: New SMTP ICID 4 interface x"], ["Info: New SMTP ICID 5 interface x"],
                           [], ["Info: ICID 4 close"], ["Info: Incoming connection (ICID 5) lost.",
                                                        "Info: ICID 5 close"], ["Info: ICID 6 later"]])
    campaign = Campaign(child, seed=1)  # type: ignore[arg-type]
    campaign.owners.connected(None)  # a legitimate message's connection, ICID 4
    campaign.owners.connected(hung_up)
    lines = campaign.hang_up_handled(hung_up)
    assert lines[-2:] == ["Info: Incoming connection (ICID 5) lost.", "Info: ICID 5 close"]
    assert child.batches == [["Info: ICID 6 later"]]
