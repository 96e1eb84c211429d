"""A spool unit: every queue entry and held splinter that the messages flushed together (one group
commit, `group_commit.py`) left in the gateway's keeping (originals per destination, their journal
copies, quarantined splinters), in one file; a message's entries are always in one unit.

Design rule: a unit file is written once, whole, and never changed: a header naming its entries
and held splinters, then their bodies (`blobs`, each stored once however many entries share it).
What of a unit is still to do is its `Contents`; when that changes (an entry delivered, deferred
or a splinter released) the spool keeps the new `Contents` in a small state file beside the unit,
which refers to the unit's blobs by number. A unit may release held splinters of older units.
Once stored, the entries and splinters of a unit carry its blobs as bodies placed in the file
(`bodies.py`): the large ones a reference to where the file keeps them, never the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulator.core.errors import CorruptEntry
from simulator.core.mail.body import Body
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import Direction, Envelope, HeldMessage, QueueEntry
from simulator.core.mail.retry import RetrySchedule
from simulator.gateway.bodies import place
from simulator.gateway.stored import pack, unpack

Header = dict[str, Any]
DAMAGE = (ValueError, KeyError, TypeError, IndexError, AttributeError)


@dataclass
class Contents:
    """What of one unit is still to do: entry headers by entry key, held splinters' by MID."""

    entries: dict[str, Header] = field(default_factory=dict)
    held: dict[int, Header] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not self.entries and not self.held

    def header(self) -> Header:
        return {"entries": list(self.entries.values()), "held": list(self.held.values())}


def entry_header(entry: QueueEntry, blob: int) -> Header:
    """Everything of `entry` but its bytes, which are the unit's blob number `blob`."""
    return {"mid": entry.mid, "sender": entry.sender, "recipients": list(entry.recipients),
            "rids": list(entry.rids), "destination": entry.destination,
            "original_mid": entry.original_mid, "queued_at": entry.schedule.queued_at.isoformat(),
            "next_attempt": entry.schedule.next_attempt.isoformat(),
            "failures": entry.schedule.failures, "blob": blob}


def entry_from(h: Header, blobs: Sequence[Body]) -> QueueEntry:
    schedule = RetrySchedule(datetime.fromisoformat(h["queued_at"]),
                             datetime.fromisoformat(h["next_attempt"]), int(h["failures"]))
    return QueueEntry(
        mid=h["mid"], sender=h["sender"], recipients=tuple(h["recipients"]), rids=tuple(h["rids"]),
        body=blobs[h["blob"]], destination=h["destination"], schedule=schedule,
        original_mid=h["original_mid"],
        state=MessageState.DEFERRED if schedule.failures else MessageState.QUEUED,
    )


def held_header(held: HeldMessage, blob: int) -> Header:
    """Everything of a held splinter but the received bytes, which are blob number `blob`."""
    m = held.message
    return {"mid": held.mid, "quarantine": held.quarantine, "policy": held.policy,
            "rids": list(held.rids), "received_mid": m.mid, "icid": m.icid,
            "direction": m.direction.value, "peer_ip": m.peer_ip, "mail_from": m.mail_from,
            "rcpt_tos": list(m.rcpt_tos), "blob": blob}


def held_from(h: Header, blobs: Sequence[Body]) -> HeldMessage:
    message = Envelope(h["received_mid"], h["icid"], Direction(h["direction"]), h["peer_ip"],
                       h["mail_from"], tuple(h["rcpt_tos"]))
    return HeldMessage(h["mid"], h["quarantine"], h["policy"], tuple(h["rids"]), message,
                       blobs[h["blob"]])


def contents_from(header: Header) -> Contents:
    return Contents({f"{h['mid']}-{h['rids'][0]}": h for h in header["entries"]},
                    {int(h["mid"]): h for h in header["held"]})


def materialise(contents: Contents, blobs: Sequence[Body]) -> tuple[list[QueueEntry], list[HeldMessage]]:
    """The entries and held splinters `contents` describes; `CorruptEntry` if it cannot."""
    try:
        return ([entry_from(h, blobs) for h in contents.entries.values()],
                [held_from(h, blobs) for h in contents.held.values()])
    except DAMAGE as error:
        raise CorruptEntry(f"{type(error).__name__}: {error}") from error


@dataclass(frozen=True)
class Encoded:
    """A new unit as it is to be stored, and its contents (what the spool tracks of it from now on)."""

    stored: bytes
    contents: Contents
    sizes: list[int]  # of its blobs, stored one after another at the end of `stored`

    def bodies(self, path: Path, threshold: int) -> list[Body]:
        """Its blobs once stored as `path` (references for those larger than `threshold`)."""
        return place(self.stored, len(self.stored) - sum(self.sizes), self.sizes, path, threshold)


def encode_unit(
    entries: Sequence[QueueEntry], held: Sequence[HeldMessage], releases: Sequence[int] = (),
) -> Encoded:
    """A new unit of `entries`, `held` splinters and the held MIDs it `releases`."""
    blobs: list[bytes] = []
    numbers: dict[int, int] = {}  # by identity: the splinters of a message share one bytes object

    def blob(body: Body) -> int:
        data = body.read()
        if id(data) not in numbers:
            numbers[id(data)] = len(blobs)
            blobs.append(data)
        return numbers[id(data)]

    contents = Contents({entry.key: entry_header(entry, blob(entry.body)) for entry in entries},
                        {each.mid: held_header(each, blob(each.body)) for each in held})
    sizes = [len(b) for b in blobs]
    header = {**contents.header(), "releases": list(releases), "blobs": sizes}
    return Encoded(pack(header, b"".join(blobs)), contents, sizes)


@dataclass(frozen=True)
class Unit:
    """A unit file as read back: its blobs as bodies placed in the file, and the entries and held
    splinters its `contents` describe (materialised once, when read)."""

    contents: Contents
    blobs: list[Body]
    releases: tuple[int, ...]
    entries: list[QueueEntry] = field(repr=False)
    held: list[HeldMessage] = field(repr=False)

    @classmethod
    def of(cls, contents: Contents, blobs: list[Body], releases: tuple[int, ...]) -> Unit:
        """The unit of `contents`, materialised; `CorruptEntry` if it cannot be."""
        return cls(contents, blobs, releases, *materialise(contents, blobs))


def decode_unit(stored: bytes, path: Path, threshold: int) -> Unit:
    """The unit the file `path` holds (`stored`: its bytes); raises `CorruptEntry` saying what is
    wrong. Blobs larger than `threshold` are references to `path`, the others in memory."""
    header, body = unpack(stored)
    try:
        sizes = [int(size) for size in header["blobs"]]
        if sum(sizes) != len(body) or min(sizes, default=0) < 0:
            raise ValueError(f"blob sizes {sum(sizes)} bytes, body {len(body)}")
        blobs = place(stored, len(stored) - len(body), sizes, path, threshold)
        contents, releases = contents_from(header), tuple(int(mid) for mid in header["releases"])
    except DAMAGE as error:
        raise CorruptEntry(f"{type(error).__name__}: {error}") from error
    return Unit.of(contents, blobs, releases)  # materialised: checked


def encode_state(contents: Contents) -> bytes:
    return pack(contents.header(), b"")


def decode_state(stored: bytes) -> Contents:
    """The contents a state file holds; raises `CorruptEntry` saying what is wrong."""
    header, _ = unpack(stored)
    try:
        return contents_from(header)
    except DAMAGE as error:
        raise CorruptEntry(f"{type(error).__name__}: {error}") from error
