"""Training > Traffic Generator over real HTTP against a running sandbox (issue 12): each sample kind is
sent through the listener it needs, and the MID the page shows is the gateway's (the mail log and the
admin API's tracking say so); outgoing mail takes the private listener and is never copied (BEHAVIOUR.md
§2.1), a phishing sample's journal gets the verdict Phishing, a multi-policy sample splits (§2.5) or the
form says what to configure; a refusal is shown as the listener's reply, a listener that does not answer
as a message; the seed is the console's counter unless one is given, and the same seed, the same sample."""

from __future__ import annotations

import dataclasses
import html
import re
import socket
from collections.abc import Iterator

import pytest

from fixtures.console_client import Answer, ConsoleClient
from simulator.admin.operated import Listeners
from simulator.console.render import MAIL_LOG_PATH, TRACKING_PATH, TRAFFIC_PATH
from simulator.core import replies
from simulator.core.config.values import MailPolicy
from simulator.core.mail.samples import SAMPLE_KINDS, MessageFactory
from simulator.testing.harness import SandboxFacade

TENANT = "sandbox-tenant@intake.threatdefense.test"
INCOMING = [kind.name for kind in SAMPLE_KINDS if kind.name not in ("outgoing", "split")]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound by nobody who listens: a connection to it is refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def send_sample(browser: ConsoleClient, sample: str, **fields: str) -> Answer:
    """The Traffic Generator's form as loaded, the sample chosen, Send; the page it ends on."""
    form = browser.go("GET", TRAFFIC_PATH)
    return browser.go("POST", TRAFFIC_PATH, {"csrf_token": form.hidden("csrf_token"), "kind": sample,
                                             "machine": "esa1", "listener": "auto", "seed": "", **fields})


