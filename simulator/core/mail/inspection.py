"""What the gateway learns from a message's bytes, read for decisions as `email.policy.default` reads them.

Design rule: the received bytes are sacred and never re-serialised; reading is only for decisions
(subject, Message-ID, the text the engines look at). A malformed message still yields facts: the
parser records defects instead of failing, and unreadable headers fall back to their raw text.

`email.policy.default` is the definition of every answer; it is also slow (a parse tree per header,
the feed parser per message). So what is provably plain is read without it, to the same answer:
- a header block of printable ASCII lines `Name: value` (continuations begin with a space or tab),
  CRLF-ended up to the first empty line, splits into exactly the feed parser's (name, raw value)
  pairs (`split_plain`);
- a header value the policy would only copy is its own reading (`header_text`): unstructured text
  of printable ASCII, spaces and tabs; a Message-ID `<dot-atom@dot-atom>`; an address `dot-atom@
  dot-atom`; never with `=?` (an encoded word) in it;
- a Content-Type `type/subtype` with `; name=token` or `; name="text"` parameters only (no
  comment, backslash, `'`, `%`, `*`, `;` in quotes, `=?`) gives the parser's type and charset;
- a single-part body (not multipart/*, not message/*) whose Content-Transfer-Encoding is a bare
  token other than base64, quoted-printable and uuencode is its own decoded payload, and a text/*
  part's `get_content()` is that payload decoded with its charset (`plain_text_part`).
Anything else, hostile input included, is read by the policy itself. This module alone makes that
choice: `inspect` (a message's facts), `headers_of` (a header block) and `text_part` (a text part)
read plain what is plain and parse the rest; other modules ask them, never `split_plain` and a
parser of their own. tests/test_reading_equivalence.py
holds the two readings equal over journals, samples, the fuzz corpus and generated values.

The policy is `READING`: `email.policy.default` whose header factory remembers the headers it parsed
lately. A header object is immutable and its parse depends only on its name and value, so a
remembered one is the same answer, and recurring headers are parsed once, not per message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import (
    AddressHeader,
    BaseHeader,
    HeaderRegistry,
    MessageIDHeader,
    UnstructuredHeader,
)
from email.message import EmailMessage, Message
from email.parser import BytesParser
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

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


_REGISTRY = RememberingHeaders()
#: `email.policy.default`, with `RememberingHeaders`: what every message is read with.
READING = policy.default.clone(header_factory=_REGISTRY)

#: (name, raw value) of each header, in order, as `Message.raw_items()` gives them.
Headers = tuple[tuple[str, str], ...]

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`{|}~-]"  # RFC 2045: no space, control character or tspecial
_WORD = r"[A-Za-z0-9!#$&+.^_`{|}~-]"  # a token without RFC 2231's `*`, `'` and `%`
_QTEXT = r"[ !#$&(-:<-\[\]-~]"  # printable, without `"`, `%`, `'`, `;` and backslash
_PARAMETER = rf'[ \t]*;[ \t]*({_WORD}+)=({_WORD}+|"{_QTEXT}*")'
_PLAIN_CONTENT_TYPE = re.compile(rf"({_TOKEN}+/{_TOKEN}+)((?:{_PARAMETER})*)[ \t]*")
_PARAMETERS = re.compile(_PARAMETER)
_PLAIN_TOKEN = re.compile(f"{_TOKEN}+")
#: An address `email.utils.parseaddr` and the policy read as itself: `dot-atom@dot-atom`.
PLAIN_ADDRESS = re.compile(rf"{_DOT_ATOM}@{_DOT_ATOM}")
#: Per kind of header, the values (without `=?`) the policy reads as themselves.
_PLAIN_FORMS: tuple[tuple[type, re.Pattern[str]], ...] = (
    (UnstructuredHeader, re.compile(r"[ \t!-~]*")),
    (MessageIDHeader, re.compile(rf"<{_DOT_ATOM}@{_DOT_ATOM}>")),
    (AddressHeader, PLAIN_ADDRESS),
)
_UUENCODINGS = ("x-uuencode", "uuencode", "uue", "x-uue")

_FIELD_LINES = rb"[!-9;-~]+:[ \t!-~]*\r\n(?:[ \t][ \t!-~]*\r\n)*"
_PLAIN_HEAD = re.compile(rb"(?:" + _FIELD_LINES + rb")+\r\n")
_FIELD = re.compile(r"([!-9;-~]+):([ \t!-~]*\r\n(?:[ \t][ \t!-~]*\r\n)*)")


@lru_cache(maxsize=256)
def _plain_form(lower_name: str) -> re.Pattern[str] | None:
    parser = _REGISTRY.registry.get(lower_name, _REGISTRY.default_class)
    return next((form for kind, form in _PLAIN_FORMS if issubclass(parser, kind)), None)


def _unfolded(raw_value: str) -> str:
    return raw_value.replace("\r", "").replace("\n", "")  # as `header_fetch_parse` unfolds


def header_text(name: str, raw_value: str) -> str:
    """`str(email.policy.default.header_fetch_parse(name, raw_value))`: computed when the value is
    plain, else parsed (and raising what the policy raises)."""
    value = _unfolded(raw_value)
    form = _plain_form(name.lower())
    if form is not None and "=?" not in value and form.fullmatch(value):
        return value
    return str(READING.header_fetch_parse(name, raw_value))


def split_plain(raw: bytes) -> tuple[Headers, bytes] | None:
    """A plain message's headers, as the feed parser's `raw_items()`, and its body; None if not plain."""
    head = _PLAIN_HEAD.match(raw)
    if head is None:
        return None
    fields = _FIELD.findall(head.group().decode("ascii"))
    return tuple((name, value.lstrip(" \t").rstrip("\r\n")) for name, value in fields), raw[head.end():]


def first_header(headers: Headers, name: str) -> tuple[str, str] | None:
    """The first (name, raw value) called `name` in any case, as `Message.get` finds it."""
    lower = name.lower()
    for header in headers:
        if header[0].lower() == lower:
            return header
    return None


def _plain_content_type(headers: Headers) -> tuple[str, str] | None:
    """(type, parameters) of a plain first Content-Type; ("text/plain", "") if there is none."""
    found = first_header(headers, "Content-Type")
    if found is None:
        return "text/plain", ""
    value = _unfolded(found[1])
    plain = _PLAIN_CONTENT_TYPE.fullmatch(value) if "=?" not in value else None  # an encoded word is decoded
    return (plain.group(1).lower(), plain.group(2)) if plain is not None else None


def plain_content_type(headers: Headers) -> str | None:
    """`Message.get_content_type()` (not in a digest) when the Content-Type is plain, else None."""
    plain = _plain_content_type(headers)
    return plain[0] if plain is not None else None


def content_type(headers: Headers) -> str:
    """`Message.get_content_type()` of a message (not in a digest) with these headers."""
    plain = plain_content_type(headers)
    if plain is not None:
        return plain
    found = first_header(headers, "Content-Type")
    ctype = str(READING.header_fetch_parse(*found)).partition(";")[0].strip().lower() if found else ""
    return ctype if ctype.count("/") == 1 else "text/plain"


def plain_charset(headers: Headers) -> str | None:
    """`Message.get_param("charset", "ASCII")` when the Content-Type is plain, else None."""
    plain = _plain_content_type(headers)
    return _charset(plain[1]) if plain is not None else None


def _charset(parameters: str) -> str:
    """The charset a plain Content-Type's `parameters` name, "ASCII" if none."""
    values = (value for name, value in _PARAMETERS.findall(parameters) if name.lower() == "charset")
    return next(values, "ASCII").removeprefix('"').removesuffix('"')


