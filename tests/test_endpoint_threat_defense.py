"""The mock Threat Defense endpoint over real sockets (BEHAVIOUR.md §8.1-8.4)."""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import warnings

import pytest

from simulator.core import replies
from simulator.core.mail.journal_check import NEEDS_ORIGINAL, RULES
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade


def endpoint(sandbox: SandboxFacade) -> tuple[str, int]:
    server = sandbox.sandbox.threat_defense_server
    return server.host, server.port


def intake(sandbox: SandboxFacade) -> str:
    return sandbox.sandbox.settings.intake_addresses[0]


def reply_line(code: int, text: bytes) -> str:
    return f"{code} {text.decode()}"


def test_mail_before_starttls_gets_530(tdc_sandbox: SandboxFacade) -> None:
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.ehlo("gateway.test")
        assert client.has_extn("starttls")
        assert reply_line(*client.mail("tdc@gateway.test")) == replies.STARTTLS_REQUIRED.line


def test_tls_below_1_2_is_refused_in_the_handshake(tdc_sandbox: SandboxFacade) -> None:
    old_tls = ssl.create_default_context()
    old_tls.check_hostname, old_tls.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():  # Python itself deprecates TLS 1.1: that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        old_tls.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old_tls.maximum_version = ssl.TLSVersion.TLSv1_1
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client, pytest.raises(ssl.SSLError):
        client.starttls(context=old_tls)


def test_only_tenant_intake_addresses_are_accepted(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("gateway.test")
        assert client.mail("tdc@gateway.test")[0] == 250
        assert reply_line(*client.rcpt("nobody@intake.threatdefense.test")) == (
            replies.UNKNOWN_INTAKE_ADDRESS.line)
        for tenant in tdc_sandbox.sandbox.settings.intake_addresses:
            assert client.rcpt(tenant)[0] == 250


def test_421_after_the_tenth_message_of_a_connection(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, tdc_messages: MessageFactory
) -> None:
    address = intake(tdc_sandbox)
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        for _ in range(10):
            client.sendmail("tdc@gateway.test", [address], tdc_messages.message().data)
        assert reply_line(*client.mail("tdc@gateway.test")) == replies.TOO_MANY_MESSAGES.line
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
    records = tdc_sandbox.journals()
    assert [r.message_on_connection for r in records] == list(range(1, 11))
    assert {r.connection for r in records} == {1}


def test_a_non_journal_is_stored_with_the_rules_it_breaks(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message()
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.sendmail("someone@gateway.test", [intake(tdc_sandbox)], mail.data)
    (record,) = tdc_sandbox.journals()
    folder = tdc_sandbox.sandbox.journals_store.root / intake(tdc_sandbox)  # type: ignore[operator]
    assert (folder / "1.eml").read_bytes() == mail.data
    summary = json.loads((folder / "1.json").read_text())
    assert summary["check"] == "invalid"
    assert "wrapper.journal-marker" in summary["broken_rules"]
    # with no original to compare with, nothing that compares with it is recorded as kept
    assert set(NEEDS_ORIGINAL) <= set(summary["broken_rules"])
    assert {"rule": "wrapper.journal-marker", "description": RULES["wrapper.journal-marker"]} in (
        summary["broken_rules_described"])
    assert [each["rule"] for each in summary["broken_rules_described"]] == summary["broken_rules"]
    assert summary["tls_protocol"] in {"TLSv1.2", "TLSv1.3"}
    assert summary["rcpt_tos"] == [intake(tdc_sandbox)] and not record.valid


# --- refused attempts (§8.9): in memory, in refused.jsonl, each with time, connection, peer, command ---

def refused(sandbox: SandboxFacade) -> list[tuple[str, str]]:
    """(command, reply) of every refused attempt Threat Defense kept, oldest first."""
    return [(r.command, r.reply) for r in sandbox.refused("threat_defense")]


def test_refused_attempts_are_recorded_with_their_replies(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, tdc_messages: MessageFactory
) -> None:
    address = intake(tdc_sandbox)
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.ehlo("gateway.test")
        client.mail("tdc@gateway.test")  # 530: no STARTTLS yet
        client.starttls(context=tdc_client_tls)
        client.ehlo("gateway.test")
        client.mail("tdc@gateway.test")
        client.rcpt("nobody@intake.threatdefense.test")  # 550 5.1.1
        client.rset()
        for _ in range(10):
            client.sendmail("tdc@gateway.test", [address], tdc_messages.message().data)
        client.mail("tdc@gateway.test")  # 421 after the 10th
    assert refused(tdc_sandbox) == [("MAIL", replies.STARTTLS_REQUIRED.line),
                                    ("RCPT", replies.UNKNOWN_INTAKE_ADDRESS.line),
                                    ("MAIL", replies.TOO_MANY_MESSAGES.line)]
    attempts = tdc_sandbox.refused("threat_defense")
    assert {a.connection for a in attempts} == {1} and {a.peer for a in attempts} == {"127.0.0.1"}
    assert attempts[0].time == tdc_sandbox.clock.now().isoformat()


def test_a_failed_tls_handshake_and_scripted_faults_are_recorded(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    old_tls = ssl.create_default_context()
    old_tls.check_hostname, old_tls.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old_tls.maximum_version = ssl.TLSVersion.TLSv1_1
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client, pytest.raises(ssl.SSLError):
        client.starttls(context=old_tls)
    attempts = tdc_sandbox.sandbox.refused_logs["threat_defense"].records.wait_until(
        lambda items: len(items) == 1, 10, "the TLS failure's record")
    assert attempts[0].command == "STARTTLS"
    assert re.fullmatch(r"\(TLS handshake failed\)(: [A-Z0-9_]+)?", attempts[0].reply), attempts[0].reply
    tdc_sandbox.set_faults("threat_defense", "reply:RCPT=454")
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("gateway.test")
        client.mail("tdc@gateway.test")
        assert client.rcpt(intake(tdc_sandbox))[0] == 454
    assert refused(tdc_sandbox)[1:] == [("RCPT", replies.scripted_fault(454, "RCPT").line)]
    assert tdc_sandbox.refused("threat_defense")[1].connection == 2


def test_refused_attempts_are_kept_in_refused_jsonl(tdc_sandbox: SandboxFacade) -> None:
    with smtplib.SMTP(*endpoint(tdc_sandbox), timeout=10) as client:
        client.ehlo("gateway.test")
        client.mail("tdc@gateway.test")
    path = tdc_sandbox.data_dir / "threat-defense" / "refused.jsonl"
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {"time": tdc_sandbox.clock.now().isoformat(), "connection": 1,
                                "peer": "127.0.0.1", "command": "MAIL",
                                "reply": replies.STARTTLS_REQUIRED.line}
