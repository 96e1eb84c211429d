"""The one client every phase uses: N concurrent aiosmtplib senders, each reusing one connection.

Design rule: the same client for the baseline and the sandbox, so only the server differs. Plain
SMTP (no STARTTLS) to both: TLS is the gateway's cost towards Threat Defense, not the client's. The
`td_alone` phase sends journals as the gateway does: STARTTLS (`tls`) and a new connection after
every `per_connection` messages, to the STARTTLS sink and to Threat Defense alike. A message is sent
once; only a connection that broke before the message's 250 is reopened and the
message resent, once (counted: a resend the server had in fact kept shows up as a duplicate).
The time of each 250 is kept (wall clock, ns) to compare with file mtimes written by the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiosmtplib

from simulator.core.mail.samples import Outgoing

Gate = Callable[[], Awaitable[None]]
_CONNECTION_TROUBLE = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                       aiosmtplib.SMTPTimeoutError, OSError)


@dataclass
class SendLog:
    """What the senders saw: when each message got its 250, and what went wrong."""

    started_ns: int = field(default_factory=time.time_ns)
    accepted_ns: dict[int, int] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    reconnects: int = 0
    resent: int = 0

    @property
    def attempted(self) -> int:
        return len(self.accepted_ns) + len(self.refused)

    @property
    def last_accept_ns(self) -> int:
        return max(self.accepted_ns.values(), default=self.started_ns)


class Mails(Protocol):
    """What the client sends: message number `seq` (`bench.corpus.Corpus`, `bench.journals.Journals`)."""

    def mail(self, seq: int) -> Outgoing: ...


class Client:
    """Sends `corpus` messages to `host:port` over `senders` connections (with `more` listeners: the
    senders take `host:port` and each of them in turn, one client stream per listener)."""

    def __init__(self, host: str, port: int, corpus: Mails, senders: int = 4, timeout: float = 30.0,
                 tls: ssl.SSLContext | None = None, per_connection: int | None = None,
                 more: Sequence[tuple[str, int]] = ()):
        self.host, self.port, self.corpus = host, port, corpus
        self.listeners = [(host, port), *more]
        self.senders, self.timeout = senders, timeout
        self.tls, self.per_connection = tls, per_connection  # None: plain SMTP; reuse without end
        self.log = SendLog()

    async def send(self, first: int, count: int, rate: float | None = None, gate: Gate | None = None) -> None:
        """Messages `first`..`first+count-1`; `rate` (msg/s) paces them, `gate` may hold each back."""
        self.log = SendLog()
        numbers = iter(range(first, first + count))
        start = asyncio.get_running_loop().time()

        def due(seq: int) -> float | None:
            return start + (seq - first) / rate if rate else None

        async with asyncio.TaskGroup() as senders:  # one failing (a gate giving up) stops them all
            for index in range(self.senders):
                listener = self.listeners[index % len(self.listeners)]
                senders.create_task(self._sender(numbers, due, gate, listener))

    async def _sender(self, numbers: Iterator[int], due: Callable[[int], float | None],
                      gate: Gate | None, listener: tuple[str, int]) -> None:
        smtp: aiosmtplib.SMTP | None = None
        loop = asyncio.get_running_loop()
        on_connection = 0
        try:
            for seq in numbers:  # shared: each sender takes the next number when it is free
                when = due(seq)
                if when is not None:
                    await asyncio.sleep(max(0.0, when - loop.time()))
                if gate is not None:
                    await gate()
                if smtp is not None and on_connection == self.per_connection:
                    await _close(smtp)  # the limit reached: QUIT, the next message opens another
                    smtp = None
                before, smtp = smtp, await self._send_one(smtp, seq, listener)
                on_connection = on_connection + 1 if smtp is before else 1  # a new one was opened
        finally:
            await _close(smtp)

    async def _send_one(self, smtp: aiosmtplib.SMTP | None, seq: int,
                        listener: tuple[str, int]) -> aiosmtplib.SMTP | None:
        """Send message `seq`, reconnecting once; returns the connection to reuse (None if broken)."""
        mail, reason = self.corpus.mail(seq), ""
        for attempt in range(2):
            try:
                smtp = smtp or await self._connect(*listener)
                await smtp.sendmail(mail.mail_from, list(mail.rcpt_tos), mail.data)
            except _CONNECTION_TROUBLE as error:
                await _close(smtp)
                smtp, reason = None, f"{type(error).__name__}: {error}"
                self.log.reconnects += 1
                self.log.resent += attempt == 0
                continue
            except aiosmtplib.SMTPException as error:
                self.log.refused[seq] = f"{type(error).__name__}: {error}"
                return smtp
            self.log.accepted_ns[seq] = time.time_ns()
            return smtp
        self.log.refused[seq] = f"connection trouble twice: {reason}"
        return None

    async def _connect(self, host: str, port: int) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(hostname=host, port=port, start_tls=self.tls is not None,
                               tls_context=self.tls, timeout=self.timeout, local_hostname="client.bench.test")
        await smtp.connect()
        return smtp


async def _close(smtp: aiosmtplib.SMTP | None) -> None:
    """QUIT politely if the connection is still up; never raise."""
    if smtp is None:
        return
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
        if smtp.is_connected:
            await asyncio.wait_for(smtp.quit(), 5)
    smtp.close()
