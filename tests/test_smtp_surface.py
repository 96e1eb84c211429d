"""The SMTP surface in the vendor's style, over real sockets (issue 10, point 4): the banner, the EHLO
keywords, pipelined commands, and the size refusal with its enhanced code."""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pytest

from simulator.core import replies
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import read_reply
from simulator.transport.surface import ehlo_keywords


def servers(sandbox: SandboxFacade) -> dict[str, tuple[str, tuple[str, int]]]:
    """Every SMTP server of the sandbox: name -> (the hostname it announces, its address)."""
    hostnames = {"inbound": "esa1.sandbox.test", "relay": "esa1.sandbox.test",
                 "threat_defense": "intake.threatdefense.test", "mailbox": "mailbox.sandbox.test"}
    return {name: (hostname, sandbox.listener_address(name)) for name, hostname in hostnames.items()}


@contextmanager
def raw(address: tuple[str, int]) -> Iterator[tuple[socket.socket, BinaryIO]]:
    with socket.create_connection(address, timeout=10) as sock, sock.makefile("rb") as lines:
        yield sock, lines


@pytest.mark.parametrize("name", ["inbound", "relay", "threat_defense", "mailbox"])
def test_the_banner_is_the_vendors(tdc_sandbox: SandboxFacade, name: str) -> None:
    hostname, address = servers(tdc_sandbox)[name]
    with raw(address) as (_, lines):
        banner = read_reply(lines)
    assert banner == [f"220 {hostname} ESMTP"]


@pytest.mark.parametrize("name", ["inbound", "relay", "threat_defense", "mailbox"])
def test_ehlo_announces_the_vendors_keywords(tdc_sandbox: SandboxFacade, name: str) -> None:
    with smtplib.SMTP(*servers(tdc_sandbox)[name][1], timeout=10) as client:
        client.ehlo("client.test")
        for keyword in ("pipelining", "8bitmime", "smtputf8", "starttls", "enhancedstatuscodes"):
            assert client.has_extn(keyword), keyword
        assert client.esmtp_features["size"].isdigit()


def test_inside_tls_starttls_is_no_longer_offered_and_auth_is(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("client.test")
        assert not client.has_extn("starttls") and client.has_extn("auth")
        assert client.has_extn("pipelining") and client.has_extn("enhancedstatuscodes")


def test_pipelined_mail_rcpt_data_get_three_replies(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message()
    with raw(tdc_sandbox.listener_address("inbound")) as (sock, lines):
        read_reply(lines)
        sock.sendall(b"EHLO client.test\r\n")
        assert "250-PIPELINING" in read_reply(lines)
        sock.sendall(f"MAIL FROM:<{mail.mail_from}>\r\nRCPT TO:<{mail.rcpt_tos[0]}>\r\nDATA\r\n".encode())
        codes = [read_reply(lines)[0][:3] for _ in range(3)]
        assert codes == ["250", "250", "354"]
        sock.sendall(mail.data.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\nQUIT\r\n")
        assert read_reply(lines)[0].startswith("250 ")
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox(mail.rcpt_tos[0])) == 1


def smaller_limit(sandbox: SandboxFacade) -> None:
    sandbox.reconfigure(lambda c: dataclasses.replace(c, max_message_size=1000))


def test_too_much_data_is_552_5_3_4_and_nothing_is_kept(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    smaller_limit(tdc_sandbox)
    mail = tdc_messages.message(body="y" * 3000 + "\n")
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.ehlo("client.test")
        assert client.esmtp_features["size"] == "1000"
        client.mail(mail.mail_from)
        client.rcpt(mail.rcpt_tos[0])
        code, text = client.data(mail.data)
    assert f"{code} {text.decode()}" == replies.MESSAGE_TOO_BIG.line
    tdc_sandbox.settle()
    assert tdc_sandbox.mailbox() == [] and tdc_sandbox.journals() == []


def test_a_mail_size_parameter_above_the_limit_is_552_5_3_4(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    smaller_limit(tdc_sandbox)
    mail = tdc_messages.message()
    with smtplib.SMTP(*tdc_sandbox.listener_address("inbound"), timeout=10) as client:
        client.ehlo("client.test")
        code, text = client.mail(mail.mail_from, ["SIZE=5000"])
        assert f"{code} {text.decode()}" == replies.MESSAGE_TOO_BIG.line
        assert client.mail(mail.mail_from, ["SIZE=500"])[0] == 250


def test_ehlo_keywords_are_added_once_in_order_and_a_refusal_is_left_alone() -> None:
    aiosmtpd = ["250-host.test", "250-SIZE 1000", "250-8BITMIME", "250-SMTPUTF8", "250-STARTTLS", "250 HELP"]
    assert ehlo_keywords(aiosmtpd) == [
        "250-host.test", "250-PIPELINING", "250-SIZE 1000", "250-8BITMIME", "250-SMTPUTF8", "250-STARTTLS",
        "250-ENHANCEDSTATUSCODES", "250 HELP"]
    assert ehlo_keywords(ehlo_keywords(aiosmtpd)) == ehlo_keywords(aiosmtpd)
    assert ehlo_keywords(["501 Syntax: EHLO hostname"]) == ["501 Syntax: EHLO hostname"]