def plain_payload(headers: Headers, body: bytes) -> bytes | None:
    """A single part's `get_payload(decode=True)` when it is its body as it stands, else None."""
    found = first_header(headers, "Content-Transfer-Encoding")
    encoding = _unfolded(found[1]).lower() if found is not None else ""
    if encoding and not _PLAIN_TOKEN.fullmatch(encoding):
        return None
    return None if encoding in ("base64", "quoted-printable", *_UUENCODINGS) else body


class PlainPart(NamedTuple):
    """A plain single part (not multipart/*, not message/*), read without the parser."""

    headers: Headers
    content_type: str  # `get_content_type()`
    parameters: str  # the Content-Type's `; name=value` parameters, as written
    payload: bytes  # `get_payload(decode=True)`


def plain_part(raw: bytes) -> PlainPart | None:
    """`raw` read without the parser if it is a plain single part, else None."""
    split = split_plain(raw)
    if split is None:
        return None
    headers, body = split
    plain = _plain_content_type(headers)
    if plain is None or plain[0].partition("/")[0] in ("multipart", "message"):
        return None
    payload = plain_payload(headers, body)
    return PlainPart(headers, *plain, payload) if payload is not None else None


def plain_text_part(raw: bytes) -> tuple[str, str | None] | None:
    """(content type, `get_content()` or None if it raises) of a plain text/* part, or None."""
    part = plain_part(raw)
    if part is None or not part.content_type.startswith("text/"):
        return None
    try:
        return part.content_type, part.payload.decode(_charset(part.parameters), "replace")
    except Exception:  # an unknown charset: `get_content()` raises
        return part.content_type, None


