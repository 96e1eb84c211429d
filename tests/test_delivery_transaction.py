"""One outbound transaction on the wire: `OutboundSession.send` says to the next hop exactly what
aiosmtplib's `sendmail` would (MAIL with its SIZE, each RCPT, DATA, RSET after a failure), and the
SIZE it counts is the length aiosmtplib measures on the normalised message."""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable
from contextlib import suppress

import aiosmtplib
import pytest
from aiosmtplib.protocol import normalize_message_line_endings

from simulator.core.config.values import NextHop
from simulator.core.errors import DeliveryError
from simulator.gateway.outbound import OutboundSession, transmitted_size

HELLO = "esa1.sandbox.test"
Envelope = tuple[str, tuple[str, ...], bytes]
Client = Callable[[int, Envelope], Awaitable[None]]


def test_the_counted_size_is_the_length_of_the_message_as_transmitted() -> None:
    pick = random.Random(13)
    for _ in range(3000):
        data = bytes(pick.choice(b"a\r\n.") for _ in range(pick.randrange(12)))
        assert transmitted_size(data) == len(normalize_message_line_endings(data)), data


class ScriptedHop:
    """A next hop that offers SIZE, refuses recipients named `refused...` and messages saying
    `reject`, and records every line (and message) it hears, one list per connection."""

    def __init__(self) -> None:
        self.sessions: list[list[bytes]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard: list[bytes] = []
        self.sessions.append(heard)
        writer.write(b"220 scripted\r\n")
        while line := await reader.readline():
            heard.append(line)
            writer.write(await self._answer(line[:4].upper(), line, reader, writer, heard))
            await writer.drain()
            if line.upper().startswith(b"QUIT"):
                break
        writer.close()

    async def _answer(self, verb: bytes, line: bytes, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, heard: list[bytes]) -> bytes:
        if verb == b"EHLO":
            return b"250-scripted\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n"
        if verb == b"RCPT" and b"refused" in line:
            return b"550 5.1.1 no such user\r\n"
        if verb == b"DATA":
            writer.write(b"354 go on\r\n")
            heard.append(await reader.readuntil(b"\r\n.\r\n"))
            return b"554 5.7.1 rejected\r\n" if b"reject" in heard[-1] else b"250 2.0.0 queued\r\n"
        return b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n"


async def by_sendmail(port: int, envelope: Envelope) -> None:
    """The reference: aiosmtplib's own `sendmail`."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname=HELLO, start_tls=False)
    await client.connect()
    await client.ehlo()
    sender, recipients, data = envelope
    with suppress(aiosmtplib.SMTPException):
        await client.sendmail(sender, list(recipients), data)
    await client.quit()


async def by_session(port: int, envelope: Envelope) -> None:
    async with OutboundSession(NextHop("127.0.0.1", port), ssl.create_default_context(), False,
                               HELLO) as session:
        with suppress(DeliveryError):
            await session.send(*envelope)


def heard(client: Client, envelope: Envelope) -> list[bytes]:
    async def run() -> list[bytes]:
        hop = ScriptedHop()
        server = await asyncio.start_server(hop.serve, "127.0.0.1", 0)
        try:
            await client(server.sockets[0].getsockname()[1], envelope)
        finally:
            server.close()
        (session,) = hop.sessions
        return session

    return asyncio.run(run())


@pytest.mark.parametrize("envelope", [
    ("alice@sender.test", ("bob@example.com",), b"Subject: hi\r\n\r\nbare\nlone\r.dot\r\nno end"),
    ("alice@sender.test", ("bob@example.com", "refused@example.com"), b"Subject: two\r\n\r\nx\r\n"),
    ("alice@sender.test", ("refused@example.com", "refused.too@example.com"), b"all refused\r\n"),
    ("", ("bob@example.com",), b"Subject: a DSN\r\n\r\nfrom nobody\r\n"),
    ("alice@sender.test", ("bob@example.com",), b"Subject: reject me\r\n\r\n.\r\n"),
], ids=["one", "one-refused", "all-refused", "null-sender", "data-refused"])
def test_a_transaction_says_on_the_wire_what_sendmail_says(envelope: Envelope) -> None:
    said = heard(by_session, envelope)
    assert said == heard(by_sendmail, envelope)
    assert said[1].startswith(b"MAIL FROM:<") and b" size=" in said[1]  # the check is not vacuous


def test_refused_recipients_come_back_and_the_rest_are_delivered() -> None:
    async def run(port: int, envelope: Envelope) -> None:
        async with OutboundSession(NextHop("127.0.0.1", port), ssl.create_default_context(), False,
                                   HELLO) as session:
            response, refused = await session.send(*envelope)
            assert response == "2.0.0 queued"
            assert [(address, error.code) for address, error in refused.items()] == [
                ("refused@example.com", 550)]

    envelope = ("alice@sender.test", ("bob@example.com", "refused@example.com"), b"x\r\n")
    assert heard(run, envelope)[-1] == b"QUIT\r\n"
