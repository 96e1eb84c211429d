"""The Threat Defense portal over HTTP: its home page's three steps marked from the sandbox's state,
Account Details, and the journals per tenant (list, detail, the raw .eml) with verdict, true sender,
conformance and remediation, in read and in read/write mode; 404s, and no state-changing request."""

from __future__ import annotations

import dataclasses
import http.client
import re
import ssl
from html.parser import HTMLParser

import pytest

from fixtures.console_client import Answer, ConsoleClient
from simulator.console.portal import BUSINESS_PATH, MESSAGES_PATH, UNREADABLE, messages_path
from simulator.console.portal_journals import PAGE_SIZE, READ_MODE_NONE
from simulator.console.render import PORTAL_PATH
from simulator.core.mail.journal_check import described
from simulator.core.mail.samples import Outgoing
from simulator.core.reports.tracking import stamp
from simulator.endpoints.kept import LARGEST_KEPT, StoredFile
from simulator.endpoints.threat_defense import JournalRecord
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.messages import MessageFactory
from simulator.testing.smtp_client import send

DEFAULT, SECOND = "sandbox-tenant@intake.threatdefense.test", "second-tenant@intake.threatdefense.test"
PHISHING = "Please verify your account today"


@pytest.fixture
def tdc_sandbox_settings(
    tdc_sandbox_settings: SandboxSettings, request: pytest.FixtureRequest
) -> SandboxSettings:
    """The console's sandbox (connector disabled); in Threat Defense's read/write mode when a test is
    parametrised with "read-write"."""
    read_write = getattr(request, "param", "read") == "read-write"
    return dataclasses.replace(tdc_sandbox_settings, td_mode="read-write" if read_write else "read")


def enable_and_commit(browser: ConsoleClient, address: str = DEFAULT) -> None:
    assert browser.submit_settings(address=address).status == 303
    assert browser.commit("portal test").status == 303


class _ElementText(HTMLParser):
    """The text inside the element with a given id (its nested elements' text included)."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id, self.tag, self.depth, self.found = element_id, "", 0, False
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth and tag == self.tag:
            self.depth += 1
        elif not self.found and dict(attrs).get("id") == self.element_id:
            self.tag, self.depth, self.found = tag, 1, True

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == self.tag:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(answer: Answer, element_id: str) -> str:
    """The text of the element with `element_id`, white space collapsed."""
    reader = _ElementText(element_id)
    reader.feed(answer.text)
    assert reader.found, f"no element {element_id!r} on {answer.path}"
    return " ".join(" ".join(reader.parts).split())


def raw_get(browser: ConsoleClient, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET `path` with the browser's session: status, headers and the body's exact bytes."""
    connection = http.client.HTTPConnection(browser.host, browser.port, timeout=10)
    try:
        cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        connection.request("GET", path, headers={"Cookie": cookies})
        response = connection.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        connection.close()


def journal_to(sandbox: SandboxFacade, tls: ssl.SSLContext, tenant: str, data: bytes) -> None:
    """A message straight to Threat Defense's intake, over STARTTLS, as a gateway would send a journal."""
    mail = Outgoing("someone@gateway.test", (tenant,), data)
    outcome = send(*sandbox.listener_address("threat_defense"), mail, tls=tls)
    assert outcome.accepted, outcome