def text_part(raw: bytes) -> tuple[str, str | None]:
    """(content type, `get_content()`, or None if it raises or is no text) of a single part: read
    plain if it is (`plain_text_part`), else parsed whole."""
    plain = plain_text_part(raw)
    if plain is not None:
        return plain
    part = _parse(raw)
    try:
        content = part.get_content()
    except Exception:  # unknown charset, broken encoding
        content = None
    return part.get_content_type(), content if isinstance(content, str) else None


def headers_of(raw: bytes) -> Headers:
    """A message's (name, raw value) headers, as `Message.raw_items()` gives them: split if plain,
    else parsed (headers only)."""
    plain = split_plain(raw)
    return plain[0] if plain is not None else tuple(_parse(_header_block(raw), True).raw_items())


def _header_block(raw: bytes) -> bytes:
    """`raw` up to and including the blank line that ends its header block (all of it if none):
    a parser reading headers only stops at that line, so it reads the same headers from either."""
    end = raw.find(b"\r\n\r\n")
    return raw if end < 0 else raw[: end + 4]


def _parse(raw: bytes, headers_only: bool = False) -> EmailMessage:
    """A message parsed with `READING`: every parse of this module's readings."""
    parsed: Message = BytesParser(policy=READING).parsebytes(raw, headersonly=headers_only)
    assert isinstance(parsed, EmailMessage)
    return parsed


@dataclass(frozen=True)
class MessageFacts:
    """The parts of a message that decisions and log lines need."""

    subject: str
    message_id: str
    raw_headers: Headers  # (name, raw value), parsed only when asked for
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
        return header_text(name, raw_value)
    except Exception:  # a header the policy cannot parse: decisions use the raw text
        return " ".join(raw_value.split())


def _first(headers: Headers, name: str) -> str:
    """The first value of header `name`, parsed (one header at a time, so none can fail all)."""
    found = first_header(headers, name)
    return _value(*found) if found is not None else ""


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


def _facts(raw: bytes, headers: Headers, decoded_parts: tuple[bytes, ...]) -> MessageFacts:
    message_id = _first(headers, "Message-ID").strip()
    return MessageFacts(_first(headers, "Subject"), message_id, headers, decoded_parts, raw)


def _plain_facts(raw: bytes) -> MessageFacts | None:
    """The facts of a plain single-part message, read without the parser; None if it is not one."""
    part = plain_part(raw)
    return _facts(raw, part.headers, (part.payload,)) if part is not None else None


def inspect(raw: bytes) -> MessageFacts:
    """Read `raw` for decisions."""
    plain = _plain_facts(raw)
    if plain is not None:
        return plain
    message = _parse(raw)
    return _facts(raw, tuple(message.raw_items()), _decoded_parts(message))
