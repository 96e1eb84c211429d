"""System > Mail Log over real HTTP (issue 12): the filtered last lines rendered by the server, the live
tail as server-sent events read by a raw HTTP reader with the session cookie, the login it needs, bad
filters, and a sandbox that stops at once with a stream still open."""

from __future__ import annotations

import dataclasses
import html
import http.client
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from fixtures.console_client import Answer, ConsoleClient
from simulator.console import live_tail
from simulator.console.render import MAIL_LOG_PATH
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, running
from simulator.testing.messages import MessageFactory
from simulator.testing.smtp_client import send
from simulator.transport.tls import SandboxTls

EVENTS_PATH = f"{MAIL_LOG_PATH}/events"
READ_TIMEOUT = 10.0
LINE = re.compile(r"<li>(.*?)</li>", re.S)


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector enabled, so that messages have copies and the log `TDC:` lines."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=True)


def shown_lines(answer: Answer) -> list[str]:
    """The log lines the page lists, as text."""
    listed = answer.text.split('id="log-lines"', 1)
    assert len(listed) == 2, f"no log list on {answer.path} ({answer.status})"
    return [html.unescape(item) for item in LINE.findall(listed[1].split("</ol>", 1)[0])]


def log_page(browser: ConsoleClient, **query: str) -> Answer:
    return browser.go("GET", f"{MAIL_LOG_PATH}?{urlencode(query)}")


def sent_and_copied(sandbox: SandboxFacade, messages: MessageFactory) -> tuple[int, int]:
    """Send a message, let it and its copy be delivered: (its MID, its copy's MID)."""
    mid = sandbox.send_accepted(messages.message())
    sandbox.settle()
    (created,) = sandbox.mail_log.matching(rf"^TDC: Message \d+ created from message {mid} ")
    return mid, int(created.text.split()[2])


def number_after(sandbox: SandboxFacade, pattern: str) -> int:
    (found,) = [re.search(pattern, line.text) for line in sandbox.mail_log.lines()
                if re.search(pattern, line.text)]
    assert found is not None
    return int(found.group(1))


class EventStream:
    """The live tail as a script reads it: one GET with the session's cookie, then event by event."""

    def __init__(self, client: ConsoleClient, query: dict[str, str], resume: str | None = None) -> None:
        """`resume`: the `Last-Event-ID` a reconnecting browser sends."""
        self.connection = http.client.HTTPConnection(client.host, client.port, timeout=READ_TIMEOUT)
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        self.connection.request("GET", f"{EVENTS_PATH}?{urlencode(query)}",
                                headers=headers if resume is None else {**headers, "Last-Event-ID": resume})
        self.response = self.connection.getresponse()

    def next_id(self) -> int:
        """The next `id` the stream sends (what a browser would send back on reconnecting)."""
        while not (raw := self.response.readline()).startswith(b"id: "):
            if not raw:
                raise EOFError("the stream ended")
        return int(raw[4:])

    def next_event(self) -> tuple[str, str]:
        """(name, data) of the next event ("message" unless named); comments are skipped."""
        name, data = "message", ""
        while True:
            raw = self.response.readline()
            if not raw:
                raise EOFError("the stream ended")
            text = raw.decode("utf-8").rstrip("\r\n")
            if not text and data:
                return name, data
            field, _, value = text.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value

    def until(self, found: Callable[[str], bool]) -> list[tuple[str, str]]:
        """Every event up to the first whose data `found` accepts."""
        events = [self.next_event()]
        while not found(events[-1][1]):
            events.append(self.next_event())
        return events

    def close(self) -> None:
        self.connection.close()


