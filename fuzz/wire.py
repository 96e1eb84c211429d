"""Plays one session over a raw socket and pairs every reply with the line it answers.

Design rule: the client sends exactly the session's bytes (no client library would send them) and
waits for exactly the replies aiosmtpd owes: one per LF-terminated line in command mode, one per
`.<CRLF>` line in DATA mode (entered on a 354); a 220 to STARTTLS starts TLS, verified against the
sandbox CA, and forgets lines pipelined after it (the server must drop them). Every wait is bounded:
a reply that does not come within `timeout` ends the session as "(timeout)".
"""

from __future__ import annotations

import socket
import ssl
import struct
from dataclasses import dataclass, field

from fuzz.sessions import Session, Step

CLOSED, TIMEOUT, TLS_FAILED = "(closed)", "(timeout)", "(tls failed)"
END_OF_DATA, TLS_HANDSHAKE = b"<end of data>", b"<tls handshake>"


@dataclass(frozen=True)
class Exchange:
    """A line the client sent (b"" for the banner) and the server's reply, or a pseudo-code."""

    line: bytes
    code: str
    reply: bytes = b""  # exactly what the server sent
    note: str = ""  # the client's side: why there is no (whole) reply

    @property
    def verb(self) -> str:
        """The command word, upper case ("<banner>", "<data>" for the end of DATA)."""
        if not self.line:
            return "<banner>"
        if self.line in (END_OF_DATA, TLS_HANDSHAKE):
            return self.line.decode()
        word = self.line.split(maxsplit=1)[0] if self.line.strip() else b""
        return word.decode("ascii", "replace").upper()[:12] if word.isalpha() else "<other>"


@dataclass
class Transcript:
    """What happened in one session."""

    session: Session
    exchanges: list[Exchange] = field(default_factory=list)
    connected: bool = False


class Wire:
    """One connection to `address`, speaking `session`."""

    def __init__(self, address: tuple[str, int], tls: ssl.SSLContext, timeout: float) -> None:
        self._address, self._tls, self._timeout = address, tls, timeout
        self._sock: socket.socket | None = None
        self._received = b""
        self._data_mode = False
        self._pending = b""  # the start of a line not yet ended

    def play(self, session: Session) -> Transcript:
        transcript = Transcript(session)
        try:
            self._sock = socket.create_connection(self._address, timeout=self._timeout)
            transcript.connected = True
            self._expect(transcript, b"")
            for step in session.steps:
                if self._sock is None or not self._step(step, transcript):
                    break
        except OSError as error:
            transcript.exchanges.append(Exchange(self._pending, CLOSED, note=repr(error)))
        finally:
            self.hang_up()
        return transcript

    def hang_up(self, reset: bool = False) -> None:
        if self._sock is not None:
            if reset:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._sock.close()
            self._sock = None

    def _step(self, step: Step, transcript: Transcript) -> bool:
        """Carry out one step; False once the connection is over."""
        if step.action != "send":
            self.hang_up(reset=step.action == "abort")
            return False
        assert self._sock is not None
        self._sock.sendall(step.data)
        return self._answers(self._pending + step.data, transcript)

    def _answers(self, text: bytes, transcript: Transcript) -> bool:
        """Wait for the reply to each line `text` ends; keep its unended tail for the next step."""
        while True:
            end = text.find(b"\r\n" if self._data_mode else b"\n")
            if end < 0:
                self._pending = text
                return True
            cut = end + (2 if self._data_mode else 1)
            line, text = text[:cut], text[cut:]
            if self._data_mode and line != b".\r\n":
                continue
            exchange = self._expect(transcript, END_OF_DATA if self._data_mode else line)
            self._data_mode = exchange.code == "354"
            if exchange.code in (CLOSED, TIMEOUT, TLS_FAILED) or exchange.code in ("221", "421"):
                return False
            if exchange.code == "220" and line.strip().upper() == b"STARTTLS":
                self._pending = b""
                return self._start_tls(transcript)

    def _start_tls(self, transcript: Transcript) -> bool:
        assert self._sock is not None
        try:
            self._sock = self._tls.wrap_socket(self._sock, server_hostname="localhost")
        except (ssl.SSLError, OSError) as error:
            transcript.exchanges.append(Exchange(TLS_HANDSHAKE, TLS_FAILED, note=str(error)))
            return False
        self._received = b""
        return True

    def _expect(self, transcript: Transcript, line: bytes) -> Exchange:
        exchange = self._reply(line)
        transcript.exchanges.append(exchange)
        return exchange

    def _reply(self, line: bytes) -> Exchange:
        """The next whole reply (every line of a multi-line one), or a pseudo-code."""
        lines: list[bytes] = []
        while not lines or lines[-1][3:4] == b"-":
            try:
                lines.append(self._line())
            except TimeoutError:
                return Exchange(line, TIMEOUT, b"\r\n".join(lines), f"no reply within {self._timeout} s")
            except (ConnectionError, EOFError, ssl.SSLError) as error:
                return Exchange(line, CLOSED, b"\r\n".join(lines), repr(error))
        code = lines[-1][:3].decode("ascii", "replace")
        return Exchange(line, code if code.isdecimal() else "(garbled)", b"\r\n".join(lines))

    def _line(self) -> bytes:
        assert self._sock is not None
        while b"\n" not in self._received:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self._received += chunk
        line, _, self._received = self._received.partition(b"\n")
        return line.rstrip(b"\r")
