"""Message tracking's search: which messages of a mail log match an envelope sender, a recipient, a
subject, a Message-ID, a MID and a time range (issue 12, Monitor > Message Tracking).

Design rule: pure, in three steps: one regular expression picks the lines that say who a message is
(`Start MID`, `From:`, `To:`, `Message-ID`, `Subject`, a split, a journal copy created) and reads
them, every other line fails it within a few characters; they become one `Found` per message the
gateway received (its `Start MID` line is its time); the query keeps those it matches. A splinter
and a journal copy are no messages of their own here: they are listed on the message they came
from, and a MID finds that message by any of them. Text fields match a part of the value, ignoring
case; the time range includes both ends. The newest message comes first.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator.core.reports.logformat import LogLine, parse_timestamp

#: A mail-log line that says who a message is, in one expression: the log's other lines fail it within
#: a few characters of their text, so a large log costs one match a line and no parse.
IDENTITY = re.compile(
    r"(?P<stamp>\w\w\w \w\w\w [ \d]\d \d\d:\d\d:\d\d \d{4}) \w+: (?:"
    r"Start MID (?P<started>\d+) ICID \d+"
    r"|MID (?P<mid>\d+) (?:ICID \d+ From: <(?P<sender>.*)>|ICID \d+ RID \d+ To: <(?P<recipient>.*)>"
    r"|Message-ID '(?P<message_id>.*)'|Subject (?P<subject>.*)|was split creating MID (?P<splinter>\d+) .*)"
    r"|TDC: Message (?P<copy>\d+) created from message (?P<original>\d+) .*)")
#: A `datetime-local` field's value: `2022-08-17T05:52` or `2022-08-17T05:52:04`.
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?")
TIME_FORM = "a date and time such as 2022-08-17T05:52 (UTC)"


@dataclass(frozen=True)
class Query:
    """What the search asks for; an empty field or None asks nothing of it."""

    sender: str = ""
    recipient: str = ""
    subject: str = ""
    message_id: str = ""
    mid: int | None = None
    since: datetime | None = None  # received at or after
    until: datetime | None = None  # received at or before


@dataclass
class Found:
    """One message the gateway received, as its mail-log lines tell of it."""

    mid: int
    at: datetime  # when it started (its `Start MID` line)
    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    splinters: list[int] = field(default_factory=list)  # the MIDs it was split into
    copies: list[int] = field(default_factory=list)  # its journal copies (and its splinters')


def logged_text(quoted: str) -> str:
    """The text the gateway logged with `repr` (the subject); anything else as it stands."""
    if len(quoted) >= 2 and quoted[0] == quoted[-1] and quoted[0] in "'\"" and "\\" not in quoted:
        return quoted[1:-1]  # most subjects: nothing escaped, no parse needed
    try:
        text = ast.literal_eval(quoted)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return quoted
    return text if isinstance(text, str) else quoted


class _Reading:
    """The messages learnt so far, by MID, and which message each splinter came from."""

    def __init__(self) -> None:
        self.messages: dict[int, Found] = {}
        self.origin: dict[int, int] = {}  # splinter MID -> the received message's MID

    def message(self, mid: str, at: datetime) -> Found:
        """The message `mid` (first met here, if the log began after its `Start MID` line)."""
        return self.messages.setdefault(int(mid), Found(int(mid), at))

    def learn(self, text: str) -> None:
        """What the line says of a message, if it says who one is (and its time can be read)."""
        found = IDENTITY.fullmatch(text)
        at = parse_timestamp(found["stamp"]) if found else None
        if found is None or at is None:
            return
        if found["started"]:
            self.message(found["started"], at)
        elif found["original"]:
            source = self.origin.get(int(found["original"]), int(found["original"]))
            self.message(str(source), at).copies.append(int(found["copy"]))
        elif found["splinter"]:
            self.origin[int(found["splinter"])] = int(found["mid"])
            self.message(found["mid"], at).splinters.append(int(found["splinter"]))
        elif found["subject"] is not None:
            self.message(found["mid"], at).subject = logged_text(found["subject"])
        elif found["message_id"] is not None:
            self.message(found["mid"], at).message_id = found["message_id"]
        elif found["recipient"] is not None:
            self.message(found["mid"], at).recipients.append(found["recipient"])
        elif found["sender"] is not None:
            self.message(found["mid"], at).sender = found["sender"]


def messages(texts: Iterable[str]) -> list[Found]:
    """Every message the text lines of a mail log tell of, newest first."""
    reading = _Reading()
    for text in texts:
        reading.learn(text)
    return sorted(reading.messages.values(), key=lambda message: (message.at, message.mid), reverse=True)


def _contains(value: str, part: str) -> bool:
    return part.casefold() in value.casefold()


def matches(message: Found, query: Query) -> bool:
    """Does `message` match every field the query fills?"""
    return all((
        _contains(message.sender, query.sender),
        not query.recipient or any(_contains(rcpt, query.recipient) for rcpt in message.recipients),
        _contains(message.subject, query.subject),
        _contains(message.message_id, query.message_id),
        query.mid is None or query.mid in {message.mid, *message.splinters, *message.copies},
        query.since is None or message.at >= query.since,
        query.until is None or message.at <= query.until,
    ))


def search_text(texts: Iterable[str], query: Query) -> list[Found]:
    """The messages of a mail log's text lines (`mail.current`) that match `query`, newest first."""
    return [message for message in messages(texts) if matches(message, query)]


def search(lines: Iterable[LogLine], query: Query) -> list[Found]:
    """The same as `search_text`, from the lines a machine keeps in memory."""
    return search_text((str(line) for line in lines), query)


def utc_time(text: str, to_the_end: bool = False) -> datetime | None:
    """A `datetime-local` value read as UTC (None if empty); ValueError saying the form if it is not one.
    With `to_the_end`, a time without seconds names its whole minute (a range's end includes it)."""
    text = text.strip()
    if not text:
        return None
    if not LOCAL_TIME.fullmatch(text):
        raise ValueError(f"not {TIME_FORM}")
    try:
        at = datetime.fromisoformat(f"{text}+00:00")
    except ValueError:
        raise ValueError(f"no such date and time: {TIME_FORM}") from None
    return at + timedelta(seconds=59) if to_the_end and len(text) == len("2022-08-17T05:52") else at
