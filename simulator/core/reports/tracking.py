"""Message tracking: one message's history, oldest first, from the gateway's mail-log lines.

Design rule: pure. Lines come in as `LogLine`s (memory) or as text (`mail.current`, read with the
vendor's `TRACKING_LINE_RE`; of a large log only the lines `about` the message are parsed); a first
pass learns who is who (each MID's ICID, sender, recipients by RID, splinters, journal copies and
DSNs), a second words every line about the message. Only a line's
structural MIDs count, never one inside a subject, address or reply, so `MID 3` never picks up
`MID 33`. Oldest first is the log's own order: it is append-only and its clock never goes back.

Forms: `<d Mon YYYY HH:MM:SS> (GMT +00:00) <event>`, the day NOT padded (`7 Aug 2022`), as the seed's
`<d Mon ...>` reads. BEHAVIOUR.md §7.3's events are word for word, one per recipient; `TDC:` and
"connection lost" lines as logged; `Start`, `From:`, `To:`, `Delayed:`, `Bounced:` and "finished"
lines in the gateway's tracking wording (`Delayed:` / `Bounced:` name one RID as `to RID 0`, several as
`to RID [0, 1]`); any other line about the message as `Message <mid> <rest>.`.
A splinter keeps the original's RIDs (`core/mail/processing.py`), ICID and sender; a copy's only recipient is
the intake address, a DSN's the bounced message's sender. A message's history shows its copies'
`TDC:` lines; a RID the log never named reads `RID <n>`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from simulator.core.errors import UnknownMessage
from simulator.core.reports.logformat import TRACKING_LINE_RE, Level, LogLine, parse_timestamp

#: What ties two messages together, each written once: a splinter, a DSN (two wordings), a journal
#: copy; and what ties a message to its connection. `LEARNING`, `TIES`, `STARTED` and `NAMED_MIDS`
#: are built from these.
SPLIT = "was split creating"
GENERATED = "was generated based on"
DSN_FOR = "DSN for"
COPIED = r"TDC: Message (\d+) created from message (\d+) "
STARTED_ON = r"Start MID (\d+) ICID (\d+)"
LINKS = "|".join((SPLIT, GENERATED, DSN_FOR))
NAMED_MIDS = re.compile(r"(?:Start |Message (?:finished|aborted) |(?:Delivery start|Message done|Delayed:|"
                        rf"Bounced:) DCID \d+ )?MID (\d+)\b(?: (?:{LINKS}) MID (\d+)\b)?")
TDC_MID = re.compile(r"TDC: Message (\d+) ")
LOST_ICID = re.compile(r"Incoming connection \(ICID (\d+)\) lost\.")
RIDS = r"to RID \[(?P<rids>[\d, ]*)\]"
FAILED_RIDS = r"to RID (?:\[(?P<rids>[\d, ]*)\]|(?P<rid>\d+))"  # the vendor's `to RID 0` for one
TIES = re.compile(rf"MID (\d+) (?:{LINKS}) MID (\d+)|{COPIED}")
STARTED = re.compile(STARTED_ON)
STAMP_LENGTH = len("Wed Aug 17 05:52:04 2022")  # its numbers are no IDs
LEVELS = {level.value for level in Level}


@dataclass
class _Facts:
    """Who is who, learnt from the whole log before any line is worded."""

    icid: dict[int, int] = field(default_factory=dict)
    sender: dict[int, str] = field(default_factory=dict)
    recipients: dict[int, dict[int, str]] = field(default_factory=dict)
    copies: dict[int, set[int]] = field(default_factory=dict)

    def recipient(self, mid: int, rid: int) -> str:
        return self.recipients.get(mid, {}).get(rid, f"RID {rid}")

    def split(self, original: int, splinter: int) -> None:
        self.recipients[splinter] = self.recipients.setdefault(original, {})
        if original in self.icid:
            self.icid[splinter] = self.icid[original]
        if original in self.sender:
            self.sender[splinter] = self.sender[original]

    def copied(self, copy: int, original: int, intake: str) -> None:
        self.copies.setdefault(original, set()).add(copy)
        self.recipients[copy] = {0: intake}

    def bounced(self, dsn: int, original: int) -> None:
        if original in self.sender:
            self.recipients[dsn] = {0: self.sender[original]}


Learning = Callable[[_Facts, list[str]], None]
LEARNING: tuple[tuple[re.Pattern[str], Learning], ...] = tuple((re.compile(p), learn) for p, learn in (
    (STARTED_ON, lambda facts, g: facts.icid.update({int(g[0]): int(g[1])})),
    (r"MID (\d+) ICID \d+ From: <(.*)>", lambda facts, g: facts.sender.update({int(g[0]): g[1]})),
    (r"MID (\d+) ICID \d+ RID (\d+) To: <(.*)>",
     lambda facts, g: facts.recipients.setdefault(int(g[0]), {}).update({int(g[1]): g[2]})),
    (rf"MID (\d+) {SPLIT} MID (\d+) .*", lambda facts, g: facts.split(int(g[0]), int(g[1]))),
    (rf"{COPIED}for (.*)\.",
     lambda facts, g: facts.copied(int(g[0]), int(g[1]), g[2])),
    (rf"MID (\d+) {GENERATED} MID (\d+) .*", lambda facts, g: facts.bounced(int(g[0]), int(g[1]))),
))


def _unquote(quoted: str) -> str:
    """The text the gateway logged with `repr` (SMTP responses); anything else as it stands."""
    if len(quoted) < 2 or quoted[0] not in "'\"" or quoted[-1] != quoted[0]:
        return quoted
    try:
        text = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        return quoted
    return text if isinstance(text, str) else quoted


Wording = Callable[[re.Match[str], _Facts], list[str]]


def _once(template: str) -> Wording:
    return lambda found, facts: [template.format(**found.groupdict())]


def _per_rid(template: str) -> Wording:
    """One event per RID of the line, each naming that RID's recipient."""
    def word(found: re.Match[str], facts: _Facts) -> list[str]:
        fields = found.groupdict()
        text = _unquote(fields.get("quoted") or "")
        rids = [int(rid) for rid in (fields["rids"] or fields.get("rid") or "").split(",") if rid.strip()]
        return [template.format(**fields, text=text, rcpt=facts.recipient(int(fields["mid"]), rid))
                for rid in rids]
    return word


