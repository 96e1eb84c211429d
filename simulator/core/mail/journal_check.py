"""Checks a received journal against BEHAVIOUR.md §3 and names every rule it breaks.

Design rule: pure and independent of `journal.build_journal` except for `split_parts` and
`original_in`, so that a vendor's gateway pointed at the mock endpoint gets a fair conformance
report. Rule names are stable strings; an empty list means the journal is valid; `described` gives
each with what it requires, so a report explains itself. Report field names are matched
case-insensitively (`Message-Id:` written by another product is the same field) and handed out
under their names in §3 (`REPORT_FIELDS`).

A rule that cannot be shown to hold is broken, never passed: without an embedded original
(`original.rfc822` broken) there is nothing to compare the copy with, so the rules that compare
with it (`NEEDS_ORIGINAL`) are broken too. A checker that knows the original from elsewhere (the
conformance kit injected it) passes it as `KnownOriginal`: a copy sent from, or `From:`, the
original's sender, or reusing its Message-ID, is then no journal of the gateway's own.

A journal is read once (`ReadJournal`): its parts split once, each read at most once, the
embedded original once by `inspection.inspect`, so Threat Defense's check and its verdict analysis
(`td_analysis.analyse`) share one reading instead of each parsing the journal again. Reading is
`inspection`'s, and so is the choice of reading plain or parsing: the wrapper's header block
(`headers_of`), the report part (`text_part`), the original (`inspect`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from functools import cached_property

from simulator.core.mail.inspection import (
    PLAIN_ADDRESS,
    Headers,
    MessageFacts,
    content_type,
    first_header,
    header_text,
    headers_of,
    inspect,
    text_part,
)
from simulator.core.mail.journal import JOURNAL_MARKER, header_field, original_in, split_parts

RULES: dict[str, str] = {
    "envelope.one-recipient": "the envelope has exactly one RCPT TO",
    "envelope.intake-address": "the RCPT TO is the intake address",
    "wrapper.multipart-mixed": "the top level is multipart/mixed",
    "wrapper.journal-marker": f"the top level carries {JOURNAL_MARKER}:",
    "wrapper.from": "From: is the envelope sender (the gateway's system address)",
    "wrapper.to": "To: is the intake address",
    "wrapper.subject": "Subject: is the original's subject",
    "wrapper.message-id": "the copy has a Message-ID of its own",
    "wrapper.x-ironport-mid": "X-IronPort-MID: holds the original's MID",
    "parts.two": "there are exactly two parts: the report and the original",
    "report.text-plain": "part 1 is text/plain",
    "report.fields": "part 1 has Sender:, Subject:, Message-ID: and at least one To: line",
    "report.matches-original": "part 1's Subject: and Message-ID: are the original's",
    "original.rfc822": "part 2 is message/rfc822",
    "original.remote-ip": "the original carries X-IronPort-RemoteIP:",
}


#: The rules that compare the copy with its embedded original: broken when there is none.
NEEDS_ORIGINAL = ("wrapper.subject", "report.matches-original", "original.remote-ip")


@dataclass(frozen=True)
class KnownOriginal:
    """What a checker that sent the original knows of it: its envelope sender and its Message-ID."""

    sender: str
    message_id: str


#: The report part's fields that §3 names, as `report_fields` spells them whatever case was written.
REPORT_FIELDS = ("Sender", "Subject", "Message-ID", "To")
_CANONICAL = {name.lower(): name for name in REPORT_FIELDS}


def described(rules: Sequence[str]) -> list[dict[str, str]]:
    """Each broken rule with what it requires (`RULES`), for a conformance report."""
    return [{"rule": rule, "description": RULES.get(rule, "")} for rule in rules]


def _text(headers: Headers, name: str) -> str:
    """The first `name` as `Message.get` reads it and the copy repeats it; "" if none or unreadable."""
    found = first_header(headers, name)
    try:
        return header_field(header_text(*found)) if found is not None else ""
    except Exception:  # an unparseable header counts as missing
        return ""


def _address(text: str) -> str:
    """The address in a From/To header's text, display name and angle brackets aside."""
    return text.lower() if PLAIN_ADDRESS.fullmatch(text) else parseaddr(text)[1].lower()


