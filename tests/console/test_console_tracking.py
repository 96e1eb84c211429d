"""Monitor > Message Tracking over real HTTP against a running sandbox with the connector enabled
(issue 12, BEHAVIOUR.md §7.3): each search field narrows the results, the time range is UTC and
includes its ends, a search finding nothing says "No messages match" (200), the detail is the
admin API's history with the journal copy's `TDC:` events in a column beside the original's, and
bad input is the form with the field's error (422) or the plain 400/404 page, never a traceback.

The tests that only search share one sandbox per module with the three messages sent once (`tracked`):
each takes its turn on it (`SandboxFacade.turn`: it fails if it changed the sandbox or logged a warning);
the test that switches a fault on has its own sandbox (`own_browser`)."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from urllib.parse import urlencode

import pytest

from fixtures.console_client import Answer, ConsoleClient, logged_in_client
from fixtures.shared_sandbox import module_settings, turn_on
from simulator.console.render import TRACKING_PATH as TRACKING
from simulator.console.tracking import NO_MATCH, Event, beside, how_many
from simulator.core.mail.samples import Outgoing
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, shared_by_module
from simulator.testing.messages import MessageFactory
from simulator.testing.plugin import seed_of
from simulator.transport.tls import SandboxTls


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector enabled: every message delivered has a journal copy to track beside it."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=True)


@dataclasses.dataclass(frozen=True)
class Sent:
    mid: int
    mail: Outgoing
    at: datetime

    @property
    def message_id(self) -> str:
        return str(message_from_bytes(self.mail.data)["Message-ID"])


def send_three(sandbox: SandboxFacade, messages: MessageFactory) -> list[Sent]:
    """Three messages an hour apart, each delivered and copied to Threat Defense."""
    sent = []
    for number, subject in enumerate(("Quarterly report", "Lunch on Friday", "Friday lunch menu")):
        if number:
            sandbox.advance(timedelta(hours=1))
        mail = messages.message(subject=subject)
        sent.append(Sent(sandbox.send_accepted(mail), mail, sandbox.clock.now()))
    sandbox.mail_log.wait_for(r"TDC: Message \d+ delivered to ", count=3)
    sandbox.settle()
    return sent


@dataclasses.dataclass(frozen=True)
class Tracked:
    sandbox: SandboxFacade
    sent: list[Sent]


@pytest.fixture(scope="module")
def tracked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls
) -> Iterator[Tracked]:
    """One sandbox (the connector enabled) with the three messages, for the module's tests that only
    search: started and sent to once for the module (its faker seed is the module's `seed_of`, as
    `tdc_seed` is a test's), its `sandbox.json` written for `tdcsim`."""
    settings = module_settings(tmp_path_factory, "tracking", tdc_enabled=True)
    seed = seed_of(request)
    with shared_by_module(settings, tdc_tls) as sandbox:
        sandbox.write_sandbox_json()
        try:
            sent = send_three(sandbox, MessageFactory(seed))
            assert not sandbox.unexpected_warnings(), sandbox.unexpected_warnings()
            yield Tracked(sandbox, sent)
        finally:
            sandbox.remove_sandbox_json()


@pytest.fixture
def sandbox(tracked: Tracked, request: pytest.FixtureRequest) -> Iterator[SandboxFacade]:
    """The shared sandbox for one test's turn: the test fails if it changed it or logged a warning."""
    with turn_on(tracked.sandbox, request):
        yield tracked.sandbox


@pytest.fixture
def three(sandbox: SandboxFacade, tracked: Tracked) -> list[Sent]:
    """The shared sandbox's three messages, an hour apart, each delivered and copied to Threat Defense."""
    return tracked.sent


@pytest.fixture
def browser(sandbox: SandboxFacade) -> ConsoleClient:
    """A client logged in as admin to the shared sandbox (the conftest's logs in to `tdc_sandbox`)."""
    return logged_in_client(sandbox.console_url, sandbox.console_password)


@pytest.fixture
def own_browser(tdc_sandbox: SandboxFacade) -> ConsoleClient:
    """A client logged in as admin to the test's own sandbox, for a test that changes it."""
    return logged_in_client(tdc_sandbox.console_url, tdc_sandbox.console_password)


def search(browser: ConsoleClient, **fields: str) -> Answer:
    return browser.go("GET", f"{TRACKING}?{urlencode(fields)}")


def found_mids(answer: Answer) -> list[int]:
    """The MIDs of the results table, in its order (newest first)."""
    assert answer.status == 200, answer.text
    return [int(mid) for mid in re.findall(r'<tr data-mid="(\d+)"', answer.text)]


def local(at: datetime, seconds: bool = True) -> str:
    """A `datetime-local` field's value for `at` (UTC)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")


def test_the_empty_form_searches_nothing_and_an_empty_search_lists_every_message_newest_first(
    three: list[Sent], browser: ConsoleClient
) -> None:
    form = browser.go("GET", TRACKING)
    assert form.status == 200 and "<h1>Message Tracking</h1>" in form.text
    assert 'id="results"' not in form.text and "Times are UTC (GMT +00:00)" in form.text
    everything = search(browser, sender="")
    assert found_mids(everything) == [sent.mid for sent in reversed(three)]
    assert "3 messages match." in everything.text


def test_each_field_narrows_the_results(three: list[Sent], browser: ConsoleClient) -> None:
    first, second, third = three
    assert found_mids(search(browser, sender=first.mail.mail_from.upper())) == [first.mid]
    assert found_mids(search(browser, recipient=second.mail.rcpt_tos[0])) == [second.mid]
    assert found_mids(search(browser, subject="friday")) == [third.mid, second.mid]
    assert found_mids(search(browser, subject="friday", sender=second.mail.mail_from)) == [second.mid]
    assert found_mids(search(browser, message_id=third.message_id)) == [third.mid]
    assert found_mids(search(browser, mid=str(second.mid))) == [second.mid]
    assert found_mids(search(browser, subject="report", machine="esa1")) == [first.mid]


def test_a_mid_finds_the_original_by_its_journal_copy(
    sandbox: SandboxFacade, three: list[Sent], browser: ConsoleClient
) -> None:
    (created,) = sandbox.mail_log.matching(rf"TDC: Message \d+ created from message {three[1].mid} ")
    copy = re.match(r"TDC: Message (\d+) ", created.text)
    assert copy is not None
    assert found_mids(search(browser, mid=copy[1])) == [three[1].mid]


def test_the_time_range_is_utc_and_includes_both_ends(three: list[Sent], browser: ConsoleClient) -> None:
    first, second, third = three
    assert found_mids(search(browser, since=local(second.at))) == [third.mid, second.mid]
    assert found_mids(search(browser, until=local(second.at))) == [second.mid, first.mid]
    assert found_mids(search(browser, since=local(second.at), until=local(second.at))) == [second.mid]
    minute = second.at.replace(second=0)  # without seconds, the end takes its whole minute
    assert found_mids(search(browser, since=local(minute, False), until=local(minute, False))) == [second.mid]
    start, end = first.at + timedelta(minutes=1), first.at + timedelta(minutes=5)  # between two messages
    assert found_mids(search(browser, since=local(start), until=local(end))) == []


def test_a_search_that_finds_nothing_says_no_messages_match(
    three: list[Sent], browser: ConsoleClient
) -> None:
    answer = search(browser, sender="nobody@nowhere.test")
    assert answer.status == 200 and f'<p id="no-match" role="status">{NO_MATCH}</p>' in answer.text
    assert 'id="results"' not in answer.text
    assert 'value="nobody@nowhere.test"' in answer.text  # the form keeps what was typed


def test_the_detail_is_the_apis_history_with_the_copys_tdc_events_beside_the_original(
    sandbox: SandboxFacade, three: list[Sent], browser: ConsoleClient
) -> None:
    sent = three[0]
    results = search(browser, mid=str(sent.mid))
    link = f"{TRACKING}/esa1/{sent.mid}"
    assert f'href="{link}"' in results.text
    detail = browser.go("GET", link)
    assert detail.status == 200 and f"<h1>Message {sent.mid}</h1>" in detail.text
    history = sandbox.admin_client().get(f"/tracking/{sent.mid}")["history"]
    text = re.search(r'<pre class="seed" id="tracking-text">(.*?)</pre>', detail.text, flags=re.DOTALL)
    assert text is not None and html.unescape(text[1]) == "\n".join(history)  # as `tdcsim tracking`
    rows = re.findall(r'<tr><td class="time">([^<]*)</td><td class="event original">([^<]*)</td>\s*'
                      r'<td class="event copy">([^<]*)</td></tr>', detail.text)
    assert len(rows) == len(history)
    copy_events = [html.unescape(copy) for _, original, copy in rows if copy]
    assert copy_events and all(event.startswith("TDC: Message ") for event in copy_events)
    assert any(" delivered to " in event for event in copy_events)
    originals = [html.unescape(original) for _, original, copy in rows if original]
    assert f"Message {sent.mid} queued for delivery." in originals
    assert not any(event.startswith("TDC: ") for event in originals)
    assert sent.mail.mail_from in detail.text and "Quarterly report" in detail.text
    cli = sandbox.tdcsim("tracking", str(sent.mid))
    assert cli.status == 0 and cli.stdout.strip() == "\n".join(history)


def test_an_unknown_mid_or_machine_is_the_404_page_and_a_bad_mid_the_400_page(
    three: list[Sent], browser: ConsoleClient
) -> None:
    unknown = browser.go("GET", f"{TRACKING}/esa1/999")
    assert unknown.status == 404 and "no message 999 in esa1&#39;s mail log" in unknown.text
    assert browser.go("GET", f"{TRACKING}/esa9/{three[0].mid}").status == 404
    bad = browser.go("GET", f"{TRACKING}/esa1/abc")
    assert bad.status == 400 and "MID must be a whole number" in bad.text
    assert search(browser, machine="esa9").status == 404
    assert browser.go("GET", f"{TRACKING}?machine=esa9").status == 404


@pytest.mark.parametrize(("fields", "field", "error"), [
    ({"mid": "abc"}, "mid", "MID must be a whole number from 1 to 9223372036854775807, not 'abc'"),
    ({"mid": "0"}, "mid", "MID must be a whole number"),
    ({"since": "yesterday"}, "since", "From: not a date and time such as 2022-08-17T05:52 (UTC)"),
    ({"until": "2022-02-30T10:00"}, "until", "To: no such date and time"),
    ({"since": "2022-08-17T10:00", "until": "2022-08-17T09:00"}, "until", "To: earlier than From"),
    ({"subject": "x" * 256}, "subject", "subject: at most 255 characters, not 256"),
    ({"sender": "x" * 255}, "sender", "sender: at most 254 characters, not 255"),
    ({"since": "2022-08-17T10:00:00.000000000"}, "since", "From: at most 19 characters"),
])
def test_a_bad_field_is_the_form_again_with_its_error_and_nothing_searched(
    three: list[Sent], browser: ConsoleClient, fields: dict[str, str], field: str, error: str
) -> None:
    answer = search(browser, **fields)
    assert answer.status == 422 and "Traceback" not in answer.text
    shown = re.search(rf'<span class="field-error" id="search-{field}-error">([^<]*)</span>', answer.text)
    assert shown is not None and error in html.unescape(shown[1])
    assert 'id="results"' not in answer.text and 'id="no-match"' not in answer.text


def test_a_copy_failing_tls_shows_its_failure_beside_the_delivered_original(
    tdc_sandbox: SandboxFacade, own_browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.expect_warning("TDC: ")
    tdc_sandbox.set_faults("threat_defense", "untrusted-cert")
    mid = tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.mail_log.wait_for(r"TDC: Message \d+ delivery failed to ")
    tdc_sandbox.settle()
    detail = own_browser.go("GET", f"{TRACKING}/esa1/{mid}").text
    copies, originals = column(detail, "copy"), column(detail, "original")
    failed = r"TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense: .+\."
    assert any(re.fullmatch(failed, event) for event in copies), copies
    assert any("received remote SMTP response" in event for event in originals)


def column(detail: str, name: str) -> list[str]:
    """The events of the detail's column `original` or `copy`, in order, empty cells left out."""
    return [html.unescape(event) for event in re.findall(rf'<td class="event {name}">([^<]+)</td>', detail)]


FAILED = "TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: TLS Error."


def test_beside_puts_each_copys_tdc_event_in_the_copy_column_and_the_rest_in_the_original() -> None:
    history = ["17 Aug 2022 05:52:04 (GMT +00:00) Message 3 queued for delivery.",
               "17 Aug 2022 05:52:04 (GMT +00:00) TDC: Message 4 created from message 3 for t@intake.test.",
               "17 Aug 2022 05:52:05 (GMT +00:00) TDC: Message 3 is no copy of its own.",
               f"17 Aug 2022 05:52:06 (GMT +00:00) {FAILED}"]
    events, copies = beside(history, 3)
    assert copies == [4]
    assert [(event.original != "", event.copy != "") for event in events] == [
        (True, False), (False, True), (True, False), (False, True)]
    assert events[3] == Event("17 Aug 2022 05:52:06 (GMT +00:00)", copy=FAILED)
    assert beside(history[:1], 3) == ([Event("17 Aug 2022 05:52:04 (GMT +00:00)",
                                             original="Message 3 queued for delivery.")], [])


def test_the_count_says_when_only_the_newest_matches_are_shown() -> None:
    assert [how_many(1, 1), how_many(3, 3), how_many(812, 500)] == [
        "1 message matches.", "3 messages match.", "The newest 500 of 812 messages that match."]
