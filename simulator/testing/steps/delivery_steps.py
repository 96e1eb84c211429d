"""Steps about what the gateway answered, what the mailboxes got, and what the mail log says."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

from pytest_bdd import parsers, then

from simulator.testing.harness import SandboxFacade
from simulator.testing.steps.sending_steps import Sent

TRACE_HEADER_RE = re.compile(rb"\AReceived: [^\r\n]*\r\n(?: [^\r\n]*\r\n)*X-IronPort-RemoteIP: [^\r\n]*\r\n")


@then("the gateway answers 250 and names the MID")
def answered_250(sent: Sent) -> None:
    assert sent.outcome is not None and sent.outcome.accepted, sent.outcome
    assert sent.outcome.mid is not None, sent.outcome.data_reply


@then(parsers.re(r"the gateway answers (?P<code>\d{3}) (?P<enhanced>\d\.\d+\.\d+) to that recipient"))
def answered_recipient(sent: Sent, code: str, enhanced: str) -> None:
    assert sent.outcome is not None
    (reply_code, text), = sent.outcome.rcpt_replies.values()
    assert (reply_code, text.split()[0]) == (int(code), enhanced), (reply_code, text)


@then(parsers.re(r"the gateway answers (?P<code>\d{3}) to the data"))
def answered_data(sent: Sent, code: str) -> None:
    assert sent.outcome is not None and sent.outcome.data_reply is not None, sent.outcome
    assert sent.outcome.data_reply[0] == int(code), sent.outcome.data_reply


@then("every recipient's mailbox receives the original")
def every_mailbox_receives(sandbox: SandboxFacade, sent: Sent) -> None:
    sandbox.settle()
    for recipient in sent.mail.rcpt_tos:
        deliveries = sandbox.mailbox(recipient)
        assert len(deliveries) == 1, (recipient, deliveries)
        assert deliveries[0].data.endswith(sent.mail.data)


@then("no mailbox receives anything")
def no_mailbox_receives(sandbox: SandboxFacade) -> None:
    sandbox.settle()
    assert sandbox.mailbox() == []


@then("the mailbox received the sent bytes unchanged after the gateway's trace headers")
def mailbox_bytes_unchanged(sandbox: SandboxFacade, sent: Sent) -> None:
    sandbox.settle()
    (delivery,) = sandbox.mailbox(sent.mail.rcpt_tos[0])
    trace = TRACE_HEADER_RE.match(delivery.data)
    assert trace is not None, delivery.data[:300]
    assert delivery.data[trace.end():] == sent.mail.data


@then("the original in the mailbox carries X-IronPort-RemoteIP with the client's address")
def remote_ip_header(sandbox: SandboxFacade, sent: Sent) -> None:
    sandbox.settle()
    (delivery,) = sandbox.mailbox(sent.mail.rcpt_tos[0])
    original = message_from_bytes(delivery.data, policy=policy.default)
    assert original["X-IronPort-RemoteIP"] == "127.0.0.1"


@then(parsers.re(r'the mail log shows "(?P<pattern>.+)"'))
def mail_log_shows(sandbox: SandboxFacade, pattern: str) -> None:
    sandbox.mail_log.wait_for(pattern)


@then(parsers.re(r'the mail log does not show "(?P<pattern>.+)"'))
def mail_log_does_not_show(sandbox: SandboxFacade, pattern: str) -> None:
    sandbox.settle()
    assert sandbox.mail_log.matching(pattern) == []
