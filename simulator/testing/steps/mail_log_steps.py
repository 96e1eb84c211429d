"""Steps about the gateway's own mail log and tracking of a live run (BEHAVIOUR.md §7.1, §7.3).

Design rule: every line these steps judge was written by the running sandbox for mail sent over
real sockets; a table row is a line's form, its `<placeholders>` bound from the log itself (the MID
the gateway named, the ICID and DCIDs it gave that MID), so a row can only match its own message.
"""

from __future__ import annotations

import re
import smtplib
import ssl

from pytest_bdd import given, parsers, then, when

from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import SendOutcome, send
from simulator.testing.steps.sending_steps import SANDBOX_LOGIN, Sent

STAMP_RE = re.compile(r"^\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \(GMT \+00:00\) ")


@given(parsers.parse("{count:d} messages have already been relayed by internal senders"))
def already_relayed(sandbox: SandboxFacade, tdc_messages: MessageFactory, count: int) -> None:
    """Outgoing mail, one connection each: MIDs and ICIDs taken, no copy made."""
    for _ in range(count):
        mail = tdc_messages.message(mail_from=tdc_messages.local_address(),
                                    to=(tdc_messages.outside_address(),))
        assert send(*sandbox.listener_address("relay"), mail).accepted
    sandbox.settle()
    assert sandbox.journals() == []


@when(parsers.re(r"an outside sender at (?P<address>[\d.]+) sends a message with the subject "
                 r'"(?P<subject>[^"]+)" to 1 local recipient'), target_fixture="sent")
def sender_at(sandbox: SandboxFacade, tdc_messages: MessageFactory, address: str, subject: str) -> Sent:
    """A client bound to another loopback address than the gateway's own (127.0.0.1)."""
    mail, outcome = tdc_messages.message(subject=subject), SendOutcome()
    with smtplib.SMTP(*sandbox.listener_address("inbound"), timeout=10,
                      source_address=(address, 0)) as client:
        client.ehlo("client.test")
        client.mail(mail.mail_from)
        client.rcpt(mail.rcpt_tos[0])
        code, reply = client.data(mail.data)
    outcome.data_reply = (code, reply.decode())
    assert outcome.accepted, outcome
    return Sent(mail, outcome)


@when("an authenticated user sends a message to 1 local recipient through the public listener",
      target_fixture="sent")
def authenticated_to_local(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, tdc_client_tls: ssl.SSLContext
) -> Sent:
    mail = tdc_messages.message(mail_from=tdc_messages.local_address(), to=(tdc_messages.local_address(),))
    outcome = send(*sandbox.listener_address("inbound"), mail, tls=tdc_client_tls, login=SANDBOX_LOGIN)
    assert outcome.accepted, outcome
    return Sent(mail, outcome)


@then(parsers.parse("the gateway connected to Threat Defense from {address}"))
def copy_left_from(sandbox: SandboxFacade, sent: Sent, address: str) -> None:
    """The address Threat Defense sees connecting: the fallback the true-sender header must beat."""
    bindings = _bindings(sandbox, sent)
    _, port = sandbox.listener_address("threat_defense")
    assert sandbox.mail_log.matching(rf"^New SMTP DCID {bindings['<copy dcid>']} interface "
                                     rf"{re.escape(address)} address \S+ port {port}$")


def _wait_until_handled(sandbox: SandboxFacade, mid: int) -> None:
    """The original delivered and its copy's attempt made: what a live run logs before the drop."""
    sandbox.mail_log.wait_for(rf"MID {mid} RID \[0\] Response ")
    (created,) = sandbox.mail_log.wait_for(rf"TDC: Message \d+ created from message {mid} ")
    copy = created.text.split()[2]
    sandbox.mail_log.wait_for(rf"TDC: Message {copy} (?:delivered|delivery failed) ")


@when("an outside sender sends a message to 1 local recipient and, once it is handled, drops the "
      "connection without QUIT", target_fixture="sent")
