"""The endpoint kit's parts: the `[endpoint]` section, transcripts, the TLS versions it can offer,
and bad input (a target that speaks no SMTP, stays silent, or is not there) failing with its transcript."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from simulator.conformance.collector import judged
from simulator.conformance.endpoint import steps, tls_versions
from simulator.conformance.endpoint.connector import deliver
from simulator.conformance.endpoint.journals import journals_for
from simulator.conformance.endpoint.probes import greet, handshake_at, unknown_recipient, verified_handshake
from simulator.conformance.endpoint.target import EndpointSection, EndpointTarget, endpoint_target_from
from simulator.conformance.endpoint.transcript import Transcript
from simulator.conformance.expected import kit_rules
from simulator.conformance.outcomes import Outcome
from simulator.core.mail.journal import embedded_original
from simulator.sandbox import TD_HOSTNAME
from simulator.testing.harness import SandboxFacade
from simulator.transport.tls import SandboxTls

RULE_IDS = [  # the brief's endpoint rule ids, in the feature's order
    "8.1-starttls-offered", "8.1-starttls-required", "8.1-tls10-refused", "8.1-tls11-refused",
    "8.1-tls12-accepted", "8.1-tls13-accepted", "8.8-certificate-valid-for-name",
    "8.4-valid-journal-accepted", "8.2-unknown-intake-refused", "8.3-eleventh-message",
    "8.9-temporary-is-4xx",
]


def test_the_feature_checks_every_endpoint_rule_once() -> None:
    assert list(kit_rules("endpoint")) == RULE_IDS


# --- the [endpoint] section -----------------------------------------------------------------------


def test_the_section_fills_in_what_is_not_given(tmp_path: Path, tdc_tls: SandboxTls) -> None:
    (tmp_path / "ca.pem").write_bytes(tdc_tls.ca_pem)
    target = endpoint_target_from(EndpointSection(target="intake.example.com:25", ca=tmp_path / "ca.pem"))
    assert (target.host, target.port, target.server_name) == ("intake.example.com", 25, "intake.example.com")
    assert target.ca_pem == tdc_tls.ca_pem
    assert target.intake_address == "sandbox-tenant@intake.threatdefense.test"
    assert target.unknown_address == "tdc-conformance-unknown@intake.threatdefense.test"


def test_given_values_win_and_ipv6_needs_brackets() -> None:
    section = EndpointSection(target="[2001:db8::1]:2525", server_name="intake.example.com",
                              intake_address="t@intake.example.com",
                              unknown_address="nobody@intake.example.com")
    target = endpoint_target_from(section)
    assert (target.host, target.port, target.address) == ("2001:db8::1", 2525, "[2001:db8::1]:2525")
    assert (target.server_name, target.ca_pem, target.unknown_address) == (
        "intake.example.com", None, "nobody@intake.example.com")


def test_the_connector_speaks_tls_as_the_default_context_with_or_without_a_ca(tdc_tls: SandboxTls) -> None:
    """The policy of `ssl.create_default_context` (what the gateway's client uses), whether the
    target's CA or the system store is trusted; TLS 1.2 at least and the name checked."""
    reference = ssl.create_default_context()
    for ca_pem in (tdc_tls.ca_pem, None):
        target = endpoint_target_from(EndpointSection(target="intake.example.com:25"), ca_pem=ca_pem)
        context = target.connector_context()
        assert (context.options, context.verify_flags) == (reference.options, reference.verify_flags)
        assert (context.minimum_version, context.verify_mode, context.check_hostname) == (
            ssl.TLSVersion.TLSv1_2, ssl.CERT_REQUIRED, True)


@pytest.mark.bad_input
def test_a_ca_file_without_a_certificate_is_refused() -> None:
    with pytest.raises(ValueError, match="the CA file holds no PEM certificate"):
        endpoint_target_from(EndpointSection(target="h:25"), ca_pem=b"not a certificate")


@pytest.mark.bad_input
@pytest.mark.parametrize(("values", "complaint"), [
    ({"target": "intake.example.com"}, "HOST:PORT"),
    ({"target": "intake.example.com:0"}, "HOST:PORT"),
    ({"target": "h:25", "intake_address": "no-at-sign"}, "not an email address"),
    ({"target": "h:25", "timeout": 0}, "greater than 0"),
    ({"target": "h:25", "tls": "1.3"}, "Extra inputs are not permitted"),
    ({}, "target"),
])
def test_a_bad_section_is_refused(values: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        EndpointSection.model_validate(values)


# --- transcripts ------------------------------------------------------------------------------------


def test_a_transcript_line_stays_one_line_and_a_message_is_one_line() -> None:
    transcript = Transcript("title")
    transcript.received_bytes(b"250 ok\r\n")
    transcript.sent("RCPT TO:<a\r\nb@example.com>")
    transcript.sent_bytes(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert transcript.text() == ("== title\nS: 250 ok\nC: RCPT TO:<a\\x0d\\x0ab@example.com>\n"
                                 "C: [message content: 23 bytes, 4 lines, ending with '.']\n")


# --- TLS versions -----------------------------------------------------------------------------------


def test_this_machine_can_offer_the_versions_the_connector_uses() -> None:
    assert tls_versions.can_offer("1.2") and tls_versions.can_offer("1.3")


def test_a_version_this_machine_cannot_offer_is_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> str:
        raise ssl.SSLError("no protocols available")

    monkeypatch.setattr(tls_versions, "_handshake_in_memory", no_handshake)
    tls_versions.can_offer.cache_clear()
    try:
        with pytest.raises(tls_versions.KitCannotOffer) as raised:
            handshake_at(endpoint_target_from(EndpointSection(target="127.0.0.1:9")), "1.0")
    finally:
        tls_versions.can_offer.cache_clear()
    assert judged(raised, "call") == (Outcome.NOT_RUN, str(raised.value))
    assert "cannot offer TLS 1.0" in str(raised.value)


# --- bad input ----------------------------------------------------------------------------------------


@pytest.fixture
def not_smtp() -> Iterator[tuple[str, int]]:
    """A server that answers every connection as a web server would, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so that the loop sees `stop` (closing does not wake accept())
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def target_at(address: tuple[str, int], **values: object) -> EndpointTarget:
    host, port = address
    return endpoint_target_from(EndpointSection.model_validate({"target": f"{host}:{port}", **values}))


@pytest.mark.bad_input
def test_a_target_that_speaks_no_smtp_fails_with_its_transcript(not_smtp: tuple[str, int]) -> None:
    target = target_at(not_smtp, retry_wait=0)
    evidence = greet(target)
    with pytest.raises(AssertionError) as failed:
        steps.starttls_listed(evidence)
    assert "that is not an SMTP reply" in str(failed.value)
    assert "S: HTTP/1.1 400 Bad Request" in str(failed.value)
    with pytest.raises(AssertionError, match="could not reach RCPT"):
        steps.unknown_refused(unknown_recipient(target), target)
    delivery = deliver(target, journals_for(target.intake_address, 1), "one journal")
    with pytest.raises(AssertionError, match="could not open a single session") as failed:
        steps.temporary_is_temporary(delivery)
    assert "S: HTTP/1.1 400 Bad Request" in str(failed.value)


@pytest.mark.bad_input
def test_a_silent_target_times_out_and_an_absent_one_is_named() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the backlog), never speaks
        evidence = greet(target_at(silent.getsockname()[:2], timeout=0.2))
    assert evidence.broken == "no reply: timed out"
    with socket.create_server(("127.0.0.1", 0)) as gone:
        address = gone.getsockname()[:2]
    evidence = greet(target_at(address))
    assert evidence.broken.startswith("cannot connect:")
    assert f"-- connecting to {address[0]}:{address[1]}" in evidence.transcript.text()


# --- against the mock Threat Defense --------------------------------------------------------------------


def td_target(sandbox: SandboxFacade, tls: SandboxTls, server_name: str) -> EndpointTarget:
    host, port = sandbox.listener_address("threat_defense")
    return endpoint_target_from(EndpointSection(target=f"{host}:{port}", server_name=server_name),
                                ca_pem=tls.ca_pem)


def test_the_certificate_is_verified_by_the_server_name_not_the_address(
    tdc_sandbox: SandboxFacade, tdc_tls: SandboxTls
) -> None:
    named = td_target(tdc_sandbox, tdc_tls, TD_HOSTNAME)  # connected to 127.0.0.1, verified by this name
    steps.certificate_trusted(verified_handshake(named), named)
    wrong = td_target(tdc_sandbox, tdc_tls, "not-the-intake.example.com")
    with pytest.raises(AssertionError, match="Hostname mismatch"):
        steps.certificate_trusted(verified_handshake(wrong), wrong)


def test_the_kits_journals_are_valid_and_arrive_as_sent(
    tdc_sandbox: SandboxFacade, tdc_tls: SandboxTls
) -> None:
    target = td_target(tdc_sandbox, tdc_tls, TD_HOSTNAME)
    journals = journals_for(target.intake_address, 2)
    assert all(history.accepted for history in deliver(target, journals, "two journals").histories)
    received = tdc_sandbox.journals()
    assert [record.data for record in received] == [journal.data for journal in journals]
    assert all(record.valid and record.tls_protocol in ("TLSv1.2", "TLSv1.3") for record in received)
    assert b"X-IronPort-RemoteIP: 192.0.2.25" in (embedded_original(journals[0].data) or b"")


@pytest.mark.bad_input
def test_an_endpoint_slower_than_the_timeout_loses_the_connection_not_the_run(
    tdc_sandbox: SandboxFacade, tdc_tls: SandboxTls
) -> None:
    host, port = tdc_sandbox.listener_address("threat_defense")
    section = EndpointSection(target=f"{host}:{port}", server_name=TD_HOSTNAME, timeout=0.3, attempts=1)
    target = endpoint_target_from(section, ca_pem=tdc_tls.ca_pem)
    tdc_sandbox.set_faults("threat_defense", "delay:3")  # ten times the timeout: MAIL is answered too late
    delivery = deliver(target, journals_for(target.intake_address, 2), "two journals")
    assert [history.answers[0].text for history in delivery.histories] == [
        "no answer within 0.3 s", "not sent: no answer within 0.3 s"]
    assert "-- no answer within 0.3 s: the connector gives up" in delivery.transcript.text()
    with pytest.raises(AssertionError, match="2 of 2 journal"):
        steps.every_journal_accepted(delivery)