def plain(number: int, size: int = 0) -> bytes:
    """A plain message (no journal): what a misconfigured gateway might send."""
    body = f"plain message {number}\r\n" + ("x" * 76 + "\r\n") * -(-size // 78)
    return (f"From: someone@gateway.test\r\nTo: {DEFAULT}\r\nSubject: plain {number}\r\n"
            f"Message-ID: <plain.{number}@gateway.test>\r\n\r\n{body}\r\n").encode()


def test_the_home_page_marks_each_of_the_three_steps_from_the_sandbox_state(browser: ConsoleClient) -> None:
    home = browser.go("GET", PORTAL_PATH)
    assert home.status == 200 and "<h1>Threat Defense Portal</h1>" in home.text
    assert "Read (verdicts only)" in text_of(home, "portal-mode")
    assert DEFAULT in home.text and SECOND in home.text
    marks = [text_of(home, f"step-{n}-mark") for n in (1, 2, 3)]
    assert marks == ["Done", "Not done", "Not done"]
    assert "Get the Message Intake Address" in text_of(home, "step-2")
    assert f'id="step-3-link" href="{PORTAL_PATH}' not in home.text
    assert 'href="/security-services/threat-defense-connector/edit"' in home.text

    browser.submit_settings(address=DEFAULT)
    submitted = browser.go("GET", PORTAL_PATH)
    assert [text_of(submitted, f"step-{n}-mark") for n in (1, 2, 3)] == ["Done", "Done", "Not done"]
    assert f"Submitted, not committed yet: enabled with {DEFAULT} on esa1" in text_of(
        submitted, "step-3-state")
    assert 'id="step-3-link" href="/commit"' in submitted.text

    browser.commit("enable for the portal")
    committed = browser.go("GET", PORTAL_PATH)
    assert [text_of(committed, f"step-{n}-mark") for n in (1, 2, 3)] == ["Done", "Done", "Done"]
    assert text_of(committed, "tenant-1-journals") == "0 journals received"
    assert f"Committed: enabled with {DEFAULT} on esa1" in text_of(committed, "step-3-state")


def test_step_3_needs_a_tenants_address_and_step_1_a_listening_portal(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade
) -> None:
    enable_and_commit(browser, "nobody@elsewhere.test")
    tdc_sandbox.set_faults("threat_defense", "down")
    home = browser.go("GET", PORTAL_PATH)
    assert [text_of(home, f"step-{n}-mark") for n in (1, 2, 3)] == ["Not done", "Not done", "Not done"]
    assert "Threat Defense is down" in text_of(home, "step-1-state")


def test_account_details_shows_each_tenants_intake_address_ready_to_copy(browser: ConsoleClient) -> None:
    business = browser.go("GET", BUSINESS_PATH)
    assert business.status == 200 and "<h1>Business</h1>" in business.text
    assert "Account Details" in business.text
    for index, tenant in enumerate((DEFAULT, SECOND), start=1):
        field = re.search(rf'<input id="intake-address-{index}"[^>]*>', business.text)
        assert field and "readonly" in field.group(0) and f'value="{tenant}"' in field.group(0)
        assert f'<label for="intake-address-{index}">' in business.text
    assert 'href="/static/portal.css"' in business.text


def test_a_phishing_sample_shows_in_the_list_and_detail_and_its_eml_downloads_byte_for_byte(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    enable_and_commit(browser)
    mail = tdc_messages.message(subject=PHISHING)
    tdc_sandbox.send_accepted(mail)
    tdc_sandbox.settle()
    [record] = tdc_sandbox.journals()
    assert record.received_at == tdc_sandbox.clock.now()  # the sandbox's clock, which has not moved
    received = stamp(tdc_sandbox.clock.now())

    assert text_of(browser.go("GET", PORTAL_PATH), "tenant-1-journals") == "1 journal received"
    listed = browser.go("GET", MESSAGES_PATH)
    assert listed.path == messages_path(DEFAULT) and listed.status == 200
    row = text_of(listed, "journal-1")
    assert all(part in row for part in ("Phishing", mail.mail_from, PHISHING, record.sender_ip, "Valid",
                                        READ_MODE_NONE))
    assert record.sender_ip == "127.0.0.1" and received in row

    detail = browser.go("GET", f"{messages_path(DEFAULT)}/1")
    assert text_of(detail, "verdict") == "Phishing" and text_of(detail, "true-sender") == "127.0.0.1"
    assert text_of(detail, "remediation") == READ_MODE_NONE
    assert text_of(detail, "conformance").startswith("Valid")
    assert mail.rcpt_tos[0] in text_of(detail, "report") and text_of(detail, "received-at") == received

    status, headers, body = raw_get(browser, f"{messages_path(DEFAULT)}/1.eml")
    assert status == 200 and body == record.data
    assert headers["Content-Type"] == "message/rfc822"
    assert headers["Content-Disposition"] == 'attachment; filename="sandbox-tenant-1.eml"'
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("tdc_sandbox_settings", ["read-write"], indirect=True)
def test_read_write_mode_shows_the_remediation_taken(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    enable_and_commit(browser)
    tdc_sandbox.send_accepted(tdc_messages.message(subject=PHISHING))
    tdc_sandbox.send_accepted(tdc_messages.message(subject="Lunch on Friday"))
    tdc_sandbox.settle()
    assert [record.remediation for record in tdc_sandbox.journals()] == ["quarantine", ""]

    listed = browser.go("GET", messages_path(DEFAULT))
    assert "Read/Write (verdicts and remediation)" in text_of(listed, "portal-mode")
    assert "Moved to Quarantine" in text_of(listed, "journal-1")
    assert "Neutral" in text_of(listed, "journal-2") and text_of(listed, "journal-2").endswith("None")
    assert text_of(browser.go("GET", f"{messages_path(DEFAULT)}/1"), "remediation") == "Moved to Quarantine"


def test_a_message_that_is_no_journal_shows_each_broken_rule_with_its_description(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    journal_to(tdc_sandbox, tdc_client_tls, SECOND, plain(1))
    [record] = tdc_sandbox.journals()
    rules = described(record.broken_rules)
    assert len(rules) > 5

    listed = browser.go("GET", messages_path(SECOND))
    row = text_of(listed, "journal-1")
    assert f"Breaks {len(rules)} rules" in row and "No verdict" in row and "plain 1" in row
    assert all(f"{rule['rule']} : {rule['description']}" in row for rule in rules)
    detail = browser.go("GET", f"{messages_path(SECOND)}/1")
    assert text_of(detail, "broken-rules") == " ".join(f"{rule['rule']} : {rule['description']}"
                                                      for rule in rules)
    assert "No journals received yet" in browser.go("GET", messages_path(DEFAULT)).text


def test_the_list_pages_newest_first_and_a_large_journal_is_read_from_its_file(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    for number in range(1, PAGE_SIZE + 1):
        journal_to(tdc_sandbox, tdc_client_tls, DEFAULT, plain(number))
    journal_to(tdc_sandbox, tdc_client_tls, DEFAULT, plain(PAGE_SIZE + 1, size=LARGEST_KEPT))
    large: JournalRecord = tdc_sandbox.journals()[-1]
    assert isinstance(large.body, StoredFile)

    first = browser.go("GET", messages_path(DEFAULT))
    numbers = [int(found) for found in re.findall(r'<tr id="journal-(\d+)"', first.text)]
    assert numbers == list(range(PAGE_SIZE + 1, 1, -1))
    assert text_of(first, "page-of") == "Page 1 of 2" and 'id="next-page"' in first.text
    assert f"plain {PAGE_SIZE + 1}" in text_of(first, f"journal-{PAGE_SIZE + 1}")
    second = browser.go("GET", f"{messages_path(DEFAULT)}?page=2")
    assert re.findall(r'<tr id="journal-(\d+)"', second.text) == ["1"] and 'id="previous-page"' in second.text

    status, _, body = raw_get(browser, f"{messages_path(DEFAULT)}/{PAGE_SIZE + 1}.eml")
    assert status == 200 and body == large.data and len(body) > LARGEST_KEPT
    assert text_of(browser.go("GET", f"{messages_path(DEFAULT)}/{PAGE_SIZE + 1}"), "size") == (
        f"{large.body.size} bytes")


def test_a_journal_whose_file_is_gone_is_listed_with_its_findings_and_its_download_is_a_plain_503(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    journal_to(tdc_sandbox, tdc_client_tls, DEFAULT, plain(1, size=LARGEST_KEPT))
    journal_to(tdc_sandbox, tdc_client_tls, DEFAULT, plain(2))
    gone = tdc_sandbox.journals()[0].body
    assert isinstance(gone, StoredFile)
    gone.path.unlink()

    listed = browser.go("GET", messages_path(DEFAULT))
    assert listed.status == 200 and UNREADABLE in text_of(listed, "journal-1")
    assert "Breaks" in text_of(listed, "journal-1") and "plain 2" in text_of(listed, "journal-2")
    assert text_of(browser.go("GET", f"{messages_path(DEFAULT)}/1"), "report") == UNREADABLE
    answer = browser.go("GET", f"{messages_path(DEFAULT)}/1.eml")
    assert answer.status == 503 and text_of(answer, "reason") == UNREADABLE


@pytest.mark.parametrize("path", [
    f"{MESSAGES_PATH}/nobody@intake.threatdefense.test", f"{MESSAGES_PATH}/{DEFAULT}/1",
    f"{MESSAGES_PATH}/{DEFAULT}/1.eml", f"{MESSAGES_PATH}/{DEFAULT}/x", f"{MESSAGES_PATH}/{DEFAULT}?page=2",
    f"{PORTAL_PATH}/settings",
])
def test_an_unknown_tenant_journal_or_page_is_the_plain_404_page(
    shared_browser: ConsoleClient, path: str
) -> None:
    answer = shared_browser.go("GET", path)
    assert answer.status == 404 and 'id="reason"' in answer.text and "Traceback" not in answer.text


def test_a_page_number_that_is_no_number_is_a_plain_400(browser: ConsoleClient) -> None:
    answer = browser.go("GET", f"{messages_path(DEFAULT)}?page=two")
    assert answer.status == 400 and "page must be a number" in text_of(answer, "reason")


def test_the_portal_only_reads_so_it_has_no_form_and_answers_no_post(
    browser: ConsoleClient, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    enable_and_commit(browser)
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    paths = [PORTAL_PATH, BUSINESS_PATH, messages_path(DEFAULT), f"{messages_path(DEFAULT)}/1"]
    for path in paths:
        page = browser.go("GET", path)
        assert re.findall(r'<form method="post" action="([^"]+)"', page.text) == ["/logout"], path
    token = browser.go("GET", PORTAL_PATH).hidden("csrf_token")
    for path in paths:
        assert browser.request("POST", path, {"csrf_token": token}).status == 405
        assert browser.request("POST", path, {}).status == 403
    assert len(tdc_sandbox.journals()) == 1
