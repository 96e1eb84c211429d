"""What the gateway learns from a message's bytes, parsed once with `email.policy.default`.

Design rule: the received bytes are sacred and never re-serialised; parsing is only for decisions
(subject, Message-ID, the text the engines look at). A malformed message still yields facts: the
parser records defects instead of failing, and unreadable headers fall back to their raw text.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from functools import cached_property


@dataclass(frozen=True)
class MessageFacts:
    """The parts of a message that decisions and log lines need."""

    subject: str
    message_id: str
    raw_headers: tuple[tuple[str, str], ...]  # (name, raw value), parsed only when asked for
    decoded_parts: tuple[bytes, ...]
    raw: bytes

    def header_values(self, name: str) -> list[str]:
        """Every value of header `name` (case-insensitive), as the policy reads it."""
        return [_value(key, raw) for key, raw in self.raw_headers if key.lower() == name.lower()]

    def contains(self, needle: bytes) -> bool:
        """Does the raw message or any decoded part contain `needle`?"""
        return needle in self.raw or any(needle in part for part in self.decoded_parts)

    @cached_property
    def lower_body(self) -> str:  # decoded once: several rules and engines read it
        """Every decoded part as text, lower-cased, for the case-insensitive content rules."""
        return "\n".join(part.decode("utf-8", "replace") for part in self.decoded_parts).lower()


def _value(name: str, raw_value: str) -> str:
    """A header's value as the policy reads it, or its raw text (unfolded) if it cannot."""
    try:
        return str(policy.default.header_fetch_parse(name, raw_value))
    except Exception:  # a header the policy cannot parse: decisions use the raw text
        return " ".join(raw_value.split())


def _first(headers: tuple[tuple[str, str], ...], name: str) -> str:
    """The first value of header `name`, parsed (one header at a time, so none can fail all)."""
    return next((_value(key, raw) for key, raw in headers if key.lower() == name.lower()), "")


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
    headers = tuple(message.raw_items())
    return MessageFacts(
        subject=_first(headers, "Subject"),
        message_id=_first(headers, "Message-ID").strip(),
        raw_headers=headers,
        decoded_parts=_decoded_parts(message),
        raw=raw,
    )
