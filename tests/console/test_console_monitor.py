"""Monitor > Delivery Status over real HTTP against a running sandbox (issue 12, BEHAVIOUR.md §6):
every machine's destinations with the.tdc.queue always among them and the counters the admin API
gives, the.tdc.queue's row while Threat Defense fails, tophosts for a chosen machine sorted by each
counter, the machine-mode rule explained, and a bad sort or machine answered with the API's words."""

from __future__ import annotations

import dataclasses
import html
from html.parser import HTMLParser
from typing import Any

import pytest

from fixtures.console_client import ConsoleClient
from simulator.console.render import DELIVERY_STATUS_PATH as STATUS
from simulator.core.errors import Refused
from simulator.core.mail.messages import TDC_QUEUE
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES
from simulator.testing.harness import SandboxFacade
from simulator.testing.messages import MessageFactory

COUNTERS = ("active_recipients", "connections_out", "delivered_recipients", "soft_bounced_events",
            "hard_bounced_recipients")


class _Table(HTMLParser):
    """The text of each cell of each body row of the table with the id asked for."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.in_body = table_id, False, False
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = self.in_body = False

    def handle_data(self, data: str) -> None:
        if self.in_body and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip() if not self.rows[-1][-1] else f" {data.strip()}".rstrip()


def table(text: str, table_id: str) -> list[list[str]]:
    """The body rows of the page's table `table_id`, each a list of its cells' text."""
    reader = _Table(table_id)
    reader.feed(text)
    assert f'id="{table_id}"' in text, f"no table {table_id!r} on the page"
    return reader.rows


def by_host(rows: list[list[str]]) -> dict[str, list[str]]:
    """Delivery Status rows by destination: the five counters (the last attempt left out)."""
    return {row[0].removesuffix(" (down)"): row[1:6] for row in rows}


def api_counts(sandbox: SandboxFacade, machine: str = "esa1") -> dict[str, list[str]]:
    """The admin API's delivery status of `machine`, formatted as the page shows counts."""
    rows = sandbox.admin_client().get("/status")["machines"][machine]
    return {row["host"]: [f"{row[name]:,}" for name in COUNTERS] for row in rows}


def enable_connector(sandbox: SandboxFacade) -> None:
    """Enable the connector at cluster level and commit, as the operator does through the admin API."""
    client = sandbox.admin_client()
    client.call("POST", "/tdc/enable", {"address": DEFAULT_INTAKE_ADDRESSES[0]})
    client.call("POST", "/commit", {"comment": "enable for the monitor tests"})


def failing_copy(sandbox: SandboxFacade, messages: MessageFactory) -> int:
    """One message delivered while Threat Defense's certificate is untrusted: its copy waits."""
    enable_connector(sandbox)
    sandbox.expect_warning("TDC: ")
    sandbox.set_faults("threat_defense", "untrusted-cert")
    mid = sandbox.send_accepted(messages.message())
    sandbox.mail_log.wait_for(r"TDC: Message \d+ delivery failed to ")
    sandbox.settle()
    return mid


