"""A small synchronous SMTP client for the protocol-level checks, writing every line to a transcript.

Design rule: the probes must do what the connector never does (MAIL before STARTTLS, a handshake
with one TLS version only), so they speak SMTP themselves over a plain socket; anything that goes
wrong on the wire (refused, closed, timed out, not SMTP, a failed handshake) is written to the
transcript and raised as `ProbeBroken` or returned as a `Handshake`, never as a Python traceback.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

from simulator.conformance.endpoint.target import EndpointTarget
from simulator.conformance.endpoint.transcript import Transcript
from simulator.core.config.values import GatewayConfig

_GATEWAY = GatewayConfig()  # the kit introduces itself as our gateway does by default
KIT_HOSTNAME = _GATEWAY.hostname  # in EHLO, and in the journals' Message-IDs
SYSTEM_ADDRESS = _GATEWAY.system_address  # the connector's envelope sender
MAX_LINE = 4096
_REPLY_LINE = re.compile(r"^(\d{3})([ -])(.*)$")


class ProbeBroken(Exception):
    """The session ended before the probe was done; the transcript says how."""


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: its code and its lines' texts."""

    code: int
    texts: tuple[str, ...]

    @property
    def line(self) -> str:
        return f"{self.code} {self.texts[-1]}" if self.texts else str(self.code)

    def keywords(self) -> frozenset[str]:
        """The EHLO keywords (every line but the greeting), upper-cased."""
        return frozenset(text.split(" ")[0].upper() for text in self.texts[1:] if text)


@dataclass(frozen=True)
class Handshake:
    """How a STARTTLS handshake ended: the TLS version and cipher, or why it failed."""

    version: str = ""
    cipher: str = ""
    error: str = ""
    names: tuple[str, ...] = ()  # the names a verified certificate carries (an unverified one: none)

    @property
    def established(self) -> bool:
        return not self.error


class ProbeClient:
    """One connection to the endpoint under test; a context manager that always closes it."""

    def __init__(self, target: EndpointTarget, transcript: Transcript) -> None:
        self.target, self.transcript = target, transcript
        self._sock: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> ProbeClient:
        self.transcript.note(f"connecting to {self.target.address}")
        try:
            self._sock = socket.create_connection((self.target.host, self.target.port), self.target.timeout)
        except OSError as error:
            self.give_up(f"cannot connect: {describe(error)}")
        banner = self.read_reply()
        if banner.code != 220:
            self.give_up(f"the greeting is {banner.code}, not 220")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._sock is not None and kind is None:
            with contextlib.suppress(ProbeBroken):
                self.command("QUIT")
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def give_up(self, why: str) -> NoReturn:
        """Write `why` to the transcript, close the connection and raise `ProbeBroken`."""
        self.transcript.note(why)
        self.close()
        raise ProbeBroken(why)

    def command(self, line: str) -> Reply:
        """Send `line` and read the reply to it."""
        self.transcript.sent(line)
        try:
            self._live().sendall(line.encode("utf-8") + b"\r\n")
        except OSError as error:
            self.give_up(f"sending failed: {describe(error)}")
        return self.read_reply()

    def ehlo(self) -> Reply:
        reply = self.command(f"EHLO {KIT_HOSTNAME}")
        if reply.code != 250:
            self.give_up(f"EHLO answered {reply.code}, not 250")
        return reply

    def read_reply(self) -> Reply:
        """The next reply; not an SMTP reply, a close or a time-out breaks the probe."""
        code, texts = 0, []
        while True:
            raw = self._read_line()
            self.transcript.received(raw)
            found = _REPLY_LINE.match(raw)
            if found is None or (code and int(found[1]) != code):
                self.give_up("that is not an SMTP reply")
            code = int(found[1])
            texts.append(found[3])
            if found[2] == " ":
                return Reply(code, tuple(texts))

    def _read_line(self) -> str:
        while b"\r\n" not in self._buffer[:MAX_LINE]:
            if len(self._buffer) >= MAX_LINE:
                self.give_up(f"a line longer than {MAX_LINE} bytes")
            try:
                chunk = self._live().recv(4096)
            except OSError as error:
                self.give_up(f"no reply: {describe(error)}")
            if not chunk:
                self.give_up("the endpoint closed the connection")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line.decode("utf-8", "backslashreplace")

    def _live(self) -> socket.socket:
        if self._sock is None:
            raise ProbeBroken("the connection is closed")
        return self._sock

    def starttls(self, context: ssl.SSLContext) -> Handshake:
        """STARTTLS and the handshake; a refused STARTTLS or a failed handshake is a `Handshake`
        with its error (the connection is then closed), the established one is followed by EHLO."""
        reply = self.command("STARTTLS")
        if reply.code != 220:
            return Handshake(error=f"STARTTLS answered {reply.line}")
        try:
            tls = context.wrap_socket(self._live(), server_hostname=self.target.server_name)
        except (OSError, ValueError) as error:
            why = describe(error)
            self.transcript.note(f"TLS handshake failed: {why}")
            self.close()
            return Handshake(error=why)
        self._sock, self._buffer = tls, b""
        cipher = tls.cipher()
        names = certificate_names(tls.getpeercert())
        handshake = Handshake(tls.version() or "", cipher[0] if cipher else "", names=names)
        self.transcript.note(f"TLS established: {handshake.version} {handshake.cipher}")
        if names:
            self.transcript.note(f"verified certificate names {', '.join(names)}")
        return handshake


def certificate_names(certificate: Any) -> tuple[str, ...]:
    """`DNS:name` / `IP Address:addr` entries of a verified certificate (`getpeercert()`), if any."""
    entries = certificate.get("subjectAltName", ()) if isinstance(certificate, dict) else ()
    return tuple(f"{entry[0]}:{entry[1]}" for entry in entries)


def describe(error: BaseException) -> str:
    """An OS or TLS error in a vendor's words: OpenSSL's reason or verify message, else the text."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {error.verify_message}"
    if isinstance(error, ssl.SSLError) and error.reason:
        return f"TLS error: {error.reason}"
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    return str(error) or type(error).__name__
