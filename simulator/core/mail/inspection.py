"""What the gateway learns from a message's bytes, parsed once with `email.policy.default`.

Design rule: the received bytes are sacred and never re-serialised; parsing is only for decisions
(subject, Message-ID, the text the engines look at). A malformed message still yields facts: the
parser records defects instead of failing, and unreadable headers fall back to their raw text.

Messages are read with `READING`: `email.policy.default` whose header factory remembers the headers
it parsed lately. The stdlib parses a header again each time it is asked for (the parser itself asks
for Content-Type several times a part) and builds a new class for every header it parses; a header
object is immutable and its parse depends only on its name and value, so a remembered one is the
same answer, and the journals' and gateway's recurring headers (a report part's Content-Type, the
system address) are parsed once, not per message.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from functools import cached_property, lru_cache
from typing import Any

#: How many parsed headers `READING` remembers, and the longest value it remembers (longer ones are
#: parsed each time). A parsed header keeps its parse tree, up to ~1,000 times the size of its value
#: for a hostile one (a 100-character `To:` of 14 addresses takes ~120 KB), so both stay small: at
#: most ~8 MiB whatever clients send. The headers that recur (a report part's Content-Type, the
#: system address, a part's Content-Type asked for again and again while it is parsed) are short.
HEADERS_REMEMBERED = 64
LONGEST_REMEMBERED = 100


class RememberingHeaders(HeaderRegistry):
    """`email.policy.default`'s header registry, remembering the `HEADERS_REMEMBERED` latest headers."""

    def __init__(self) -> None:
        super().__init__()
        self._remembered = lru_cache(maxsize=HEADERS_REMEMBERED)(super().__call__)

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is str and len(value) <= LONGEST_REMEMBERED:
            header: BaseHeader = self._remembered(name, value)
            return header
        return super().__call__(name, value)  # an object being set, or a value too long to keep


#: `email.policy.default`, with `RememberingHeaders`: what every message is read with.
READING = policy.default.clone(header_factory=RememberingHeaders())


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
        return str(READING.header_fetch_parse(name, raw_value))
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
    message = message_from_bytes(raw, policy=READING)
    headers = tuple(message.raw_items())
    return MessageFacts(
        subject=_first(headers, "Subject"),
        message_id=_first(headers, "Message-ID").strip(),
        raw_headers=headers,
        decoded_parts=_decoded_parts(message),
        raw=raw,
    )