def _fields_in(text: str) -> dict[str, list[str]]:
    """The `Name: value` lines of the report part's text."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            name = name.strip()
            fields.setdefault(_CANONICAL.get(name.lower(), name), []).append(value.strip())
    return fields


def report_fields(raw: bytes | ReadJournal) -> dict[str, list[str]]:
    """The report part's fields of a journal (`To` lists the envelope recipients); {} if none.
    The §3 fields are keyed as `REPORT_FIELDS` spells them, in whatever case they were written."""
    return dict(_read(raw).report_fields)


class ReadJournal:
    """One journal's bytes, read once for every question asked of them: each part is split, read
    or inspected the first time a rule or the analysis needs it, and kept for the next."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    @cached_property
    def parts(self) -> list[bytes]:
        return split_parts(self.raw)

    @cached_property
    def wrapper(self) -> Headers:
        """The wrapper's headers (the parts are split from the raw bytes: its body is not parsed)."""
        return headers_of(self.raw)

    def wrapper_text(self, name: str) -> str:
        """The wrapper's first `name`, as the copy repeats it (`header_field`); "" if unreadable."""
        return _text(self.wrapper, name)

    def wrapper_has(self, name: str) -> bool:
        """Does the wrapper carry a header `name` (in any case)?"""
        return first_header(self.wrapper, name) is not None

    @cached_property
    def wrapper_type(self) -> str:
        """The wrapper's content type, as `Message.get_content_type()` gives it."""
        return content_type(self.wrapper)

    @cached_property
    def _report(self) -> tuple[str, str | None] | None:
        return text_part(self.parts[0]) if self.parts else None

    @cached_property
    def report_type(self) -> str | None:
        """Part 1's content type, or None if there are no parts."""
        return self._report[0] if self._report is not None else None

    @cached_property
    def report_text(self) -> str | None:
        """Part 1's text (`get_content()`), or None if there is none or it is no text."""
        return self._report[1] if self._report is not None else None

    @cached_property
    def report_fields(self) -> dict[str, list[str]]:
        return _fields_in(self.report_text) if self.report_text is not None else {}

    @cached_property
    def original(self) -> bytes | None:
        """The embedded original's bytes, exactly as embedded, or None if there is none."""
        return original_in(self.parts)

    @cached_property
    def original_facts(self) -> MessageFacts | None:
        """The embedded original inspected (what the verdicts and this check read of it), or None."""
        return inspect(self.original) if self.original is not None else None


def _read(raw: bytes | ReadJournal) -> ReadJournal:
    return raw if isinstance(raw, ReadJournal) else ReadJournal(raw)


def _envelope_rules(mail_from: str, rcpt_tos: Sequence[str], intakes: Collection[str]) -> list[str]:
    broken = []
    if len(rcpt_tos) != 1:
        broken.append("envelope.one-recipient")
    if not rcpt_tos or rcpt_tos[0].lower() not in intakes:
        broken.append("envelope.intake-address")
    return broken


def _wrapper_rules(read: ReadJournal, mail_from: str, rcpt_tos: Sequence[str],
                   known: KnownOriginal | None) -> list[str]:
    broken = []
    if read.wrapper_type != "multipart/mixed":
        broken.append("wrapper.multipart-mixed")
    if not read.wrapper_has(JOURNAL_MARKER):
        broken.append("wrapper.journal-marker")
    sender, written = known.sender.lower() if known is not None else None, _address(read.wrapper_text("From"))
    if written != mail_from.lower() or sender in (mail_from.lower(), written):
        broken.append("wrapper.from")  # a copy from the original's sender is not the gateway's own
    if not rcpt_tos or _address(read.wrapper_text("To")) != rcpt_tos[0].lower():
        broken.append("wrapper.to")
    message_id = read.wrapper_text("Message-ID")
    if not message_id or (known is not None and message_id == header_field(known.message_id)):
        broken.append("wrapper.message-id")
    if not read.wrapper_text("X-IronPort-MID").isdigit():
        broken.append("wrapper.x-ironport-mid")
    return broken


def _part_rules(read: ReadJournal) -> list[str]:
    broken = []
    fields = read.report_fields
    if len(read.parts) != 2:
        broken.append("parts.two")
    if read.original_facts is None:
        broken.append("original.rfc822")
    if read.report_type != "text/plain":
        broken.append("report.text-plain")
    if not all(fields.get(name) for name in ("Sender", "Subject", "Message-ID", "To")):
        broken.append("report.fields")
    if read.original_facts is None:  # nothing to compare with: what needs the original cannot be shown
        return [*broken, *NEEDS_ORIGINAL]
    embedded = read.original_facts.raw_headers  # the original's headers, as `headers_of` reads them
    if first_header(embedded, "X-IronPort-RemoteIP") is None:
        broken.append("original.remote-ip")
    subject, message_id = _text(embedded, "Subject"), _text(embedded, "Message-ID")
    reported = [header_field(fields.get(name, [""])[0]) for name in ("Subject", "Message-ID")]
    if reported != [subject, message_id]:
        broken.append("report.matches-original")
    if read.wrapper_text("Subject") != subject:
        broken.append("wrapper.subject")
    if message_id and read.wrapper_text("Message-ID") == message_id:
        broken.append("wrapper.message-id")  # the original's, not one of its own
    return broken


def check_journal(
    raw: bytes | ReadJournal, mail_from: str, rcpt_tos: Sequence[str], intake_addresses: Collection[str],
    original: KnownOriginal | None = None,
) -> list[str]:
    """The names of the §3 rules that this journal breaks, in `RULES` order; [] when valid.

    `raw`: the journal's bytes, or a `ReadJournal` of them that others read too (Threat Defense's
    analysis), so that nothing is parsed twice.
    `intake_addresses` are lower-cased (the endpoint keeps them so, once, not per journal).
    `original`: what the caller knows of the original the copy is of (the kit, which sent it).
    Never raises on damaged input: what cannot be read counts as the rule it would have shown.
    """
    read = _read(raw)
    broken = _envelope_rules(mail_from, rcpt_tos, intake_addresses)
    broken += _wrapper_rules(read, mail_from, rcpt_tos, original)
    broken += _part_rules(read)
    return [rule for rule in RULES if rule in broken]