def test_every_destination_is_listed_with_the_tdc_queue_and_the_apis_counters(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    first = browser.go("GET", STATUS)
    assert first.status == 200 and "<h1>Delivery Status</h1>" in first.text
    assert by_host(table(first.text, "status-esa1")) == {TDC_QUEUE: ["0"] * 5}  # before any mail
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    shown = by_host(table(browser.go("GET", STATUS).text, "status-esa1"))
    assert shown == api_counts(tdc_sandbox) | {TDC_QUEUE: ["0"] * 5}
    assert shown["example.com"][2] == "2"  # Delivered Recipients


def test_the_tdc_queue_row_shows_the_copy_waiting_after_a_threat_defense_fault(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, tdc_messages: MessageFactory
) -> None:
    failing_copy(tdc_sandbox, tdc_messages)
    page = browser.go("GET", STATUS).text
    rows = table(page, "status-esa1")
    queue = by_host(rows)[TDC_QUEUE]
    assert queue == api_counts(tdc_sandbox)[TDC_QUEUE]
    assert (queue[0], queue[3], queue[4]) == ("1", "1", "0")  # one active recipient, one soft bounce
    assert by_host(rows)["example.com"][2] == "1"  # the original was delivered
    assert [row[-1] for row in rows if row[0].startswith(TDC_QUEUE)] != ["never"]  # an attempt was made


@pytest.fixture
def busy(tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory) -> SandboxFacade:
    """esa1 with example.com delivered twice and one copy waiting in the.tdc.queue."""
    failing_copy(tdc_sandbox, tdc_messages)
    tdc_sandbox.set_faults("threat_defense")  # cleared: the next copy waits behind the first's retry
    tdc_sandbox.send_accepted(tdc_messages.message())
    tdc_sandbox.settle()
    return tdc_sandbox


@pytest.mark.parametrize(("sort", "first"), [("active", TDC_QUEUE), ("soft", TDC_QUEUE),
                                             ("delivered", "example.com")])
def test_tophosts_of_a_machine_sorts_by_the_counter_chosen_as_the_api_does(
    busy: SandboxFacade, browser: ConsoleClient, sort: str, first: str
) -> None:
    page = browser.go("GET", f"{STATUS}?machine=esa1&sort={sort}")
    assert page.status == 200 and 'id="machine-mode-only"' not in page.text
    rows = table(page.text, "tophosts")
    api = busy.admin_client().get("/tophosts", machine="esa1", sort=sort)["hosts"]
    assert [row[1] for row in rows] == [host["host"] for host in api]
    assert rows[0][1] == first  # ties go by host name: example.com first unless its counter is smaller
    assert [row[0].rstrip("*") for row in rows] == [str(number) for number in range(1, len(rows) + 1)]
    assert f'<option value="{sort}" selected>' in page.text


def test_with_no_machine_chosen_the_page_explains_that_tophosts_is_machine_mode_only(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    for path in (STATUS, f"{STATUS}?machine=&sort=delivered"):
        page = browser.go("GET", path)
        assert page.status == 200 and 'id="tophosts"' not in page.text
        with pytest.raises(Refused) as refused:
            tdc_sandbox.admin_client().get("/tophosts")
        assert str(refused.value) in html.unescape(page.text)  # the API's words


def test_a_bad_sort_or_an_unknown_machine_is_the_plain_error_page_with_the_apis_words(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    answers: dict[str, Any] = {}
    for query, api in (("machine=esa1&sort=size", {"machine": "esa1", "sort": "size"}),
                       ("machine=esa9", {"machine": "esa9"})):
        page = browser.go("GET", f"{STATUS}?{query}")
        with pytest.raises(Refused) as refused:
            tdc_sandbox.admin_client().get("/tophosts", **api)
        assert page.status == refused.value.status
        assert str(refused.value) in html.unescape(page.text) and "Traceback" not in page.text
        answers[query] = page.status
    assert answers == {"machine=esa1&sort=size": 400, "machine=esa9": 404}
    too_long = browser.go("GET", f"{STATUS}?machine={'x' * 300}")
    assert too_long.status == 400 and "machine: at most 255 characters, not 300" in too_long.text


@pytest.fixture
def two_machines(tdc_start_sandbox: Any, tdc_sandbox_settings: Any) -> SandboxFacade:
    started: SandboxFacade = tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, machines=2))
    return started


def test_each_machine_has_its_own_table_each_with_the_tdc_queue(two_machines: SandboxFacade) -> None:
    browser = ConsoleClient(two_machines.console_url)
    browser.log_in(two_machines.console_password)
    page = browser.go("GET", STATUS).text
    for machine in ("esa1", "esa2"):
        assert TDC_QUEUE in by_host(table(page, f"status-{machine}"))
    assert '<option value="esa2">esa2</option>' in page