def test_the_page_shows_the_last_lines_filtered_by_mid_icid_dcid_and_tdc(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    first, first_copy = sent_and_copied(tdc_sandbox, tdc_messages)
    second, _ = sent_and_copied(tdc_sandbox, tdc_messages)
    everything = shown_lines(log_page(browser))
    assert any(f"Start MID {first} " in line for line in everything)
    assert any(f"Start MID {second} " in line for line in everything)

    by_mid = shown_lines(log_page(browser, mid=str(first)))
    first_icid = number_after(tdc_sandbox, rf"^Start MID {first} ICID (\d+)")
    assert any(line.endswith(f"Info: Start MID {first} ICID {first_icid}") for line in by_mid)
    assert any(f"TDC: Message {first_copy} created from message {first} " in line for line in by_mid)
    assert not any(f"MID {second} " in line for line in by_mid)

    icid = number_after(tdc_sandbox, rf"^Start MID {second} ICID (\d+)")
    by_icid = shown_lines(log_page(browser, icid=str(icid)))
    assert by_icid and all(re.search(rf"\bICID {icid}\b", line) for line in by_icid)
    assert any(f"New SMTP ICID {icid} " in line for line in by_icid)

    dcid = number_after(tdc_sandbox, rf"^Delivery start DCID (\d+) MID {first} ")
    by_dcid = shown_lines(log_page(browser, dcid=str(dcid)))
    assert any(line.endswith(f"Info: DCID {dcid} close") for line in by_dcid)
    assert all(re.search(rf"\bDCID {dcid}\b", line) for line in by_dcid)

    tdc_only = log_page(browser, tdc="on")
    assert 'id="tdc" name="tdc" value="on" checked' in tdc_only.text
    assert [line.split("Info: ", 1)[1].split()[:3] for line in shown_lines(tdc_only)][:1] == [
        ["TDC:", "Message", str(first_copy)]]
    assert all(" Info: TDC: " in line for line in shown_lines(tdc_only))
    assert len(shown_lines(log_page(browser, lines="2"))) == 2


def test_the_live_tail_sends_each_new_matching_line_and_no_other(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    before, _ = sent_and_copied(tdc_sandbox, tdc_messages)  # logged before the stream opens: not sent
    stream = EventStream(browser, {"tdc": "on"})
    try:
        assert stream.response.status == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        mid = tdc_sandbox.send_accepted(tdc_messages.message())
        events = stream.until(lambda data: " delivered to Cisco Secure Email Threat Defense." in data)
    finally:
        stream.close()
    texts = [data.split(" Info: ", 1)[1] for _, data in events]
    copy = int(texts[0].split()[2])
    assert texts == [f"TDC: Message {copy} created from message {mid} for "
                     f"{tdc_sandbox.sandbox.tenants()[0]}.",
                     f"TDC: Message {copy} queued for delivery to Cisco Secure Email Threat Defense.",
                     f"TDC: Message {copy} delivered to Cisco Secure Email Threat Defense."]
    assert {name for name, _ in events} == {"message"}
    assert tdc_sandbox.mail_log.matching(rf"^Start MID {mid} ICID ")  # logged, yet not sent: no TDC: line
    assert mid != before


def test_the_live_tail_of_one_mid_leaves_out_other_messages(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    """The stream opens before the message exists: filtered on the MID it will get (MIDs count up)."""
    last, _ = sent_and_copied(tdc_sandbox, tdc_messages)
    awaited = last + 2  # the next message's MID: the one after the copy of the last one
    stream = EventStream(browser, {"mid": str(awaited)})
    try:
        mid = tdc_sandbox.send_accepted(tdc_messages.message())
        assert mid == awaited
        events = stream.until(lambda data: data.endswith(f"Message finished MID {mid} done"))
    finally:
        stream.close()
    assert all(f"MID {mid} " in data or f"message {mid} " in data or data.endswith(f"MID {mid} done")
               for _, data in events)
    assert not [data for _, data in events if "New SMTP ICID" in data]  # its connection: no MID named
    assert any(f"Start MID {mid} ICID" in data for _, data in events)


def events_query(page: Answer) -> dict[str, str]:
    """The query of the page's live tail (the address its script opens)."""
    found = re.search(r'data-events="([^"]+)"', page.text)
    assert found is not None, "no live tail on the page"
    return dict(parse_qsl(urlsplit(html.unescape(found[1])).query))


def logged_after(sandbox: SandboxFacade, number: int, last: str) -> list[str]:
    """The lines logged after line `number`, up to the first whose text is `last`."""
    lines = [line for line in sandbox.mail_log.lines() if line.number > number]
    end = next(index for index, line in enumerate(lines) if line.text == last)
    return [str(line) for line in lines[:end + 1]]


def until_finished(stream: EventStream, mid: int) -> tuple[str, list[tuple[str, str]]]:
    """The events `stream` sends up to MID `mid`'s `Message finished` line (then closed), and that line."""
    finished = f"Message finished MID {mid} done"
    try:
        return finished, stream.until(lambda data: data.endswith(finished))
    finally:
        stream.close()


def test_a_pages_live_tail_sends_every_line_logged_after_the_page_read_the_log(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    """The page hands its stream the newest line it read: what is logged before the stream opens is
    sent too, and nothing the page already shows."""
    sent_and_copied(tdc_sandbox, tdc_messages)
    query = events_query(log_page(browser))
    read = tdc_sandbox.mail_log.lines()[-1].number
    assert query == {"machine": "esa1", "since": str(read)}
    mid, _ = sent_and_copied(tdc_sandbox, tdc_messages)  # logged after the page, before its stream opens
    finished, events = until_finished(EventStream(browser, query), mid)
    assert [data for _, data in events] == logged_after(tdc_sandbox, read, finished)


def test_a_reconnecting_browser_goes_on_after_the_last_line_it_was_sent(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    stream = EventStream(browser, {})
    try:
        mid, _ = sent_and_copied(tdc_sandbox, tdc_messages)
        stream.until(lambda data: data.endswith(f"Message finished MID {mid} done"))
        resume = stream.next_id()
    finally:
        stream.close()
    assert resume >= tdc_sandbox.mail_log.matching(f"^Message finished MID {mid} done$")[0].number
    again, _ = sent_and_copied(tdc_sandbox, tdc_messages)  # logged while the browser was away
    resumed = EventStream(browser, {"since": "0"}, resume=str(resume))  # the header wins over `since`
    finished, events = until_finished(resumed, again)
    assert [data for _, data in events] == logged_after(tdc_sandbox, resume, finished)


@pytest.mark.bad_input
@pytest.mark.parametrize(("query", "resume", "said"), [
    ({"since": "x"}, None, "since must be a whole number from 0 to "),
    ({"since": "-3"}, None, "since must be a whole number from 0 to "),
    ({"since": "9" * 40}, None, "since must be a whole number from 0 to "),
    ({}, "7a", "Last-Event-ID must be a whole number from 0 to "),
])
def test_a_stream_start_that_is_no_line_number_is_a_plain_400(
    shared_browser: ConsoleClient, query: dict[str, str], resume: str | None, said: str
) -> None:
    stream = EventStream(shared_browser, query, resume)
    try:
        assert stream.response.status == 400
        assert said in html.unescape(stream.response.read().decode())
    finally:
        stream.close()


def test_without_a_session_the_page_and_its_stream_send_to_the_login_page(tdc_sandbox: SandboxFacade) -> None:
    stranger = ConsoleClient(tdc_sandbox.console_url)
    for path in (f"{MAIL_LOG_PATH}?tdc=on", f"{EVENTS_PATH}?tdc=on"):
        answer = stranger.request("GET", path)
        assert answer.status == 303
        assert answer.headers["Location"].startswith("/login?next=/system/mail-log")
        assert "text/event-stream" not in answer.headers.get("Content-Type", "")


@pytest.mark.bad_input
@pytest.mark.parametrize(("field", "typed"), [("mid", "abc"), ("icid", "-1"), ("dcid", "9" * 300),
                                              ("lines", "100000")])
def test_a_bad_filter_is_the_form_again_with_the_fields_error(
    shared_browser: ConsoleClient, field: str, typed: str
) -> None:
    answer = log_page(shared_browser, **{field: typed})
    assert answer.status == 422
    assert f'id="{field}" name="{field}"' in answer.text and 'aria-invalid="true"' in answer.text
    label = {"mid": "MID", "icid": "ICID", "dcid": "DCID", "lines": "lines"}[field]
    assert f'id="{field}-error">{label} must be a whole number from 1 to ' in answer.text
    assert 'id="log-lines"' not in answer.text and "Traceback" not in answer.text
    stream = shared_browser.request("GET", f"{EVENTS_PATH}?{urlencode({field: typed})}")
    assert stream.status == 400 and f"{label} must be a whole number" in html.unescape(stream.text)


def test_an_unknown_machine_is_the_plain_404_page(browser: ConsoleClient) -> None:
    for path in (MAIL_LOG_PATH, EVENTS_PATH):
        answer = browser.go("GET", f"{path}?machine=esa9")
        assert answer.status == 404 and "unknown machine &#39;esa9&#39;" in answer.text


def test_a_sandbox_stops_at_once_with_a_stream_open(
    tdc_sandbox_settings: SandboxSettings, tdc_tls: SandboxTls
) -> None:
    with running(tdc_sandbox_settings, tdc_tls) as sandbox:
        client = ConsoleClient(sandbox.console_url)
        assert client.log_in(sandbox.console_password).status == 200
        stream = EventStream(client, {})
        assert stream.response.status == 200
        started = time.monotonic()
    stopped = time.monotonic() - started
    try:
        name, data = stream.next_event()
        assert (name, data) == ("end", "The console is stopping: the live tail ended.")
        with pytest.raises(EOFError):
            stream.next_event()
    finally:
        stream.close()
    assert stopped < 3.0, f"the sandbox took {stopped:.1f}s to stop with a live tail open"


def test_logging_out_ends_the_live_tails_of_that_session(browser: ConsoleClient) -> None:
    stream = EventStream(browser, {})
    try:
        assert stream.response.status == 200
        page = browser.go("GET", MAIL_LOG_PATH)
        assert browser.go("POST", "/logout", {"csrf_token": page.hidden("csrf_token")}).path == "/login"
        with pytest.raises(EOFError):
            stream.next_event()  # within a poll, the stream ends; no more lines reach a logged-out page
    finally:
        stream.close()


@pytest.mark.bad_input
def test_live_tails_past_the_bound_are_refused_with_a_plain_page(
    browser: ConsoleClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_tail, "MOST_STREAMS", 1)
    first = EventStream(browser, {})
    try:
        assert first.response.status == 200
        refused = browser.request("GET", EVENTS_PATH)
        assert refused.status == 503 and "At most 1 live tails can be open at once" in refused.text
    finally:
        first.close()


def test_the_machine_chosen_is_the_log_shown_and_followed(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_sandbox_settings: SandboxSettings,
    tdc_messages: MessageFactory
) -> None:
    sandbox = tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, machines=2))
    client = ConsoleClient(sandbox.console_url)
    assert client.log_in(sandbox.console_password).status == 200
    stream = EventStream(client, {"machine": "esa2"})
    try:
        outcome = send(*sandbox.listener_address("inbound", "esa2"), tdc_messages.message())
        assert outcome.accepted and outcome.mid is not None
        _, first = stream.next_event()
        assert re.search(r"Info: New SMTP ICID \d+ ", first)
        sandbox.settle()
    finally:
        stream.close()
    page = client.go("GET", f"{MAIL_LOG_PATH}?machine=esa2")
    assert '<option value="esa2" selected>' in page.text
    assert any(f"Start MID {outcome.mid} " in line for line in shown_lines(page))
    first_machine = client.go("GET", f"{MAIL_LOG_PATH}?machine=esa1")
    assert not any("Start MID" in line for line in shown_lines(first_machine))
