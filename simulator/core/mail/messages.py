"""The values that travel through the gateway: received messages, queue entries and held
splinters, and their IDs.

Design rule: frozen values; a change of state makes a new value through the lifecycle table. A queue
entry or a held splinter carries its bytes as a `Body` (`body.py`), never as bytes of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum

from simulator.core.mail.body import Body
from simulator.core.mail.lifecycle import MessageState, transition
from simulator.core.mail.retry import RetrySchedule

TDC_QUEUE = "the.tdc.queue"


class Direction(Enum):
    """Which way mail flows, from the mail-flow policy of the injecting connection."""

    INCOMING = "inbound"  # ACCEPT
    OUTGOING = "outbound"  # RELAY, or any SMTP-AUTH session


@dataclass(frozen=True)
class Envelope:
    """A message as the listener accepted it, but for its bytes."""

    mid: int
    icid: int
    direction: Direction
    peer_ip: str
    mail_from: str
    rcpt_tos: tuple[str, ...]


@dataclass(frozen=True)
class ReceivedMessage(Envelope):
    """One message as the listener accepted it; `raw` is exactly the DATA bytes."""

    raw: bytes = field(repr=False)

    @property
    def envelope(self) -> Envelope:
        """The same message without its bytes."""
        return Envelope(self.mid, self.icid, self.direction, self.peer_ip, self.mail_from, self.rcpt_tos)


@dataclass(frozen=True)
class HeldMessage:
    """One splinter in a quarantine: the message as received (its envelope, and its bytes as a
    `Body`), and whom of it this splinter is."""

    mid: int
    quarantine: str
    policy: str
    rids: tuple[int, ...]
    message: Envelope
    body: Body

    def received(self, raw: bytes) -> ReceivedMessage:
        """The message as received again, with `raw` (its body's bytes, read)."""
        m = self.message
        return ReceivedMessage(m.mid, m.icid, m.direction, m.peer_ip, m.mail_from, m.rcpt_tos, raw)

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(self.message.rcpt_tos[rid] for rid in self.rids)


@dataclass(frozen=True)
class QueueEntry:
    """Recipients of one message waiting in one destination queue."""

    mid: int
    sender: str
    recipients: tuple[str, ...]
    rids: tuple[int, ...]
    body: Body
    destination: str
    schedule: RetrySchedule
    state: MessageState = MessageState.QUEUED
    original_mid: int | None = None  # set on journal copies: the message it copies

    @property
    def key(self) -> str:
        """Unique among queued entries: the MID and its first RID (entries split a MID's RIDs)."""
        return f"{self.mid}-{self.rids[0]}"

    @property
    def is_copy(self) -> bool:
        return self.original_mid is not None

    @property
    def domain(self) -> str:
        """The domain whose route this entry follows."""
        return self.recipients[0].rpartition("@")[2].lower()

    def moved_to(self, state: MessageState) -> QueueEntry:
        """This entry in `state`, if the lifecycle table allows the move."""
        return replace(self, state=transition(self.state, state))

    def subset(self, addresses: Iterable[str]) -> QueueEntry:
        """The same entry for only some of its recipients (RIDs kept)."""
        wanted = set(addresses)
        pairs = [(rid, r) for rid, r in zip(self.rids, self.recipients, strict=True) if r in wanted]
        return replace(self, rids=tuple(p[0] for p in pairs), recipients=tuple(p[1] for p in pairs))

    def due_now(self) -> QueueEntry:
        """The same entry, due at once (a restart attempts every queued entry immediately)."""
        return replace(self, schedule=self.schedule.retry_now())

    def retried(self, schedule: RetrySchedule) -> QueueEntry:
        """Deferred, to be tried again when `schedule` says."""
        return replace(self.moved_to(MessageState.DEFERRED), schedule=schedule)


_ID_RE = re.compile(r"\b(ICID|MID|DCID) (\d+)")


def next_ids(stored: dict[str, int], spooled_mids: Iterable[int], log_text: str) -> dict[str, int]:
    """Where a restart continues each sequence: past what was stored at the last clean stop, past
    every spooled MID (queue entries' and held splinters') and past every ID the mail log names
    (after a crash, the last two)."""
    highest = {"icid": 0, "mid": 0, "dcid": 0}
    for kind, number in _ID_RE.findall(log_text):
        highest[kind.lower()] = max(highest[kind.lower()], int(number))
    highest["mid"] = max([highest["mid"], *spooled_mids])
    return {kind: max(stored.get(kind, 1), value + 1) for kind, value in highest.items()}


class IdCounters:
    """The machine's ICID, MID and DCID sequences; `snapshot` gives the next of each."""

    def __init__(self, icid: int = 1, mid: int = 1, dcid: int = 1) -> None:
        self._next = {"icid": icid, "mid": mid, "dcid": dcid}

    def _take(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    def next_icid(self) -> int:
        return self._take("icid")

    def next_mid(self) -> int:
        return self._take("mid")

    def next_dcid(self) -> int:
        return self._take("dcid")

    def snapshot(self) -> dict[str, int]:
        """The next value of each sequence (what a restart must continue from)."""
        return dict(self._next)
