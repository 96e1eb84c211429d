"""The kit as our gateway's Threat Defense Connector: journals sent with the gateway's own
`OutboundSession` (STARTTLS required, its TLS policy), each answer kept per journal.

Design rule: send as the gateway sends, and record, never judge. One round is one connection
carrying every journal still open, one transaction each (as a delivery batch does); a journal
answered 4xx, or left unsent because the connection ended, stays open for the next round on a new
connection after the target's retry wait; a 5xx closes it (the gateway would bounce it). Rounds
stop when nothing is open or the target's attempts are used up. The target's timeout bounds the
opening of a connection (connect, EHLO, STARTTLS) and each transaction; an endpoint that does not
answer within it loses the connection, as one that closes it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from simulator.conformance.endpoint.journals import Journal
from simulator.conformance.endpoint.smtp_probe import KIT_HOSTNAME, SYSTEM_ADDRESS
from simulator.conformance.endpoint.target import EndpointTarget
from simulator.conformance.endpoint.transcript import Transcript
from simulator.conformance.endpoint.wire import RecordingLoop
from simulator.core.config.values import NextHop
from simulator.core.errors import DeliveryError
from simulator.gateway.outbound import OutboundSession


@dataclass(frozen=True)
class Answer:
    """What became of one try of a journal: the endpoint's reply code (None: no reply) and text."""

    connection: int
    position: int  # the transaction's number on its connection (0: not sent on it)
    code: int | None
    text: str

    @property
    def temporary(self) -> bool:
        return self.code is not None and 400 <= self.code < 500


@dataclass
class JournalHistory:
    """One journal and every answer it got, in order."""

    journal: Journal
    answers: list[Answer] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return any(answer.code == 250 for answer in self.answers)

    @property
    def refused(self) -> bool:
        """Answered 5xx: the connector would not try it again."""
        return any(answer.code is not None and answer.code >= 500 for answer in self.answers)

    @property
    def open(self) -> bool:
        return not (self.accepted or self.refused)


@dataclass
class Delivery:
    """The journals of one check, what each got, and the transcript of every connection."""

    transcript: Transcript
    histories: list[JournalHistory]
    connections: int = 0
    sessions: int = 0  # connections that got through STARTTLS and EHLO to their first transaction

    def summary(self) -> str:
        """One line per journal: its answers in order."""
        return "\n".join(
            f"journal {history.journal.number}: " + "; ".join(
                f"connection {a.connection}" + (f" #{a.position}" if a.position else "") + f": {a.text}"
                for a in history.answers)
            for history in self.histories)


def deliver(target: EndpointTarget, journals: list[Journal], title: str) -> Delivery:
    """Send `journals` to the target's intake address, one connection per round."""
    delivery = Delivery(Transcript(title), [JournalHistory(journal) for journal in journals])
    with asyncio.Runner(loop_factory=lambda: RecordingLoop(delivery.transcript)) as runner:
        for round_number in range(1, target.attempts + 1):
            still_open = [history for history in delivery.histories if history.open]
            if not still_open:
                break
            if round_number > 1:
                delivery.transcript.note(f"{len(still_open)} journal(s) still open: trying again on a new "
                                         f"connection in {target.retry_wait:g} s")
                time.sleep(target.retry_wait)
            runner.run(_one_connection(target, still_open, delivery))
    return delivery


async def _one_connection(
    target: EndpointTarget, histories: list[JournalHistory], delivery: Delivery
) -> None:
    delivery.connections += 1
    number = delivery.connections
    delivery.transcript.note(f"connection {number}: the connector connects to {target.address} "
                             f"(STARTTLS required, certificate verified for {target.server_name})")
    session = OutboundSession(NextHop(target.host, target.port), target.connector_context(), True,
                              KIT_HOSTNAME)
    try:
        async with contextlib.AsyncExitStack() as stack:  # leaving it says QUIT, unless it raised
            await asyncio.wait_for(stack.enter_async_context(session), target.timeout)
            delivery.sessions += 1
            await _transactions(session, target, histories, number)
    except DeliveryError as error:  # the connection itself failed: connect, EHLO or TLS
        _not_sent(histories, number, str(error))
    except TimeoutError:
        delivery.transcript.note(f"no answer within {target.timeout:g} s: the connector gives up")
        _not_sent(histories, number, f"no answer within {target.timeout:g} s")
    finally:
        loop = asyncio.get_running_loop()
        if isinstance(loop, RecordingLoop):
            await loop.release()


def _not_sent(histories: list[JournalHistory], number: int, why: str) -> None:
    """Every journal that got no answer on connection `number` was not sent on it, because `why`."""
    for history in histories:
        if not any(answer.connection == number for answer in history.answers):
            history.answers.append(Answer(number, 0, None, f"not sent: {why}"))


async def _transactions(
    session: OutboundSession, target: EndpointTarget, histories: list[JournalHistory], number: int
) -> None:
    """One transaction per journal; the journals after a closed connection are not sent on it."""
    loop = asyncio.get_running_loop()
    for position, history in enumerate(histories, start=1):
        if isinstance(loop, RecordingLoop) and not loop.connection_open:
            _not_sent(histories, number, "the connection had ended")
            return
        try:
            answer = await asyncio.wait_for(_send(session, target.intake_address, history.journal, number,
                                                  position), target.timeout)
        except TimeoutError:
            history.answers.append(Answer(number, position, None, f"no answer within {target.timeout:g} s"))
            raise
        history.answers.append(answer)


async def _send(
    session: OutboundSession, intake: str, journal: Journal, number: int, position: int
) -> Answer:
    try:
        response, _ = await session.send(SYSTEM_ADDRESS, (intake,), journal.data)
    except DeliveryError as error:
        return Answer(number, position, error.code, str(error))
    return Answer(number, position, 250, f"250 {response}")
