"""The sandbox under fuzz: a `tdcsim sandbox` child process, seen from outside.

Design rule: the fuzzer shares nothing with the sandbox but its sockets, its files and its stderr,
so a dying worker, a crash or an exit status is visible as it would be to an operator. Every port is
0 and read back from `sandbox.json` (fixtures.processes does the starting); the mail log and stderr
are read incrementally, so what appeared can be pinned to the session that just ran.
"""

from __future__ import annotations

import os
import signal
import ssl
from pathlib import Path
from typing import Any

from fixtures.processes import SandboxProcess
from simulator.defaults import mail_log_path
from simulator.gateway.rolled import rolled_logs

TARGET_KEYS = {"inbound": ("machines", "esa1", "inbound"), "relay": ("machines", "esa1", "relay"),
               "threat_defense": ("threat_defense",), "mailbox": ("mailbox",)}


class Tail:
    """The text appended to a file since the last `new()`; after a rollover (the file renamed,
    `mail.current` → `mail.@<timestamp>.s`, and a new one begun) the renamed file's rest comes first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inode, self._offset = 0, 0

    def new(self) -> str:
        try:
            with self.path.open("rb") as file:
                inode = os.fstat(file.fileno()).st_ino
                rest = self._rest_of_rolled() if inode != self._inode and self._inode else b""
                if inode != self._inode:
                    self._inode, self._offset = inode, 0
                file.seek(self._offset)
                text = file.read()
        except FileNotFoundError:
            return ""
        self._offset += len(text)
        return (rest + text).decode("utf-8", "replace")

    def _rest_of_rolled(self) -> bytes:
        for rolled in rolled_logs(self.path):
            if rolled.stat().st_ino == self._inode:
                with rolled.open("rb") as file:
                    file.seek(self._offset)
                    return file.read()
        return b""


class Child:
    """`tdcsim sandbox --data-dir DATA` with every port 0, and `options` (e.g. faults) after them."""

    def __init__(self, data_dir: Path, options: list[str]) -> None:
        self.process = SandboxProcess(data_dir, *options, cwd=Path(__file__).resolve().parent.parent)
        self.data_dir = data_dir
        self.description: dict[str, Any] = {}
        self._tls: ssl.SSLContext | None = None
        self.stderr = Tail(self.process.stderr_file)
        self.mail_log = Tail(mail_log_path(data_dir, "esa1"))

    def start(self) -> None:
        """Start and wait for `sandbox.json` (AssertionError, with stderr, if the child cannot)."""
        self.description = self.process.start()

    def address(self, target: str) -> tuple[str, int]:
        place: Any = self.description
        for key in TARGET_KEYS[target]:
            place = place[key]
        return str(place["host"]), int(place["port"])

    def tls(self) -> ssl.SSLContext:
        """A client context trusting the sandbox CA (TLS 1.2 at least, as the sandbox asks); one for
        every session (a context holds no connection state; making one reads the CA file)."""
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self.description["ca_cert"])
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        return self._tls

    def exit_status(self) -> int | None:
        """None while the child runs, else how it ended."""
        assert self.process.process is not None
        return self.process.process.poll()

    def stop(self) -> int:
        """SIGTERM; the exit status (SIGKILL and -9 if it does not end within the timeout)."""
        if self.exit_status() is not None:
            return self.exit_status() or 0
        return self.process.stop(signal.SIGTERM)

    def kill(self) -> None:
        self.process.kill()
