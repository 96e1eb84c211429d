"""The Threat Defense portal's view of its journals: one tenant's, newest first, a page at a time
(which Threat Defense selects: `RunningSandbox.journal_page`),
each with what the portal shows of it (original sender and subject, verdict, true sender,
conformance with each broken rule described, remediation taken).

Design rule: the records are the endpoint's (`JournalRecord`), never copied or re-judged: the
verdict, true sender, broken rules and remediation are what Threat Defense recorded on receipt.
Reading a journal's bytes may read its file (a large one is kept on disk, `kept.py`), so every
function here that touches bytes runs off the event loop, in the portal's one reader thread
(`off_loop`); a list row reads at most `HEAD_READ` bytes, enough for the report part, and parses
with the journal helpers (`report_fields`) and the email package, never by hand.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any, TypeVar

from simulator.core.errors import BadRequest, NotFound
from simulator.core.mail.journal import header_field
from simulator.core.mail.journal_check import described, report_fields
from simulator.core.reports.tracking import stamp
from simulator.endpoints.kept import HEAD_READ
from simulator.endpoints.threat_defense import JournalRecord

PAGE_SIZE = 25
REMEDIATIONS = {"quarantine": "Moved to Quarantine", "trash": "Moved to Trash", "junk": "Moved to Junk"}
READ_MODE_NONE = "None (read mode: verdicts only, by design)"
# Like the monitor's tracking reader: one thread, so large reads queue instead of crowding the loop.
READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal")
T = TypeVar("T")


async def off_loop(work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in the portal's reader thread."""
    return await asyncio.get_running_loop().run_in_executor(READER, work, *args)


@dataclass(frozen=True)
class JournalView:
    """One journal as the portal shows it."""

    number: int
    received: str  # when Threat Defense received it, by the sandbox's clock ("" if unknown)
    date: str  # the copy's Date: (the gateway's time of copying)
    sender: str  # the original's envelope sender, from the report part
    subject: str
    verdict: str  # "" when the journal carries no original to judge
    true_sender: str
    broken: tuple[dict[str, str], ...]  # each broken rule with its description; () when valid
    remediation: str
    report: tuple[tuple[str, str], ...]  # the report part's lines, (field, value)
    record: JournalRecord
    readable: bool = True  # False: its file is gone or changed (the findings still show)


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def requested_page(text: str) -> int:
    """The page `text` asks for (1 when empty); BadRequest for no number."""
    if not text:
        return 1
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise BadRequest(f"page must be a number from 1, not {text[:20]!r}")
    return int(text)


def page_number(text: str, total: int) -> int:
    """The page `text` asks for, of `total` journals; BadRequest for no number, NotFound past the last."""
    number = requested_page(text)
    if number > page_count(total):
        raise NotFound(f"page: there are {page_count(total)} page(s) of journals, not {number}")
    return number


def remediation_text(remediation: str, mode: str) -> str:
    """What was done to the original: a move, or none (and why, in read mode)."""
    if remediation:
        return REMEDIATIONS.get(remediation, remediation)
    return "None" if mode == "read-write" else READ_MODE_NONE


def _header(message: Message, name: str) -> str:
    try:
        return header_field(str(message.get(name, "")))
    except Exception:  # an unparseable header reads as missing, as the conformance check has it
        return ""


def _first(fields: dict[str, list[str]], name: str) -> str:
    return header_field(fields.get(name, [""])[0])


def viewed(record: JournalRecord, mode: str) -> JournalView:
    """The portal's view of `record`; reads its head (off the loop: it may be a file)."""
    try:
        head, readable = record.body.head(HEAD_READ), True
    except OSError:  # one journal's file gone: the others, and this one's findings, still show
        head, readable = b"", False
    top = BytesParser(policy=policy.default).parsebytes(head, headersonly=True)
    fields = report_fields(head)
    report = tuple((name, header_field(value)) for name, values in fields.items() for value in values)
    # Without a report part (a message that is no journal) its own From:/Subject: say what it is.
    return JournalView(
        number=record.number, received=stamp(record.received_at) if record.received_at else "",
        date=_header(top, "Date"),
        sender=_first(fields, "Sender") if fields else _header(top, "From"),
        subject=_first(fields, "Subject") if fields else _header(top, "Subject"),
        verdict=record.verdict, true_sender=record.sender_ip,
        broken=tuple(described(record.broken_rules)),
        remediation=remediation_text(record.remediation, mode), report=report, record=record,
        readable=readable)


def viewed_all(records: Sequence[JournalRecord], mode: str) -> list[JournalView]:
    return [viewed(record, mode) for record in records]


def eml_name(record: JournalRecord) -> str:
    """The download's file name: `<tenant's local part>-<number>.eml`, plain ASCII."""
    local = "".join(char if char.isascii() and (char.isalnum() or char in "-_.") else "_"
                    for char in record.intake_address.partition("@")[0])
    return f"{local or 'journal'}-{record.number}.eml"
