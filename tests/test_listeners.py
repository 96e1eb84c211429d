"""The gateway's listeners over real sockets: relay control and SMTP AUTH."""

from __future__ import annotations

import dataclasses
import smtplib
import ssl

import pytest

from simulator.core import replies
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send


def test_private_listener_refuses_hosts_outside_the_relay_networks(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(c, relay_networks=("192.0.2.0/24",)))
    outcome = send(*tdc_sandbox.listener_address("relay"), tdc_messages.message())
    assert f"{outcome.mail_reply[0]} {outcome.mail_reply[1]}" == replies.ACCESS_DENIED.line
    tdc_sandbox.mail_log.wait_for(r"ICID \d+ REJECT SG RELAYLIST")
    tdc_sandbox.settle()
    assert tdc_sandbox.mailbox() == []


def test_auth_is_offered_only_after_starttls(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.ehlo("client.test")
        assert not client.has_extn("auth")
        client.starttls(context=tdc_client_tls)
        client.ehlo("client.test")
        assert client.has_extn("auth")


def test_wrong_password_is_refused_and_logged(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("client.test")
        client.user, client.password = "sandbox", "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("PLAIN", client.auth_plain)
    assert refused.value.smtp_code == 535
    tdc_sandbox.mail_log.wait_for(r"SMTP authentication failed for user: sandbox")


def test_authenticated_session_may_relay_to_outside_domains(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message(to=("someone@outside.test",))
    outcome = send(*tdc_sandbox.listener_address("inbound"), mail, tls=tdc_client_tls,
                   login=("sandbox", "sandbox"))
    assert outcome.accepted
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox("someone@outside.test")) == 1
    assert tdc_sandbox.journals() == []


def test_size_limit_is_read_from_the_committed_configuration(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message(body="y" * 3000 + "\n")
    assert send(*tdc_sandbox.listener_address("inbound"), mail).accepted
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(c, max_message_size=1000))
    outcome = send(*tdc_sandbox.listener_address("inbound"), mail)
    assert outcome.data_reply is not None
    assert f"{outcome.data_reply[0]} {outcome.data_reply[1]}" == replies.MESSAGE_TOO_BIG.line