def shown(answer: Answer, element_id: str) -> str:
    """The text of the element with id `element_id` (no markup inside it)."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', answer.text)
    assert found, f"no #{element_id} on {answer.path}"
    return " ".join(html.unescape(found.group(1)).split())


def shown_mid(answer: Answer) -> int:
    assert answer.status == 200 and answer.path.startswith(f"{TRAFFIC_PATH}?sent="), answer.status
    return int(shown(answer, "mid"))


def enable_connector(sandbox: SandboxFacade) -> None:
    admin = sandbox.admin_client()
    admin.call("POST", "/tdc/enable", {"address": TENANT})
    admin.call("POST", "/commit", {"comment": "enable the connector"})
    assert sandbox.config.connector.enabled


@pytest.mark.parametrize("kind", INCOMING)
def test_an_incoming_sample_goes_through_the_public_listener_and_shows_the_gateways_mid(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, kind: str
) -> None:
    answer = send_sample(browser, kind)
    mid, sender = shown_mid(answer), shown(answer, "envelope-sender")
    host, port = tdc_sandbox.listener_address("inbound")
    assert shown(answer, "listener-used") == f"esa1's public listener, {host}:{port}"
    start = tdc_sandbox.mail_log.wait_for(rf"^Start MID {mid} ICID \d+$")[0]
    icid = start.text.split()[-1]
    assert tdc_sandbox.mail_log.matching(rf"^ICID {icid} ACCEPT ")
    assert tdc_sandbox.mail_log.matching(rf"^MID {mid} ICID {icid} From: <{re.escape(sender)}>$")
    history = tdc_sandbox.admin_client().get(f"/tracking/{mid}")["history"]
    connection = f"on incoming connection (ICID {icid})"
    assert any(line.endswith(f"Start message {mid} {connection}.") for line in history)
    assert any(line.endswith(f"Message {mid} enqueued {connection} from {sender}.") for line in history)
    assert f'href="{TRACKING_PATH}/esa1/{mid}"' in answer.text
    assert f'href="{MAIL_LOG_PATH}?machine=esa1&amp;mid={mid}"' in answer.text


def test_an_outgoing_sample_takes_the_private_listener_and_is_never_copied(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    enable_connector(tdc_sandbox)
    outgoing = send_sample(browser, "outgoing")
    mid = shown_mid(outgoing)
    host, port = tdc_sandbox.listener_address("relay")
    assert shown(outgoing, "listener-used") == f"esa1's private listener, {host}:{port}"
    assert shown(outgoing, "envelope-sender").endswith("@example.com")
    assert not shown(outgoing, "envelope-recipients").endswith("@example.com")
    icid = tdc_sandbox.mail_log.wait_for(rf"^Start MID {mid} ICID \d+$")[0].text.split()[-1]
    assert tdc_sandbox.mail_log.matching(rf"^ICID {icid} RELAY ")
    clean = shown_mid(send_sample(browser, "clean"))  # incoming, in the same run: copied
    tdc_sandbox.settle()
    tdc_sandbox.mail_log.wait_for(rf"^TDC: Message \d+ created from message {clean} ")
    assert not tdc_sandbox.mail_log.matching(rf"^TDC: Message \d+ created from message {mid} ")
    assert len(tdc_sandbox.journals()) == 1


def test_with_the_connector_enabled_a_phishing_samples_journal_arrives_with_verdict_phishing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    enable_connector(tdc_sandbox)
    answer = send_sample(browser, "phishing", seed="11")
    mid = shown_mid(answer)
    tdc_sandbox.settle()
    tdc_sandbox.mail_log.wait_for(r"^TDC: Message \d+ delivered to Cisco Secure Email Threat Defense\.$")
    assert tdc_sandbox.mail_log.matching(rf"^TDC: Message \d+ created from message {mid} ")
    [journal] = tdc_sandbox.journals()
    assert journal.verdict == "Phishing" and journal.valid
    sample = MessageFactory(11).sample("phishing")
    assert journal.rcpt_tos == (TENANT,) and sample.data.split(b"\r\n\r\n")[1][:60] in journal.body.read()


def test_a_multi_policy_sample_is_split_by_the_gateway(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    executives = MailPolicy("EXECUTIVES", recipients=("ceo@example.com",))
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(
        config, incoming_policies=(executives, *config.incoming_policies)))
    assert 'id="split-hint"' not in browser.go("GET", TRAFFIC_PATH).text
    answer = send_sample(browser, "split")
    mid = shown_mid(answer)
    recipients = shown(answer, "envelope-recipients").split(", ")
    assert recipients[0] == "ceo@example.com" and len(recipients) == 2
    tdc_sandbox.mail_log.wait_for(rf"^MID {mid} was split creating MID \d+ due to a per-recipient policy ")


@pytest.mark.bad_input
def test_with_one_incoming_policy_the_split_form_says_what_to_configure_and_sends_nothing(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    form = browser.go("GET", TRAFFIC_PATH)
    hint = shown(form, "split-hint")
    assert hint.startswith("Nothing can split on esa1: its running incoming mail policies (DEFAULT)")
    answer = send_sample(browser, "split")
    assert answer.status == 422 and "Nothing can split on esa1" in shown(answer, "kind-error")
    assert 'id="split-hint"' not in answer.text  # said once, as the field's error
    assert "--config" in shown(answer, "kind-error")
    assert not tdc_sandbox.mail_log.matching(r"^Start MID ")


@pytest.mark.bad_input
def test_a_refusal_is_shown_as_the_listeners_reply(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    answer = send_sample(browser, "outgoing", listener="inbound")  # an outside recipient, no relaying
    assert answer.status == 200 and 'id="mid"' not in answer.text
    assert shown(answer, "refusal") == replies.RELAY_DENIED.line
    assert "The public listener refused the sample" in answer.text
    assert f"<td><code>{replies.RELAY_DENIED.line}</code></td>" in answer.text  # RCPT's reply, no DATA
    assert "<code>DATA</code>" not in answer.text


@pytest.mark.bad_input
def test_a_listener_that_does_not_answer_is_named_not_a_traceback(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    stopped = Listeners(("127.0.0.1", closed_port), ("127.0.0.1", closed_port))
    monkeypatch.setattr(tdc_sandbox.sandbox, "listeners", lambda machine: stopped)
    answer = send_sample(browser, "clean")
    assert answer.status == 200 and 'id="mid"' not in answer.text
    assert shown(answer, "send-problem").startswith(f"The listener at 127.0.0.1:{closed_port} did not answer "
                                                   "Connect: ")
    assert "Traceback" not in answer.text


def test_the_seed_is_the_consoles_counter_unless_given_and_the_same_seed_gives_the_same_sample(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert shown(browser.go("GET", TRAFFIC_PATH), "seed-hint") == "Empty: the console's next seed, 1."
    seeds = [shown(send_sample(browser, "clean"), "seed-used") for _ in range(2)]
    assert seeds == ["1", "2"]
    again = [send_sample(browser, "scam", seed="42") for _ in range(2)]
    expected = MessageFactory(42, "example.com").sample("scam")
    for answer in again:
        assert shown(answer, "seed-used") == "42"
        assert shown(answer, "envelope-sender") == expected.mail_from
        assert shown(answer, "envelope-recipients") == ", ".join(expected.rcpt_tos)
    assert shown(again[1], "seed-hint") == "Empty: the console's next seed, 3."
    assert len({shown_mid(answer) for answer in again}) == 2  # two messages, two MIDs


@pytest.mark.bad_input
@pytest.mark.parametrize(("field", "value", "error_id"), [
    ("seed", "abc", "seed-error"), ("seed", "0", "seed-error"), ("seed", "99999999999", "seed-error"),
    ("kind", "ransomware", "kind-error"), ("machine", "esa9", "machine-error"),
    ("listener", "sideways", "listener-error"), ("seed", "9" * 300, "form-error"),
])
def test_a_field_that_is_not_what_it_should_be_is_the_form_again_and_nothing_is_sent(
    shared: SandboxFacade, shared_browser: ConsoleClient, field: str, value: str, error_id: str
) -> None:
    answer = send_sample(shared_browser, "clean", **{field: value})
    assert answer.status == 422 and "<h1>Traffic Generator</h1>" in answer.text
    assert shown(answer, error_id)
    assert not shared.mail_log.matching(r"^Start MID ")


def test_the_page_says_when_the_connector_does_not_run_and_keeps_the_last_choices(
    tdc_sandbox: SandboxFacade, browser: ConsoleClient
) -> None:
    assert "The Threat Defense Connector is not enabled on esa1" in shown(browser.go("GET", TRAFFIC_PATH),
                                                                          "connector-off")
    enable_connector(tdc_sandbox)
    answer = send_sample(browser, "graymail", listener="relay")
    assert 'id="connector-off"' not in answer.text
    assert re.search(r'id="kind-graymail"[^>]* checked>', answer.text)
    assert not re.search(r'id="kind-clean"[^>]* checked>', answer.text)
    assert '<option value="relay" selected>' in answer.text