WORDINGS: tuple[tuple[re.Pattern[str], Wording], ...] = tuple((re.compile(p), w) for p, w in (
    (r"MID (?P<mid>\d+) queued for delivery", _once("Message {mid} queued for delivery.")),
    (rf"Delivery start DCID (?P<dcid>\d+) MID (?P<mid>\d+) {RIDS}",
     _per_rid("(DCID {dcid}) Delivery started for message {mid} to {rcpt}.")),
    (rf"Message done DCID (?P<dcid>\d+) MID (?P<mid>\d+) {RIDS}",
     _per_rid("(CID {dcid}) Delivery details: Message {mid} sent to {rcpt}")),
    (r"MID (?P<mid>\d+) RID \[(?P<rids>[\d, ]*)\] Response (?P<quoted>.*)",
     _per_rid('Message {mid} to {rcpt} received remote SMTP response "{text}"')),
    (rf"(?P<kind>Delayed|Bounced): DCID (?P<dcid>\d+) MID (?P<mid>\d+) {FAILED_RIDS} - (?P<status>\S+) - "
     r"(?P<reason>.*?)\.?",
     _per_rid("(DCID {dcid}) {kind} delivery of message {mid} to {rcpt}: {status} - {reason}.")),
    (r"(?P<line>(?:TDC: |Incoming connection \(ICID ).*)", _once("{line}")),
    (r"Start MID (?P<mid>\d+) ICID (?P<icid>\d+)",
     _once("Start message {mid} on incoming connection (ICID {icid}).")),
    (r"MID (?P<mid>\d+) ICID (?P<icid>\d+) From: <(?P<sender>.*)>",
     _once("Message {mid} enqueued on incoming connection (ICID {icid}) from {sender}.")),
    (r"MID (?P<mid>\d+) ICID (?P<icid>\d+) RID \d+ To: <(?P<rcpt>.*)>",
     _once("Message {mid} on incoming connection (ICID {icid}) added recipient ({rcpt}).")),
    (r"Message (?P<how>finished|aborted) MID (?P<mid>\d+) (?P<rest>.*?)\.?",
     _once("Message {mid} {how}: {rest}.")),
    (r"MID (?P<mid>\d+) (?P<rest>.*?)\.?", _once("Message {mid} {rest}.")),
    (r"(?P<line>.*)", _once("{line}")),
))


