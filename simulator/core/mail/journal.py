"""The journal copy (BEHAVIOUR.md §3): builder and its inverse.

Design rule: the delivered bytes are embedded untouched as the `message/rfc822` part; only the
wrapper and the report part are generated, with `email.policy.SMTP`. The wrapper is assembled by
hand around the embedded bytes because re-serialising a parsed message would change them. Every
value from the client (envelope addresses, subject, Message-ID) goes through `one_line`: a report
line can never be split into more (a forged `To:` would have Threat Defense remediate a victim).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import MIMEPart
from email.utils import format_datetime

from simulator.core.reports.logformat import one_line

JOURNAL_MARKER = "X-MS-Journal-Report"
_CRLF = b"\r\n"


@dataclass(frozen=True)
class JournalSource:
    """What the connector knows about the delivered message it copies."""

    original_mid: int
    envelope_sender: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    delivered: bytes


@dataclass(frozen=True)
class JournalAddressing:
    """Who sends the copy, to whom, and as which host."""

    system_address: str
    intake_address: str
    hostname: str


def report_text(source: JournalSource) -> str:
    """Part 1: the envelope-journal fields, one per line, one `To:` per envelope recipient."""
    lines = [
        f"Sender: {one_line(source.envelope_sender) or '<>'}",
        f"Subject: {header_field(source.subject)}",
        f"Message-ID: {header_field(source.message_id)}",
    ]
    lines += [f"To: {one_line(address)}" for address in source.recipients]
    return "\n".join(lines) + "\n"


def header_field(text: str) -> str:
    """A header's value as the copy repeats it: unfolded, each run of white space one space, and
    any other control character escaped (`\\xNN`)."""
    return one_line(" ".join(text.split()))


def free_boundary(label: str, content: bytes) -> str:
    """A MIME boundary (RFC 2046) for a multipart around `content`, found nowhere in it: "=_" (no base64
    or quoted-printable text holds the pair), `label` (boundary characters only), a salt and a digest
    of `content`. The same label and content give the same boundary, never a draw from `random`."""
    digest = hashlib.sha256(content).hexdigest()
    for salt in range(1000):
        candidate = f"=_{label}_{salt}_{digest[:24]}"
        if candidate.encode() not in content:
            return candidate
    raise ValueError("no free MIME boundary")  # pragma: no cover - needs 1000 collisions


def _folded(name: str, value: str) -> str:
    """One header as `email.policy.SMTP` writes it: folded, RFC 2047-encoded if not ASCII."""
    line = f"{name}: {value}"
    if value and len(line) <= 78 and value.isascii() and value.isprintable() and value == value.strip() \
            and "=?" not in value:
        return line  # short, plain and printable: the policy writes it as it is (a parse saved)
    header = policy.SMTP.header_store_parse(name, value)[1]
    return policy.SMTP.fold_binary(name, header).decode("ascii").rstrip("\r\n")


def _wrapper_headers(
    source: JournalSource, addressing: JournalAddressing, copy_mid: int, now: datetime, boundary: str
) -> bytes:
    # Every value but the subject is short ASCII the gateway made itself (addresses are validated),
    # so only the subject goes through the policy's folding and RFC 2047 encoding.
    fixed = [
        f"{JOURNAL_MARKER}:",
        f"From: {addressing.system_address}",
        f"To: {addressing.intake_address}",
        _folded("Subject", header_field(source.subject)),
        f"Date: {format_datetime(now)}",
        f"Message-ID: <tdc.{copy_mid}.{now:%Y%m%d%H%M%S}@{addressing.hostname}>",
        f"X-IronPort-MID: {source.original_mid}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
    ]
    return ("\r\n".join(fixed) + "\r\n").encode("ascii")


def _report_part(source: JournalSource) -> bytes:
    text = report_text(source)
    if any(len(line) > 900 for line in text.splitlines()):  # too long for 8bit: let the policy encode
        part = MIMEPart(policy=policy.SMTP)
        part.set_content(text)
        return part.as_bytes(policy=policy.SMTP)
    encoding = "7bit" if text.isascii() else "8bit"
    head = f'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return (head + text.replace("\n", "\r\n")).encode("utf-8")


def _transfer_encoding(delivered: bytes) -> str:
    return "7bit" if delivered.isascii() else "8bit"  # in C: a Python loop took 0.15 s per MiB


def build_journal(
    source: JournalSource, addressing: JournalAddressing, copy_mid: int, now: datetime
) -> bytes:
    """The journal copy's bytes: multipart/mixed, report part, then the delivered message.

    Each part's content ends where the CRLF before the next delimiter begins (RFC 2046 §5.1.1),
    so a MIME parser reading part 2 gets exactly `source.delivered`.
    """
    boundary = free_boundary(f"tdc_{copy_mid}", source.delivered)
    delimiter = b"--" + boundary.encode()
    original_head = (
        b"Content-Type: message/rfc822\r\n"
        b"Content-Disposition: attachment\r\n"
        b"Content-Transfer-Encoding: " + _transfer_encoding(source.delivered).encode() + b"\r\n"
    )
    return b"".join([
        _wrapper_headers(source, addressing, copy_mid, now, boundary),
        _CRLF,
        delimiter, _CRLF, _report_part(source), _CRLF,
        delimiter, _CRLF, original_head, _CRLF, source.delivered, _CRLF,
        delimiter, b"--", _CRLF,
    ])


_BOUNDARY_RE = re.compile(rb'boundary="?([^";\r\n]+)"?', re.IGNORECASE)


def split_parts(journal: bytes) -> list[bytes]:
    """The raw bytes of each top-level part (headers and body), without touching them."""
    head, _, body = journal.partition(b"\r\n\r\n")
    found = _BOUNDARY_RE.search(head)
    if found is None:
        return []
    delimiter = b"\r\n--" + found.group(1)
    chunks = (b"\r\n" + body).split(delimiter)
    return [chunk.removeprefix(b"\r\n") for chunk in chunks[1:] if not chunk.startswith(b"--")]


def embedded_original(journal: bytes) -> bytes | None:
    """The `message/rfc822` part's body exactly as embedded, or None if there is none."""
    return original_in(split_parts(journal))


def original_in(parts: Sequence[bytes]) -> bytes | None:
    """The `message/rfc822` part's body among a journal's `split_parts`, or None if there is none."""
    for part in parts:
        part_head, _, part_body = part.partition(b"\r\n\r\n")
        if b"message/rfc822" in part_head.lower():
            return part_body
    return None