def sender_drops(sandbox: SandboxFacade, tdc_messages: MessageFactory) -> Sent:
    mail, outcome = tdc_messages.message(), SendOutcome()
    client = smtplib.SMTP(*sandbox.listener_address("inbound"), timeout=10)
    try:
        client.ehlo("client.test")
        client.mail(mail.mail_from)
        client.rcpt(mail.rcpt_tos[0])
        code, reply = client.data(mail.data)
        outcome.data_reply = (code, reply.decode())
        assert outcome.mid is not None, outcome
        _wait_until_handled(sandbox, outcome.mid)
    finally:
        client.close()  # no QUIT: the gateway sees the connection lost
    sandbox.mail_log.wait_for(r"Incoming connection \(ICID \d+\) lost\.")
    return Sent(mail, outcome)


def _bindings(sandbox: SandboxFacade, sent: Sent) -> dict[str, str]:
    """The placeholders of a row: this message's MID, ICID, copy, and the DCIDs that carried them."""
    assert sent.outcome is not None and sent.outcome.mid is not None
    mid = str(sent.outcome.mid)
    log = "\n".join(line.text for line in sandbox.mail_log.lines())

    def found(pattern: str) -> str:
        match = re.search(pattern, log, re.MULTILINE)
        assert match is not None, pattern
        return match[1]

    copy = found(rf"^TDC: Message (\d+) created from message {mid} ")
    return {"<mid>": mid, "<icid>": found(rf"^Start MID {mid} ICID (\d+)$"), "<copy>": copy,
            "<dcid>": found(rf"^Delivery start DCID (\d+) MID {mid} "),
            "<copy dcid>": found(rf"^Delivery start DCID (\d+) MID {copy} "),
            "<recipient>": re.escape(sent.mail.rcpt_tos[0]), "<sender>": re.escape(sent.mail.mail_from)}


def _row(row: str, bindings: dict[str, str]) -> re.Pattern[str]:
    pattern = re.escape(row)
    for name, value in bindings.items():
        pattern = pattern.replace(re.escape(name), value)
    return re.compile(pattern.replace(re.escape("<n>"), r"\d+").replace(re.escape("<any>"), r".*"))


def _in_order(lines: list[str], rows: list[re.Pattern[str]]) -> None:
    """Each row matches a line after the previous row's line."""
    remaining = iter(lines)
    for row in rows:
        assert any(row.fullmatch(line) for line in remaining), (row.pattern, lines)


@then("the mail log shows these lines, in this order:")
def log_in_order(sandbox: SandboxFacade, sent: Sent, datatable: list[list[str]]) -> None:
    sandbox.settle()
    bindings = _bindings(sandbox, sent)
    _in_order([line.text for line in sandbox.mail_log.lines()],
              [_row(row[0], bindings) for row in datatable[1:]])


@then(parsers.parse("the admin API's tracking of message {mid:d} shows exactly these events, in this order:"))
def tracked_in_order(sandbox: SandboxFacade, sent: Sent, mid: int, datatable: list[list[str]]) -> None:
    """Every row once, from the tracking `tdcsim tracking` prints (the API's): the message's own rows in
    the table's order; its copy's `TDC:` rows between its first and last, wherever they fall, for the
    original and its copy go through independent queues and their lines interleave freely."""
    sandbox.settle()
    history = sandbox.admin_client().get(f"/tracking/{mid}", machine=sandbox.machine_names()[0])["history"]
    assert history and all(STAMP_RE.match(line) for line in history), history
    events = [STAMP_RE.sub("", line) for line in history]
    rows = [_row(row[0], {"<recipient>": re.escape(sent.mail.rcpt_tos[0]),
                          "<response>": r"[^\"]+"}) for row in datatable[1:]]
    at = [[i for i, event in enumerate(events) if row.fullmatch(event)] for row in rows]
    assert all(len(found) == 1 for found in at), list(zip((row.pattern for row in rows), at, strict=True))
    own = [found[0] for row, found in zip(datatable[1:], at, strict=True) if not row[0].startswith("TDC:")]
    assert own == sorted(own), (own, events)
    copies = [found[0] for row, found in zip(datatable[1:], at, strict=True) if row[0].startswith("TDC:")]
    assert all(own[0] < where < own[-1] for where in copies), (copies, own, events)
