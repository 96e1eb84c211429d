"""Steps that send mail into the gateway, as outside senders, internal hosts or AUTH users."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from pytest_bdd import parsers, then, when

from simulator.core.mail.samples import MessageFactory, Outgoing
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import SendOutcome, disconnect_mid_data, raw_command, send

SANDBOX_LOGIN = ("sandbox", "sandbox")


@dataclass(frozen=True)
class Sent:
    """A message a step sent, and what the gateway answered."""

    mail: Outgoing
    outcome: SendOutcome | None


def _subject_utf8_raw(factory: MessageFactory, to: tuple[str, ...]) -> Outgoing:
    mail = factory.message(to=to, subject="placeholder")
    data = mail.data.replace(b"Subject: placeholder", "Subject: Grüße aus Köln, 東京".encode())
    return Outgoing(mail.mail_from, mail.rcpt_tos, data)


KINDS: dict[str, Callable[[MessageFactory, tuple[str, ...]], Outgoing]] = {
    "a message": lambda f, to: f.message(to=to),
    "a plain message": lambda f, to: f.message(to=to),
    "a message with an encoded UTF-8 subject": lambda f, to: f.message(to=to, subject="Grüße, 東京"),
    "a message with a raw UTF-8 subject": _subject_utf8_raw,
    "a message with an 8-bit body": lambda f, to: f.message(
        to=to, body="Prüfung: naïve café, ½ € — 8-bit\n", cte="8bit"),
    "a message with attachments": lambda f, to: f.message(
        to=to, attachments=[("report.pdf", bytes(range(256)) * 8), ("notes.bin", b"\x00\x01" * 300)]),
    "a malformed MIME message": lambda f, to: f.malformed(to=to),
}


def _inbound(sandbox: SandboxFacade, mail: Outgoing) -> Sent:
    host, port = sandbox.listener_address("inbound")
    return Sent(mail, send(host, port, mail))


def _locals(factory: MessageFactory, count: int) -> tuple[str, ...]:
    return tuple(factory.local_address() for _ in range(count))


@when(parsers.re(r"an outside sender sends (?P<kind>.+?) to (?P<count>\d+) local recipients? "
                 r"through the public listener"), target_fixture="sent")
def outside_sender(sandbox: SandboxFacade, tdc_messages: MessageFactory, kind: str, count: str) -> Sent:
    return _inbound(sandbox, KINDS[kind](tdc_messages, _locals(tdc_messages, int(count))))


@when(parsers.re(r"an outside sender sends a message carrying (?P<test>EICAR|GTUBE) "
                 r"to (?P<count>\d+) local recipients?"), target_fixture="sent")
def outside_sender_test_string(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, test: str, count: str
) -> Sent:
    to = _locals(tdc_messages, int(count))
    mail = tdc_messages.with_eicar(to) if test == "EICAR" else tdc_messages.with_gtube(to)
    return _inbound(sandbox, mail)


@when(parsers.re(r'an outside sender sends a message with the subject "(?P<subject>[^"]+)" '
                 r"to (?P<count>\d+) local recipients?"), target_fixture="sent")
def outside_sender_subject(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, subject: str, count: str
) -> Sent:
    return _inbound(sandbox, tdc_messages.message(to=_locals(tdc_messages, int(count)), subject=subject))


@when(parsers.re(r'an outside sender sends a message to "(?P<first>[^"]+)" and "(?P<second>[^"]+)"'),
      target_fixture="sent")
def outside_sender_two(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, first: str, second: str
) -> Sent:
    return _inbound(sandbox, tdc_messages.message(to=(first, second)))


@when(parsers.re(r'an outside sender sends a message to "(?P<address>[^"]+)" '
                 r"through the public listener"), target_fixture="sent")
def outside_sender_to(sandbox: SandboxFacade, tdc_messages: MessageFactory, address: str) -> Sent:
    return _inbound(sandbox, tdc_messages.message(to=(address,)))


@when(parsers.re(r"an outside sender sends a message of (?P<size>\d+) bytes "
                 r"to (?P<count>\d+) local recipients?"), target_fixture="sent")
def outside_sender_sized(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, size: str, count: str
) -> Sent:
    body = ("x" * 76 + "\n") * (int(size) // 77 + 1)
    return _inbound(sandbox, tdc_messages.message(to=_locals(tdc_messages, int(count)), body=body))


@when("an outside sender disconnects in the middle of DATA", target_fixture="sent")
def outside_sender_disconnects(sandbox: SandboxFacade, tdc_messages: MessageFactory) -> Sent:
    mail = tdc_messages.message(to=_locals(tdc_messages, 1))
    disconnect_mid_data(*sandbox.listener_address("inbound"), mail)
    return Sent(mail, None)


@when(parsers.re(r"an internal sender relays a message to (?P<count>\d+) outside recipients? "
                 r"through the private listener"), target_fixture="sent")
def internal_sender(sandbox: SandboxFacade, tdc_messages: MessageFactory, count: str) -> Sent:
    to = tuple(tdc_messages.outside_address() for _ in range(int(count)))
    mail = tdc_messages.message(mail_from=tdc_messages.local_address(), to=to)
    host, port = sandbox.listener_address("relay")
    return Sent(mail, send(host, port, mail))


@when(parsers.re(r"an authenticated user sends a message to (?P<count>\d+) outside recipients? "
                 r"through the public listener"), target_fixture="sent")
def authenticated_sender(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, tdc_client_tls: ssl.SSLContext, count: str
) -> Sent:
    to = tuple(tdc_messages.outside_address() for _ in range(int(count)))
    mail = tdc_messages.message(mail_from=tdc_messages.local_address(), to=to)
    host, port = sandbox.listener_address("inbound")
    return Sent(mail, send(host, port, mail, tls=tdc_client_tls, login=SANDBOX_LOGIN))


# --- bad input: hostile MAIL FROM and non-ASCII addresses (BEHAVIOUR.md §9.1) ---

@dataclass(frozen=True)
class Exchange:
    """The replies to MAIL and to the RCPT after it, as a raw client sent them."""

    mail_reply: str
    rcpt_reply: str


@when(parsers.re(r"an outside sender gives MAIL FROM:(?P<path><.*>)(?P<parameters>(?: [A-Z0-9]+)*) "
                 r"and then RCPT TO a local recipient"), target_fixture="exchange")
def outside_sender_mail_from(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, path: str, parameters: str
) -> Exchange:
    """`<CR>` in the path stands for a carriage return, sent as the single byte 0x0D."""
    mail = f"MAIL FROM:{path.replace('<CR>', chr(13))}{parameters}".encode()
    with smtplib.SMTP(*sandbox.listener_address("inbound"), timeout=10) as client:
        client.ehlo("client.test")
        mail_reply = raw_command(client, mail)
        rcpt_reply = raw_command(client, f"RCPT TO:<{tdc_messages.local_address()}>".encode())
    return Exchange(mail_reply, rcpt_reply)


@then(parsers.re(r"the gateway answers (?P<code>\d{3}) (?P<enhanced>\d\.\d+\.\d+) to MAIL"))
def answered_mail(exchange: Exchange, code: str, enhanced: str) -> None:
    assert exchange.mail_reply.split()[:2] == [code, enhanced], exchange


@then("the gateway answers 503 to that RCPT: no transaction was started")
def rcpt_without_transaction(exchange: Exchange) -> None:
    assert exchange.rcpt_reply.startswith("503 "), exchange


@when(parsers.re(r'an outside sender sends a message from "(?P<sender>[^"]+)" to "(?P<recipient>[^"]+)" '
                 r"with SMTPUTF8"), target_fixture="sent")
def outside_sender_smtputf8(
    sandbox: SandboxFacade, tdc_messages: MessageFactory, sender: str, recipient: str
) -> Sent:
    mail = tdc_messages.message(mail_from=sender, to=(recipient,))
    return Sent(mail, send(*sandbox.listener_address("inbound"), mail, mail_options=("SMTPUTF8",)))