def parse_line(text: str) -> LogLine | None:
    """One line of `mail.current`, or None if it is not in the gateway's form (e.g. a torn last line)."""
    found = TRACKING_LINE_RE.fullmatch(text.rstrip("\r\n"))
    level = text[found.end(1) + 1:found.start(2) - 2] if found else ""
    at = parse_timestamp(found.group(1)) if found and level in LEVELS else None
    if found is None or at is None:
        return None
    return LogLine(at, Level(level), found.group(2))


def stamp(at: datetime) -> str:
    """`17 Aug 2022 05:52:04 (GMT +00:00)`: the seed's form, in UTC, the day not padded."""
    utc = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return f"{utc.day} {utc:%b %Y %H:%M:%S} (GMT +00:00)"


def _concerns(text: str, mid: int, facts: _Facts) -> bool:
    """Does the line name `mid`, or is it a `TDC:` line of its copy, or its connection lost?"""
    if named := NAMED_MIDS.match(text):
        return mid in {int(named_mid) for named_mid in named.groups() if named_mid}
    if tdc := TDC_MID.match(text):
        return int(tdc[1]) in {mid, *facts.copies.get(mid, ())}
    lost = LOST_ICID.fullmatch(text)
    return lost is not None and facts.icid.get(mid) == int(lost[1])


def _word(text: str, facts: _Facts) -> list[str]:
    for pattern, wording in WORDINGS:
        if found := pattern.fullmatch(text):
            return wording(found, facts)
    return [text]  # not reached: the last wording matches every line


def _learn(lines: list[LogLine]) -> _Facts:
    facts = _Facts()
    for line in lines:
        for pattern, learn in LEARNING:
            if found := pattern.fullmatch(line.text):
                learn(facts, list(found.groups()))
    return facts


def track(lines: Iterable[LogLine], mid: int) -> list[str]:
    """Message `mid`'s history from mail-log lines, oldest first; UnknownMessage if none is about it."""
    snapshot = list(lines)
    facts = _learn(snapshot)
    history = [f"{stamp(line.at)} {event}" for line in snapshot if _concerns(line.text, mid, facts)
               for event in _word(line.text, facts)]
    if not history:
        raise UnknownMessage(mid)
    return history


def track_text(lines: Iterable[str], mid: int) -> list[str]:
    """The same as `track`, from the text lines of `mail.current`; only the lines `about` the message
    are parsed, so a large log costs a text search, not a parse of every line."""
    return track((line for text in about(list(lines), mid) if (line := parse_line(text)) is not None), mid)


def _naming(texts: list[str], numbers: set[int]) -> set[int]:
    """The indexes of the lines whose text (after the timestamp) names one of `numbers`."""
    if not numbers:
        return set()
    named = re.compile(r"\b(?:" + "|".join(str(number) for number in sorted(numbers)) + r")\b")
    return {at for at, text in enumerate(texts) if named.search(text, STAMP_LENGTH)}


def _relatives(texts: list[str], mids: set[int]) -> tuple[set[int], set[int]]:
    """`mids` with every message these lines tie to one of them, and the connections they came on."""
    grown, icids = set(mids), set()
    for text in texts:
        for tie in TIES.finditer(text):
            pair = {int(number) for number in tie.groups() if number}
            grown |= pair if pair & mids else set()
        if (started := STARTED.search(text)) and int(started[1]) in mids:
            icids.add(int(started[2]))
    return grown, icids


def about(texts: list[str], mid: int) -> list[str]:
    """The lines that can matter to `mid`'s history, in order: those naming it, a message tied to it
    (its splinters, copies, DSNs, original) or the connection it came on. Every fact `track` learns
    about a message is on a line naming it, so the history from these lines is the whole log's."""
    mids, icids, searched, chosen_at = {mid}, set[int](), set[int](), set[int]()
    while True:  # each pass searches the log only for the numbers new since the last one
        chosen_at |= _naming(texts, (mids | icids) - searched)
        searched |= mids | icids
        chosen = [texts[at] for at in sorted(chosen_at)]
        grown, found = _relatives(chosen, mids)
        if grown == mids and found <= icids:
            return chosen
        mids, icids = grown, icids | found


def render(history: Sequence[str]) -> str:
    """A history as the operator reads it: one event per line."""
    return "\n".join(history)
