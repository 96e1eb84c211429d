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
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr

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


def _parse(raw: bytes, headers_only: bool = False) -> EmailMessage:
    """A message parsed with `email.policy.default`; the wrapper and the original need only their
    headers (the parts are split from the raw bytes), so their bodies are not parsed at all."""
    parsed: Message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=headers_only)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(message: Message, name: str) -> str:
    try:
        return header_field(str(message.get(name, "")))
    except Exception:  # an unparseable header counts as missing
        return ""


def _address(message: Message, name: str) -> str:
    """The address in a From/To header, display name and angle brackets aside."""
    return parseaddr(_text(message, name))[1].lower()


def _report_fields(report: EmailMessage) -> dict[str, list[str]]:
    """The `Name: value` lines of the parsed report part; none if its text cannot be read."""
    try:
        body = report.get_content()
    except Exception:  # unknown charset, broken encoding: the fields count as missing
        return {}
    if not isinstance(body, str):  # a part that is no text at all (multipart, message)
        return {}
    fields: dict[str, list[str]] = {}
    for line in body.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            name = name.strip()
            fields.setdefault(_CANONICAL.get(name.lower(), name), []).append(value.strip())
    return fields


def report_fields(raw: bytes) -> dict[str, list[str]]:
    """The report part's fields of a journal (`To` lists the envelope recipients); {} if none.
    The §3 fields are keyed as `REPORT_FIELDS` spells them, in whatever case they were written."""
    parts = split_parts(raw)
    return _report_fields(_parse(parts[0])) if parts else {}


def _envelope_rules(mail_from: str, rcpt_tos: Sequence[str], intakes: Collection[str]) -> list[str]:
    broken = []
    if len(rcpt_tos) != 1:
        broken.append("envelope.one-recipient")
    if not rcpt_tos or rcpt_tos[0].lower() not in intakes:
        broken.append("envelope.intake-address")
    return broken


def _wrapper_rules(top: EmailMessage, mail_from: str, rcpt_tos: Sequence[str],
                   known: KnownOriginal | None) -> list[str]:
    broken = []
    if top.get_content_type() != "multipart/mixed":
        broken.append("wrapper.multipart-mixed")
    if JOURNAL_MARKER not in top:
        broken.append("wrapper.journal-marker")
    sender = known.sender.lower() if known is not None else None
    if _address(top, "From") != mail_from.lower() or sender in (mail_from.lower(), _address(top, "From")):
        broken.append("wrapper.from")  # a copy from the original's sender is not the gateway's own
    if not rcpt_tos or _address(top, "To") != rcpt_tos[0].lower():
        broken.append("wrapper.to")
    message_id = _text(top, "Message-ID")
    if not message_id or (known is not None and message_id == header_field(known.message_id)):
        broken.append("wrapper.message-id")
    if not _text(top, "X-IronPort-MID").isdigit():
        broken.append("wrapper.x-ironport-mid")
    return broken


def _part_rules(top: EmailMessage, parts: list[bytes]) -> list[str]:
    broken = []
    original = original_in(parts)
    if len(parts) != 2:
        broken.append("parts.two")
    if original is None:
        broken.append("original.rfc822")
    report = _parse(parts[0]) if parts else None
    if report is None or report.get_content_type() != "text/plain":
        broken.append("report.text-plain")
    fields = _report_fields(report) if report is not None else {}
    if not all(fields.get(name) for name in ("Sender", "Subject", "Message-ID", "To")):
        broken.append("report.fields")
    if original is None:  # nothing to compare with: what needs the original cannot be shown
        return [*broken, *NEEDS_ORIGINAL]
    embedded = _parse(original, headers_only=True)
    if "X-IronPort-RemoteIP" not in embedded:
        broken.append("original.remote-ip")
    subject, message_id = _text(embedded, "Subject"), _text(embedded, "Message-ID")
    reported = [header_field(fields.get(name, [""])[0]) for name in ("Subject", "Message-ID")]
    if reported != [subject, message_id]:
        broken.append("report.matches-original")
    if _text(top, "Subject") != subject:
        broken.append("wrapper.subject")
    if message_id and _text(top, "Message-ID") == message_id:
        broken.append("wrapper.message-id")  # the original's, not one of its own
    return broken


def check_journal(
    raw: bytes, mail_from: str, rcpt_tos: Sequence[str], intake_addresses: Collection[str],
    original: KnownOriginal | None = None,
) -> list[str]:
    """The names of the §3 rules that this journal breaks, in `RULES` order; [] when valid.

    `intake_addresses` are lower-cased (the endpoint keeps them so, once, not per journal).
    `original`: what the caller knows of the original the copy is of (the kit, which sent it).
    Never raises on damaged input: what cannot be read counts as the rule it would have shown.
    """
    top = _parse(raw, headers_only=True)
    broken = _envelope_rules(mail_from, rcpt_tos, intake_addresses)
    broken += _wrapper_rules(top, mail_from, rcpt_tos, original)
    broken += _part_rules(top, split_parts(raw))
    return [rule for rule in RULES if rule in broken]
