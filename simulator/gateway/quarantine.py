"""Quarantines: messages a scanning engine held back, kept on disk until an administrator releases
them (BEHAVIOUR.md §2.4: a released message is delivered, and copied, at release).

Design rule: a held message is as durable as a queued one: its file (JSON header line, then the
received bytes) is flushed before the listener answers 250, and only removed once the entries of
its release are stored. Release re-plans the message against the configuration of that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from simulator.core.errors import CorruptEntry, NotFound
from simulator.core.mail.messages import Direction, HeldMessage, ReceivedMessage
from simulator.gateway.stored import pack, unpack, write_file


def encode_held(held: HeldMessage) -> bytes:
    """A held message as it is stored (see `stored.py`)."""
    m = held.message
    return pack({"mid": held.mid, "quarantine": held.quarantine, "policy": held.policy,
                 "rids": list(held.rids), "received_mid": m.mid, "icid": m.icid,
                 "direction": m.direction.value, "peer_ip": m.peer_ip, "mail_from": m.mail_from,
                 "rcpt_tos": list(m.rcpt_tos)}, m.raw)


def decode_held(stored: bytes) -> HeldMessage:
    """The held message a stored file holds; raises `CorruptEntry` saying what is wrong."""
    h, raw = unpack(stored)
    try:
        message = ReceivedMessage(h["received_mid"], h["icid"], Direction(h["direction"]), h["peer_ip"],
                                  h["mail_from"], tuple(h["rcpt_tos"]), raw)
        return HeldMessage(h["mid"], h["quarantine"], h["policy"], tuple(h["rids"]), message)
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptEntry(str(error) or type(error).__name__) from error


class Quarantines:
    """Every quarantine of one machine: in memory, and under `folder` when there is a data dir."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.held: dict[int, HeldMessage] = {}

    def load(self) -> list[tuple[Path, str]]:
        """Read what a previous run held; unreadable files are left in place and reported."""
        problems: list[tuple[Path, str]] = []
        for path in sorted(self.folder.glob("*.held")) if self.folder and self.folder.is_dir() else []:
            try:
                held = decode_held(path.read_bytes())
            except CorruptEntry as error:
                problems.append((path, str(error)))
                continue
            self.held[held.mid] = held
        return problems

    async def hold(self, messages: Iterable[HeldMessage]) -> None:
        """Keep `messages`, flushed to disk (raises OSError if the disk refuses)."""
        messages = list(messages)
        if self.folder is not None and messages:
            await asyncio.to_thread(self._write, messages)
        self.held.update((held.mid, held) for held in messages)

    def _write(self, messages: list[HeldMessage]) -> None:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        for held in messages:
            write_file(self.folder / f"{held.mid}.held.partial", self.folder / f"{held.mid}.held",
                       encode_held(held))

    def get(self, mid: int) -> HeldMessage:
        if mid not in self.held:
            raise NotFound(f"message: no message {mid} in a quarantine")
        return self.held[mid]

    def released(self, mid: int) -> None:
        """Forget `mid` once its release is stored."""
        self.held.pop(mid, None)
        if self.folder is not None:
            (self.folder / f"{mid}.held").unlink(missing_ok=True)
