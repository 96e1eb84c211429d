"""The one client every phase uses: N concurrent aiosmtplib senders, each reusing one connection.

Design rule: the same client for the baseline and the sandbox, so only the server differs. Plain
SMTP (no STARTTLS) to both: TLS is the gateway's cost towards Threat Defense, not the client's. A
message is sent once; only a connection that broke before the message's 250 is reopened and the
message resent, once (counted: a resend the server had in fact kept shows up as a duplicate).
The time of each 250 is kept (wall clock, ns) to compare with file mtimes written by the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import aiosmtplib

from bench.corpus import Corpus

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


class Client:
    """Sends `corpus` messages to `host:port` over `senders` connections."""

    def __init__(self, host: str, port: int, corpus: Corpus, senders: int = 4, timeout: float = 30.0):
        self.host, self.port, self.corpus = host, port, corpus
        self.senders, self.timeout = senders, timeout
        self.log = SendLog()

    async def send(self, first: int, count: int, rate: float | None = None, gate: Gate | None = None) -> None:
        """Messages `first`..`first+count-1`; `rate` (msg/s) paces them, `gate` may hold each back."""
        self.log = SendLog()
        numbers = iter(range(first, first + count))
        start = asyncio.get_running_loop().time()

        def due(seq: int) -> float | None:
            return start + (seq - first) / rate if rate else None

        async with asyncio.TaskGroup() as senders:  # one failing (a gate giving up) stops them all
            for _ in range(self.senders):
                senders.create_task(self._sender(numbers, due, gate))

    async def _sender(self, numbers: Iterator[int], due: Callable[[int], float | None],
                      gate: Gate | None) -> None:
        smtp: aiosmtplib.SMTP | None = None
        loop = asyncio.get_running_loop()
        try:
            for seq in numbers:  # shared: each sender takes the next number when it is free
                when = due(seq)
                if when is not None:
                    await asyncio.sleep(max(0.0, when - loop.time()))
                if gate is not None:
                    await gate()
                smtp = await self._send_one(smtp, seq)
        finally:
            await _close(smtp)

    async def _send_one(self, smtp: aiosmtplib.SMTP | None, seq: int) -> aiosmtplib.SMTP | None:
        """Send message `seq`, reconnecting once; returns the connection to reuse (None if broken)."""
        mail, reason = self.corpus.mail(seq), ""
        for attempt in range(2):
            try:
                smtp = smtp or await self._connect()
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

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port, start_tls=False, timeout=self.timeout,
                               local_hostname="client.bench.test")
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
