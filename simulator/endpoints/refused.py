"""The mock endpoints' records of refused attempts (BEHAVIOUR.md §8.9), for a vendor debugging a connector.

Design rule: every attempt an endpoint refuses is one `RefusedAttempt` (time from the injected clock,
connection number, peer, command, reply as written on the wire, or what happened instead of a reply):
`530` before STARTTLS, `550 5.1.1`, a TLS handshake that failed, `421` after the 10th message, every
scripted fault (a dropped connection too), storage trouble and internal errors. The latest are kept
in memory (`Records`, bounded like the journals) and each is also appended, as one JSON line, to
`refused.jsonl` in the endpoint's data folder under the same lock, so the file keeps their order.
A record that cannot be written to the file is logged and still kept in memory: keeping a record
never changes what the endpoint answers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from simulator.core.clock import Clock, SystemClock
from simulator.core.records import Records

_log = logging.getLogger(__name__)
REFUSED_FILE = "refused.jsonl"
#: What a record says instead of a reply when the endpoint closed without one.
DROPPED = "(connection dropped without a reply)"
TLS_FAILED = "(TLS handshake failed)"
#: Each endpoint's folder in the data dir: its store, and its `refused.jsonl`.
ENDPOINT_FOLDERS = {"threat_defense": "threat-defense", "mailbox": "mailbox"}


@dataclass(frozen=True)
class RefusedAttempt:
    """One attempt an endpoint refused."""

    time: str  # ISO 8601, UTC
    connection: int | None  # the endpoint's connection number (None: not known)
    peer: str  # the client's IP address
    command: str  # CONNECT, STARTTLS, MAIL, RCPT, DATA, END (end of data), or "" if not known
    reply: str  # the reply line as sent, or DROPPED / TLS_FAILED with the reason

    def summary(self) -> dict[str, object]:
        return asdict(self)


class RefusedLog:
    """One endpoint's refused attempts: in memory, and in `folder/refused.jsonl` when it has a folder."""

    def __init__(self, folder: Path | None = None, clock: Clock | None = None, kept: int | None = None):
        self.path = folder / REFUSED_FILE if folder is not None else None
        self._clock = clock if clock is not None else SystemClock()
        self.records: Records[RefusedAttempt] = Records(kept)
        self._folder_made = False  # made before the first write, not per record (again if it failed)

    def record(self, connection: int | None, peer: str, command: str, reply: str) -> RefusedAttempt:
        """Keep one refused attempt (and append it to the file)."""
        attempt = RefusedAttempt(self._clock.now().isoformat(), connection, peer, command, reply)
        self.records.append(attempt, also=lambda: self._write(attempt))
        return attempt

    def _write(self, attempt: RefusedAttempt) -> None:
        if self.path is None:
            return
        line = json.dumps(attempt.summary(), sort_keys=True) + "\n"
        try:
            if not self._folder_made:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._folder_made = True
            with self.path.open("a", encoding="utf-8") as stream:
                stream.write(line)
        except OSError as trouble:
            _log.warning("cannot record a refused attempt in %s: %s", self.path, trouble)

    def snapshot(self) -> list[RefusedAttempt]:
        return self.records.snapshot()
