"""The mock endpoints' common part: connection numbering, TLS state, scripted faults, and failures.

Design rule: the Threat Defense and mailbox handlers consult their `FaultPlan` before their own
logic (protocol apart from policy: aiosmtpd still owns the grammar around them); each new
connection gets the TLS context its plan asks for. A plan belongs to one endpoint instance.
Trouble storing a message is `452 4.3.1` (BEHAVIOUR.md §8.9: temporary, so the sender retries);
any other exception is the named `451 4.3.0`, recorded in `failures` with its traceback, and its
text never reaches the wire. The endpoints set no connection limits: the gateways are their clients.
Every refusal (the endpoint's own, a fault's, a failed TLS handshake) is kept in `refused` (§8.9).
An endpoint's own work runs off the loop in `Batches`: one worker thread, woken once for whatever
queued while it was busy, answering the loop once per batch (a hop per message cost more than the
storing it carried).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from aiosmtpd.smtp import Envelope, Session

from simulator.core import replies
from simulator.core.records import Records
from simulator.endpoints.faults import Command, FaultPlan
from simulator.endpoints.refused import DROPPED, TLS_FAILED, RefusedLog
from simulator.transport.limits import ConnectionLimits
from simulator.transport.server import SmtpServer
from simulator.transport.smtp import ObservedSMTP
from simulator.transport.tls import FaultTlsContexts, SandboxTls

_log = logging.getLogger(__name__)
FAILURES_KEPT = 1000  # a long-running sandbox keeps only the latest failures
Result = TypeVar("Result")


class Batches(Generic[Result]):
    """Work run in order on one worker thread, in batches: `run` queues a call and waits for its
    result; the thread takes everything queued at once and answers each loop once per batch."""

    def __init__(self, thread_name: str) -> None:
        # The executor lends its thread and its lifecycle (work queued is finished at exit)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=thread_name)
        self._queued: list[_Queued[Result]] = []
        self._lock = threading.Lock()  # `_queued` and `_draining` change together
        self._draining = False

    async def run(self, work: Callable[[], Result]) -> Result:
        """`work()` on the worker thread: its result, or what it raised."""
        queued: _Queued[Result] = _Queued(work, asyncio.get_running_loop().create_future())
        with self._lock:
            self._queued.append(queued)
            idle, self._draining = not self._draining, True
        if idle:
            self._wake()
        return await queued.future

    def _wake(self) -> None:
        try:
            self._worker.submit(self._drain)
        except RuntimeError as error:  # shut down: nothing will carry out what is queued
            with self._lock:
                stranded, self._queued, self._draining = self._queued, [], False
            for each in stranded:
                each.error = error
            _settle(stranded)

    def _drain(self) -> None:
        """Run batches until none is queued (on the worker thread)."""
        while True:
            with self._lock:
                batch, self._queued = self._queued, []
                if not batch:
                    self._draining = False
                    return
            for each in batch:
                if not each.future.cancelled():  # as an executor's queued work: its command went away
                    each.carry_out()
            for loop in {each.future.get_loop() for each in batch}:
                answers = [each for each in batch if each.future.get_loop() is loop]
                with contextlib.suppress(RuntimeError):  # a loop closed since: no one left to answer
                    loop.call_soon_threadsafe(_settle, answers)


class _Queued(Generic[Result]):
    """One call queued in `Batches`, the future its command waits on, and, once run, its outcome."""

    def __init__(self, work: Callable[[], Result], future: asyncio.Future[Result]) -> None:
        self.work, self.future = work, future
        self.result: Result | None = None
        self.error: BaseException | None = None

    def carry_out(self) -> None:
        try:
            self.result = self.work()
        except BaseException as error:  # given to the waiting command, which answers for it
            self.error = error

    def settle(self) -> None:
        """Give the waiting command the outcome (on its loop); a command that went away needs none."""
        if self.future.done():
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(cast(Result, self.result))  # set by carry_out


def _settle(batch: list[_Queued[Any]]) -> None:
    for each in batch:
        each.settle()


def endpoint_server(
    name: str, handler: EndpointHandler, host: str, port: int, tls: SandboxTls, **smtp_options: Any
) -> SmtpServer:
    """A mock endpoint's server: each new connection gets the TLS context its fault plan asks for."""
    contexts = FaultTlsContexts(tls)

    def tls_options() -> dict[str, Any]:
        return {"tls_context": contexts.context(handler.faults.tls_fault)}

    return SmtpServer(name, handler, host, port, per_connection=tls_options, **smtp_options)


@dataclass(frozen=True)
class EndpointFailure:
    """A command the endpoint could not answer (its reply said only 4xx): the endpoint's own record."""

    connection: int | None
    reply: str
    error: str
    traceback: str


