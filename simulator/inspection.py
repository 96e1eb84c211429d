"""What the gateway learns from a message's bytes, parsed once with `email.policy.default`.

Design rule: the received bytes are sacred and never re-serialised; parsing is only for decisions
(subject, Message-ID, the text the engines look at). A malformed message still yields facts: the
parser records defects instead of failing, and unreadable headers fall back to their raw text.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message


@dataclass(frozen=True)
class MessageFacts:
    """The parts of a message that decisions and log lines need."""

    subject: str
    message_id: str
    headers: tuple[tuple[str, str], ...]
    decoded_parts: tuple[bytes, ...]
    raw: bytes

    def header_values(self, name: str) -> list[str]:
        """Every value of header `name` (case-insensitive)."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def contains(self, needle: bytes) -> bool:
        """Does the raw message or any decoded part contain `needle`?"""
        return needle in self.raw or any(needle in part for part in self.decoded_parts)

    def body_text(self) -> str:
        """Every decoded part as text, for content rules."""
        return "\n".join(part.decode("utf-8", "replace") for part in self.decoded_parts)


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse: fall back to the raw value
        value = message.get_all(name, [""])[0] if hasattr(message, "get_all") else ""
    return "" if value is None else str(value)


def _headers(message: Message) -> tuple[tuple[str, str], ...]:
    return tuple((key, _header(message, key)) for key in message)


def _decoded_parts(message: Message) -> tuple[bytes, ...]:
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # undecodable transfer encoding: the raw text still gets scanned
            payload = None
        if isinstance(payload, bytes):
            parts.append(payload)
    return tuple(parts)


def inspect(raw: bytes) -> MessageFacts:
    """Parse `raw` for decisions."""
    message = message_from_bytes(raw, policy=policy.default)
    return MessageFacts(
        subject=_header(message, "Subject"),
        message_id=_header(message, "Message-ID").strip(),
        headers=_headers(message),
        decoded_parts=_decoded_parts(message),
        raw=raw,
    )
