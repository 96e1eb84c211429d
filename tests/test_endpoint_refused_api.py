"""The endpoints' refused attempts through the admin API (BEHAVIOUR.md §8.9, issue 10 point 4)."""

from __future__ import annotations

import smtplib

import pytest

from simulator.core import replies
from simulator.core.errors import Refused
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send


def test_get_refused_lists_an_endpoints_refused_attempts(tdc_sandbox: SandboxFacade) -> None:
    server = tdc_sandbox.sandbox.threat_defense_server
    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo("gateway.test")
        assert client.mail("tdc@gateway.test")[0] == 530
    answer = tdc_sandbox.admin_client().get("/endpoints/threat_defense/refused")
    assert answer == {"endpoint": "threat_defense", "refused": [
        {"time": tdc_sandbox.clock.now().isoformat(), "connection": 1, "peer": "127.0.0.1",
         "command": "MAIL", "reply": replies.STARTTLS_REQUIRED.line}]}
    empty = tdc_sandbox.admin_client().get("/endpoints/mailbox/refused")
    assert empty == {"endpoint": "mailbox", "refused": []}


@pytest.mark.bad_input
def test_an_unknown_endpoint_is_404_naming_the_endpoints(tdc_sandbox: SandboxFacade) -> None:
    with pytest.raises(Refused) as refused:
        tdc_sandbox.admin_client().get("/endpoints/dns/refused")
    assert refused.value.status == 404 and "threat_defense, mailbox" in str(refused.value)


def test_the_openapi_document_describes_the_refused_attempts(tdc_sandbox: SandboxFacade) -> None:
    paths = tdc_sandbox.admin_client().get("/openapi.json")["paths"]
    operation = paths["/endpoints/{endpoint}/refused"]["get"]
    assert "refused" in operation["summary"] and operation["parameters"][0]["name"] == "endpoint"


def test_a_gateway_that_distrusts_the_certificate_shows_in_the_refused_attempts(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    """The vendor's case: a connector whose copies never arrive; the endpoint tells why."""
    tdc_sandbox.set_faults("threat_defense", "untrusted-cert")
    assert send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message()).accepted
    attempts = tdc_sandbox.sandbox.refused_logs["threat_defense"].records.wait_until(
        lambda items: bool(items), 10, "the gateway's refused TLS handshake")
    assert attempts[0].command == "STARTTLS" and attempts[0].reply.startswith("(TLS handshake failed)")
    listed = tdc_sandbox.admin_client().get("/endpoints/threat_defense/refused")["refused"]
    assert listed[0]["reply"] == attempts[0].reply
    tdc_sandbox.expect_warning(r"TLS failed|certificate")