class EndpointConnection:
    """A mock endpoint's view of one client connection."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.messages = 0


class EndpointHandler:
    """Base of the mock endpoints' handlers: numbers connections, reads their TLS state, plays faults."""

    def __init__(self, faults: FaultPlan | None = None, refused: RefusedLog | None = None) -> None:
        self._numbers = itertools.count(1)
        self.faults = faults if faults is not None else FaultPlan()
        self.failures: Records[EndpointFailure] = Records(FAILURES_KEPT)
        self.refused = refused if refused is not None else RefusedLog()

    def refuse(self, server: ObservedSMTP, command: str, reply: str) -> str:
        """Record that `command` was refused with `reply` (a line, or what happened), and give it;
        a `421` ("closing transmission channel") closes the connection once the reply is written."""
        connection: EndpointConnection | None = server.connection
        self.refused.record(connection.number if connection else None, server.peer_ip, command, reply)
        if reply.startswith("421"):
            server.loop.call_soon(server.close_connection)  # runs after the reply is written
        return reply

    def connection_limits(self) -> ConnectionLimits | None:
        """None: any number of gateway connections."""
        return None

    async def command_failed(self, server: ObservedSMTP, error: Exception) -> str:
        """Storage trouble is `452 4.3.1`, anything else `451 4.3.0`; recorded, never on the wire."""
        reply = replies.STORAGE_TROUBLE if isinstance(error, OSError) else replies.INTERNAL_ERROR
        return self.failed(server, error, reply)

    def failed(self, server: ObservedSMTP, error: Exception, reply: replies.Reply, command: str = "") -> str:
        """Record that `error` made the endpoint answer `reply`, and give that reply's line."""
        connection: EndpointConnection | None = server.connection
        trace = "".join(traceback.format_exception(error))
        self.failures.append(EndpointFailure(connection.number if connection else None, reply.line,
                                             repr(error), trace))
        _log.warning("%s answered %s: %r", type(self).__name__, reply.line, error)
        return self.refuse(server, command, reply.line)

    def connection_opened(self, server: ObservedSMTP) -> EndpointConnection:
        connection = EndpointConnection(next(self._numbers))
        if self.faults.drops("CONNECT"):
            server.abort_connection()  # before aiosmtpd's banner task writes anything
            self.refused.record(connection.number, server.peer_ip, "CONNECT", DROPPED)
        return connection

    async def fault_reply(self, server: ObservedSMTP, command: Command) -> str | None:
        """The scripted answer to `command`, or None to go on; a fault may also delay or drop."""
        if self.faults.drops(command):
            self.refuse(server, command, DROPPED)
            await server.drop()
        if delay := self.faults.delay(command):
            await asyncio.sleep(delay)
        reply = self.faults.take_reply(command)
        if reply is None:
            return None
        return self.refuse(server, command, reply.line)

    def refuse_sender(self, server: ObservedSMTP, session: Session) -> str | None:
        """The endpoint's own refusal of MAIL, or None; subclasses decide."""
        return None

    def refuse_recipient(self, address: str) -> str | None:
        """The endpoint's own refusal of RCPT, or None; subclasses decide."""
        return None

    async def handle_MAIL(
        self, server: ObservedSMTP, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        """A scripted fault first, then the endpoint's own rule, then accept the sender."""
        refusal = await self.fault_reply(server, "MAIL")
        if refusal is None and (own := self.refuse_sender(server, session)) is not None:
            refusal = self.refuse(server, "MAIL", own)
        if refusal is not None:
            return refusal
        envelope.mail_from, envelope.mail_options = server.address_as_written(address), list(mail_options)
        return replies.SENDER_OK.line

    async def handle_RCPT(
        self, server: ObservedSMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        """A scripted fault first, then the endpoint's own rule, then accept the recipient."""
        address = server.address_as_written(address)
        refusal = await self.fault_reply(server, "RCPT")
        if refusal is None and (own := self.refuse_recipient(address)) is not None:
            refusal = self.refuse(server, "RCPT", own)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return replies.RECIPIENT_OK.line

    async def before_data(self, server: ObservedSMTP) -> str | None:
        """The DATA command before its 354: only a fault answers here."""
        return await self.fault_reply(server, "DATA")

    def connection_closed(self, server: ObservedSMTP) -> None:
        """A STARTTLS whose handshake failed is a refused attempt; nothing else to do."""
        if server.tls_failed:
            reason = getattr(server.tls_error, "reason", None)  # OpenSSL's name, never Python's text
            self.refuse(server, "STARTTLS", f"{TLS_FAILED}: {reason}" if reason else TLS_FAILED)

    @staticmethod
    def tls_of(session: Any) -> tuple[str, str]:
        """(protocol, cipher) of the session, or ("", "") in plaintext."""
        if not session.ssl:
            return "", ""
        ssl_object = session.ssl.get("ssl_object")
        cipher = ssl_object.cipher() if ssl_object is not None else None
        version = ssl_object.version() if ssl_object is not None else ""
        return version or "", cipher[0] if cipher else ""
