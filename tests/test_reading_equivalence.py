"""Reading without the policy gives the policy's answers (issue 13): a differential test.

`inspection` and `journal_check` read what is provably plain without `email.policy.default`, the
rest with it. The reference below reads the same inputs straight with `email.policy.default`, as
they were read before: (a) the bench journals and the seeded samples, (b) the fuzz corpus and the
hostile inputs of the other tests, damaged journals, (c) seeded generated header values (encoded
words, comments, quotes, folding, non-ASCII, control characters, empty values, duplicates, odd
case), messages and journals made of them. Any difference, in a reading or a result, fails.

The reference is pure (the same header, the same reading; the same journal and question, the same
answer), so it remembers what it has read: a header value met again, or a question that the check
asks once per envelope, is read by the policy once.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr
from functools import cache, cached_property, partial

import pytest

from bench.corpus import Corpus
from bench.journals import Journals
from fuzz.content import body as fuzzed_lines
from fuzz.legit import message as legit_message
from simulator.core.config.values import GatewayConfig
from simulator.core.mail import journal_check
from simulator.core.mail.inspection import (
    MessageFacts,
    content_type,
    header_text,
    inspect,
    plain_charset,
    plain_content_type,
    plain_payload,
    plain_text_part,
    split_plain,
)
from simulator.core.mail.journal import JournalAddressing, JournalSource, build_journal, header_field
from simulator.core.mail.journal_check import KnownOriginal, ReadJournal, check_journal
from simulator.core.mail.samples import SAMPLE_KINDS, MessageFactory
from simulator.core.mail.td_analysis import findings
from simulator.core.mail.verdicts import true_sender_ip, verdict_of

SYSTEM = "tdc-journal@esa1.sandbox.test"
INTAKE = "sandbox-tenant@intake.threatdefense.test"
NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
SEED = 20260113

# --- the reference: email.policy.default, read straight ------------------------------------------


@cache
def reference_value(name: str, raw_value: str) -> str:
    try:
        return str(policy.default.header_fetch_parse(name, raw_value))
    except Exception:
        return " ".join(raw_value.split())


def reference_facts(raw: bytes) -> MessageFacts:
    message = message_from_bytes(raw, policy=policy.default)
    headers = tuple(message.raw_items())

    def first(name: str) -> str:
        return next((reference_value(k, v) for k, v in headers if k.lower() == name.lower()), "")

    parts = []
    for part in message.walk():
        if not part.is_multipart():
            try:
                payload = part.get_payload(decode=True)
            except Exception:
                payload = None
            if isinstance(payload, bytes):
                parts.append(payload)
    return MessageFacts(first("Subject"), first("Message-ID").strip(), headers, tuple(parts), raw)


def _parsed(raw: bytes, headers_only: bool = False) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=headers_only)
    assert isinstance(message, EmailMessage)
    return message


class ReferenceJournal(ReadJournal):
    """A journal read as it was before issue 13: every question asked of `email.policy.default`."""

    @cached_property
    def top(self) -> EmailMessage:
        return _parsed(self.raw, headers_only=True)

    @cached_property
    def _wrapper_texts(self) -> dict[str, str]:
        return {}

    def wrapper_text(self, name: str) -> str:
        if name not in self._wrapper_texts:
            self._wrapper_texts[name] = self._read_wrapper_text(name)
        return self._wrapper_texts[name]

    def _read_wrapper_text(self, name: str) -> str:
        try:
            return header_field(str(self.top.get(name, "")))
        except Exception:
            return ""

    def wrapper_has(self, name: str) -> bool:
        return name in self.top

    @cached_property
    def wrapper_type(self) -> str:
        return self.top.get_content_type()

    @cached_property
    def report(self) -> EmailMessage | None:
        return _parsed(self.parts[0]) if self.parts else None

    @cached_property
    def report_type(self) -> str | None:
        return self.report.get_content_type() if self.report is not None else None

    @cached_property
    def report_text(self) -> str | None:
        try:
            text = self.report.get_content() if self.report is not None else None
        except Exception:
            return None
        return text if isinstance(text, str) else None

    @cached_property
    def original_facts(self) -> MessageFacts | None:
        return reference_facts(self.original) if self.original is not None else None


# --- comparing --------------------------------------------------------------------------------------


def outcome(read: Callable[[], object]) -> object:
    """What `read` returns, or the kind of exception it raises."""
    try:
        return read()
    except Exception as error:
        return ("raised", type(error))


ASKED = ("Subject", "Message-ID", "From", "To", "X-IronPort-RemoteIP", "List-Unsubscribe", "Date",
         "Content-Type", "X-Absent")


def facts_differences(raw: bytes) -> list[str]:
    """How `inspect` and the reference differ on `raw`."""
    fast, reference = outcome(lambda: inspect(raw)), outcome(lambda: reference_facts(raw))
    if not isinstance(fast, MessageFacts) or not isinstance(reference, MessageFacts):
        return [] if fast == reference else [f"inspect {fast!r} != {reference!r} for {raw[:200]!r}"]
    return _facts_differences(fast, reference)


def _facts_differences(fast: MessageFacts, reference: MessageFacts) -> list[str]:
    found = [] if fast == reference else [f"facts {fast!r} != {reference!r}"]
    for name in {*ASKED, *(key for key, _ in reference.raw_headers)}:
        expected = [reference_value(k, v) for k, v in reference.raw_headers if k.lower() == name.lower()]
        if fast.header_values(name) != expected:
            found.append(f"header_values({name!r}) {fast.header_values(name)!r} != {expected!r}")
    verdicts = (verdict_of(fast), true_sender_ip(fast, "X-IronPort-RemoteIP", "192.0.2.1"))
    if verdicts != (verdict_of(reference), true_sender_ip(reference, "X-IronPort-RemoteIP", "192.0.2.1")):
        found.append(f"verdicts {verdicts!r} for {reference.raw[:200]!r}")
    return found


WRAPPER = ("From", "To", "Subject", "Message-ID", "X-IronPort-MID", "X-MS-Journal-Report", "Date",
           "content-type", "X-Absent")
ENVELOPES = [
    (SYSTEM, (INTAKE,), frozenset({INTAKE}), None),
    ("alice@sender.test", (INTAKE,), frozenset({INTAKE}), KnownOriginal("alice@sender.test", "<n@x>")),
    (GatewayConfig().system_address, ("intake@example.test",), frozenset({"intake@example.test"}), None),
]


def _wrapper_reading(read: ReadJournal, name: str) -> tuple[str, bool]:
    return read.wrapper_text(name), read.wrapper_has(name)


def _readings(read: ReadJournal) -> list[object]:
    return [
        outcome(lambda: read.wrapper_type),
        [outcome(partial(_wrapper_reading, read, name)) for name in WRAPPER],
        outcome(lambda: read.report_type), outcome(lambda: read.report_text),
        outcome(lambda: read.report_fields),
        *(outcome(partial(check_journal, read, *envelope)) for envelope in ENVELOPES),
        outcome(lambda: findings(read, "192.0.2.1", remediating=True)),
    ]


def journal_differences(raw: bytes) -> list[str]:
    """How `ReadJournal` (and the check and analysis on it) and the reference differ on `raw`."""
    fast, reference = ReadJournal(raw), ReferenceJournal(raw)
    found = [] if _readings(fast) == _readings(reference) else [
        f"readings {_readings(fast)!r} != {_readings(reference)!r} for {raw[:300]!r}"]
    facts, expected = outcome(lambda: fast.original_facts), outcome(lambda: reference.original_facts)
    if isinstance(facts, MessageFacts) and isinstance(expected, MessageFacts):
        return found + _facts_differences(facts, expected)
    return found + ([] if facts == expected else [f"original facts {facts!r} != {expected!r}"])


def assert_same(differences: Callable[[bytes], list[str]], inputs: Iterable[bytes]) -> int:
    """Every input read the same both ways; returns how many inputs there were (so none is vacuous)."""
    count, found = 0, []
    for raw in inputs:
        count += 1
        found += differences(raw)
    assert found == [], f"{len(found)} differences, e.g. {found[:3]}"
    return count


def journal(delivered: bytes, subject: str = "Account notice", message_id: str = "<n@sender.test>",
            recipients: tuple[str, ...] = ("bob@example.com",)) -> bytes:
    source = JournalSource(3, "alice@sender.test", recipients, subject, message_id, delivered)
    return build_journal(source, JournalAddressing(SYSTEM, INTAKE, "esa1.sandbox.test"), 4, NOW)


# --- (a) the bench journals and the seeded samples ---------------------------------------------------


def test_the_bench_journals_read_the_same() -> None:
    corpus = Corpus.generate(5, 40, "example.com")
    journals = Journals(corpus, 40, "intake@example.test")
    raws = [journals.mail(seq).data for seq in range(40)]
    assert all(split_plain(raw) is not None for raw in raws), "the bench journals take the plain path"
    assert assert_same(journal_differences, raws) == 40
    assert assert_same(facts_differences, (corpus.mail(seq).data for seq in range(40))) == 40


@cache
def _samples() -> tuple[bytes, ...]:
    """The seeded samples of every kind and a few odd ones (made once: four tests read them)."""
    factory = MessageFactory(SEED)
    samples = [factory.sample(kind.name).data for kind in SAMPLE_KINDS]
    samples += [factory.malformed().data, factory.message(attachments=[("a.exe", b"MZ\x00\xff")]).data,
                factory.message(cte="quoted-printable", body="Gr\u00fc\u00dfe = caf\u00e9\n").data,
                factory.message(cte="base64", body="verify your account\n").data,
                factory.message(subject="Gr\u00fc\u00dfe \u2603 " * 9, body="\u00e9t\u00e9\n").data,
                factory.message(cte="8bit", body="\u00e9t\u00e9\n").data, legit_message("run", 1)[1]]
    return tuple(samples)


def test_the_samples_and_their_journals_read_the_same() -> None:
    samples = _samples()
    assert assert_same(facts_differences, samples) == len(samples)
    journals = [journal(sample) for sample in samples]
    journals += [journal(sample, "Gr\u00fc\u00dfe " * 20, "<\u00fc@x>") for sample in samples]
    assert assert_same(journal_differences, journals) == 2 * len(samples)


# --- (b) the fuzz corpus, the other tests' hostile inputs, damaged journals -------------------------

HOSTILE = [
    b"", b"\r\n\r\n", b"no headers at all", b"Subject: caf\xe9\r\n\r\n\xff\xfe body\r\n",
    b"Subject: =?utf-8?b?!!!invalid?=\r\n\r\nbody", b"Subject: =?x-no-such-charset?q?abc?=\r\n\r\nbody",
    b"Message-ID: <unterminated\r\n\r\nbody",
    b"From: <<<@@@>>>\r\nTo: ,,,;;;\r\nDate: not a date\r\n\r\nbody",
    b"Subject: \xff\xfe bad bytes\r\nMessage-ID: <\xff@x>\r\n\r\n\xff\xfe",
    b"Content-Type: multipart/mixed\r\n\r\nno boundary",
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!===\r\n",
    b"Content-Transfer-Encoding: x-unknown\r\n\r\nhello\r\n",
    b"Content-Type: text/plain; charset=bogus\r\n\r\nhi",
    b"Content-Disposition: attachment; filename*=bogus''%ff%ff\r\n\r\nhi",
    b'To: "unterminated <a@b.c>\r\nCc: a@b.c (comment\r\n\r\n', b"Subject: hi\r\nTo: bob@\r\n\r\nbody\r\n",
    b"From: Alice <\r\nSubject: hi\r\n\r\nbody\r\n", b"Message-ID: <m1@\r\nSubject: hi\r\n\r\nbody\r\n",
    b"From nobody Mon Jan 1\r\nSubject: unix from\r\n\r\nbody", b" continuation first\r\nSubject: x\r\n\r\nb",
    b"Subject: x\r\nNo colon here\r\n\r\nbody", b": no name\r\nSubject: x\r\n\r\nbody",
    b"Subject: bare\nlf\r\n\r\nbody", b"Subject: bare\rcr\r\n\r\nbody", b"Subject: x\n\nbody\r\n\r\nmore",
    b"Subject: x\r\n\r\n", b"Subject: x\r\n", b"Subject: x", b"Subject:\r\nContent-Type:\r\n\r\nb",
    b"Content-Type: Message/RFC822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n",
    b"Content-Type: message/delivery-status\r\n\r\nStatus: 5.0.0\r\n",
    b"Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    b"Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n",
    b"Content-Transfer-Encoding: BASE64\r\n\r\naGk=\r\n",
    b"Content-Transfer-Encoding: base64 \r\n\r\naGk=\r\n",
    b"Content-Transfer-Encoding: x-uue\r\n\r\nbegin 644 x\r\n#86)C\r\n`\r\nend\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9=\r\n=XX\r\n",
]


def _fuzzed(count: int) -> list[bytes]:
    rng = random.Random(SEED)
    return [b"".join(line + rng.choice([b"\r\n", b"\r\n", b"\n"]) for line in fuzzed_lines(rng))
            for _ in range(count)]


def test_the_fuzz_corpus_and_hostile_messages_read_the_same() -> None:
    messages = HOSTILE + _fuzzed(8)
    assert assert_same(facts_differences, messages) == len(messages)
    assert assert_same(journal_differences, [journal(raw) for raw in messages]) == len(messages)
    assert assert_same(journal_differences, messages) == len(messages), "messages that are no journal"


def _damaged(valid: bytes, rng: random.Random) -> list[bytes]:
    damaged = [valid[:cut] for cut in range(0, len(valid), 17)]
    for _ in range(100):
        flipped = bytearray(valid)
        for _ in range(rng.choice([1, 3])):
            flipped[rng.randrange(len(flipped))] = rng.choice([rng.randrange(256), *b"\r\n \t:;\"=?<>@("])
        damaged.append(bytes(flipped))
    return damaged


def test_damaged_journals_and_messages_read_the_same() -> None:
    rng = random.Random(SEED)
    valid = journal(b"X-IronPort-RemoteIP: 198.51.100.7\r\nFrom: x@sender.test\r\nSubject: Account notice\r\n"
                    b"Message-ID: <n@sender.test>\r\n\r\nPlease verify your account today.\r\n")
    assert assert_same(journal_differences, _damaged(valid, rng)) > 100
    assert assert_same(facts_differences, _damaged(_samples()[0], rng)) > 100


# --- (c) generated header values, and messages and journals made of them ------------------------

FRAGMENTS = [
    "plain", "Word", "a", "x.y", "a@b.test", "<m1@x.test>", "bob@example.com", "<", ">", "@", ".", "..",
    ",", ";", ":", "=", "/", "?", '"', "\\", "(", ")", "[", "]", "'", "%", "*", "!", "#", "{", "=?", "?=",
    "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "=?utf-8?b?w6k=?=", "=?bogus?x?y?=", "=?utf-8?q?a?=", "(comment)",
    '"quoted string"', '"a\\"b"', "\r\n ", "\r\n\t", "\r\n", "\r", "\n", " ", "  ", "\t", "\u00e9",
    "caf\udce9", "\u2603", "\x00", "\x07", "\x0b", "\x0c", "\x1b", "\x1c", "\x7f", "\x85", "\u2028",
    "text/plain", "multipart/mixed", "message/rfc822", "TEXT/HTML", "application/x-y", "charset=utf-8",
    'charset="us-ascii"', "CHARSET=latin-1", 'boundary="=_b"', "name*=utf-8''%E2%82%AC", "name*0=a",
    "7bit", "8bit", "base64", "Quoted-Printable", "x-uuencode", "Group:", "undisclosed-recipients:;",
    "Name <a@b.test>", "[1.2.3.4]", "<a@[1.2.3.4]>", "0", "42", "Mon, 30 Nov 2026 17:18:25 +0000",
]
PLAIN = ["Quarterly report", "a@b.test", "x.y-z+tag@mail.example.com", "<m1@x.test>", "<a.b@c.d>",
         "text/plain", 'text/plain; charset="utf-8"', "text/plain; charset=us-ascii", "7bit", "42",
         'multipart/mixed; boundary="=_tdc_4_0_abc"', "Hello  there\tyou", "", "=!#$%&'*+/?^_`{|}~-@x.y"]
ALPHABET = [chr(code) for code in range(128)] + ["\u00e9", "\udce9", "\u2028", "\x85", "\u00a0"]
NAMES = ["Subject", "SUBJECT", "X-IronPort-MID", "x-custom", "List-Unsubscribe", "Message-ID", "message-id",
         "From", "To", "cc", "Bcc", "Reply-To", "Sender", "Resent-From", "Content-Type",
         "Content-Transfer-Encoding", "Content-Disposition", "Date", "MIME-Version", "Received"]


def generated_values(rng: random.Random, count: int) -> list[str]:
    """Values joined from fragments, and plain values with one character inserted, changed or removed."""
    values = []
    for _ in range(count):
        if rng.random() < 0.5:
            values.append("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 6))))
            continue
        value = rng.choice(PLAIN)
        at = rng.randint(0, len(value))
        edit = rng.choice(["insert", "insert", "replace", "delete"])
        cut = at + 1 if edit != "insert" else at
        value = value[:at] + (rng.choice(ALPHABET) if edit != "delete" else "") + value[cut:]
        values.append(value)
    return values


def test_generated_values_are_made_of_what_the_brief_lists() -> None:
    values = generated_values(random.Random(SEED), 3000)
    kinds = {"encoded word": r"=\?[^?]*\?[bqBQ]\?", "comment": r"\(", "quote": '"', "folding": r"\r\n[ \t]",
             "non-ASCII": r"[^\x00-\x7f]", "control": r"[\x00-\x08\x0b-\x1f\x7f]", "empty": r"^$"}
    missing = [kind for kind, pattern in kinds.items() if not any(re.search(pattern, v) for v in values)]
    assert missing == []
    assert sum(header_text("Subject", v) == v for v in values) > 500, "many take the plain path"


def _reference_message(headers: list[tuple[str, str]], body: bytes = b"") -> Message:
    message = Message(policy=policy.default)
    for name, value in headers:
        message.set_raw(name, value)
    message.set_payload(body)
    return message


def _policy_text(name: str, value: str) -> str:
    return str(policy.default.header_fetch_parse(name, value))


def test_generated_header_values_read_the_same() -> None:
    rng, found = random.Random(SEED), []
    for value in generated_values(rng, 800):
        for name in rng.sample(NAMES, 4):
            fast = outcome(partial(header_text, name, value))
            expected = outcome(partial(_policy_text, name, value))
            if fast != expected:
                found.append(f"{name}: {value!r} read {fast!r}, the policy {expected!r}")
        if journal_check._address(value) != parseaddr(value)[1].lower():
            found.append(f"address {value!r}")
    assert found == [], f"{len(found)} differences, e.g. {found[:3]}"


TYPES = ["text/plain", "TEXT/Plain", "multipart/mixed", "text/html", "text/plain ", " text/plain",
         "text / plain", "text/plain(c)", "text", "message/rfc822", "x-y/z.w+v", "text/\u00e9",
         "text/plain\x00"]
PARAMETERS = ["charset=utf-8", 'charset="utf-8"', "charset*=utf-8", "CHARSET*0=us-ascii", 'charset="utf\\-8"',
              "CHARSET=us-ascii", "charset=", 'charset=""', "charset='utf-8'", "charset=utf-8(c)",
              "charset = utf-8", 'boundary="=_b"', 'name="a;b"', 'name="a\\"b"', "x=y", "charset=x-unknown",
              'charset="=?utf-8?q?x?="', "charset=<utf-8>", "charset=latin-1", 'charset="utf-8 "',
              "charset=utf-8'en'", "charset=%75tf-8", "charset", "charset=utf-7", 'charset="\u00e9"']
SEPARATORS = [";", "; ", " ;", ";\r\n ", ";;", ";\t", "; \r\n\t"]


def generated_content_types(rng: random.Random, count: int) -> list[str]:
    """Content types with parameters, plain and not, some with one character changed."""
    values = []
    for _ in range(count):
        value = rng.choice(TYPES) + "".join(
            rng.choice(SEPARATORS) + rng.choice(PARAMETERS) for _ in range(rng.randint(0, 3)))
        if rng.random() < 0.3:
            at = rng.randint(0, len(value))
            value = value[:at] + rng.choice(ALPHABET) + value[at + rng.randint(0, 1):]
        values.append(value)
    return values


def test_generated_content_types_and_encodings_read_the_same() -> None:
    rng, found = random.Random(SEED + 1), []
    bodies = [b"hello\r\n", b"aGVsbG8=\r\n", b"caf=C3=A9=\r\nx\r\n", b"\xff\xfe\r\n", b""]
    for value in generated_values(rng, 800) + generated_content_types(rng, 800) + PLAIN:
        headers = [(rng.choice(["Content-Type", "content-type"]), value)]
        headers += [("Content-Transfer-Encoding", rng.choice(generated_values(rng, 1) + PLAIN[8:9]))]
        headers = rng.sample(headers, len(headers)) + rng.choice([[], [("Content-Type", "text/html")]])
        body = rng.choice(bodies)
        reference = _reference_message(headers, body)
        split, expected_type = tuple(headers), outcome(reference.get_content_type)
        if outcome(partial(content_type, split)) != expected_type:
            found.append(f"content type of {headers!r}")
        if plain_content_type(split) not in (None, expected_type):
            found.append(f"plain content type of {headers!r}")
        # a plain reading that gives up (None) leaves the value to the policy: only an answer is compared
        charset = plain_charset(split)
        if charset is not None and charset != reference.get_param("charset", "ASCII"):
            found.append(f"charset of {headers!r}")
        payload = plain_payload(split, body)
        if payload is not None and payload != outcome(partial(reference.get_payload, decode=True)):
            found.append(f"payload of {headers!r}")
    assert found == [], f"{len(found)} differences, e.g. {found[:3]}"


def _reference_text(raw: bytes) -> tuple[str, str | None]:
    part = _parsed(raw)
    text = outcome(part.get_content)
    return part.get_content_type(), text if isinstance(text, str) else None


def test_generated_text_parts_read_the_same() -> None:
    rng, found, plain = random.Random(SEED + 4), [], 0
    bodies = [b"Sender: a@b.test\r\nTo: c@d.test\r\n", "T\u00e9l\u00e9\r\n".encode(), b"\xe9t\xe9\r\n", b""]
    for value in generated_content_types(rng, 700):
        cte = rng.choice(["7bit", "8bit", "7BIT", "binary", "x-token", "7bit ", "base64", "", "7 bit"])
        head = f"Content-Type: {value}\r\n" + (f"Content-Transfer-Encoding: {cte}\r\n" if cte else "")
        raw = head.encode("utf-8", "surrogateescape") + b"\r\n" + rng.choice(bodies)
        fast = plain_text_part(raw)
        plain += fast is not None
        # None leaves the part to the policy: the reference is read only where there is an answer
        if fast is not None and fast != (expected := _reference_text(raw)):
            found.append(f"{raw!r}: {fast!r} != {expected!r}")
    assert found == [], f"{len(found)} differences, e.g. {found[:3]}"
    assert plain > 50, "many take the plain path"


def generated_message(rng: random.Random) -> bytes:
    """A message of generated headers (some duplicated, names in odd case), folded or not, and a body."""
    lines = []
    for _ in range(rng.randint(0, 8)):
        name = rng.choice([*NAMES, "X-IronPort-RemoteIP"])
        name = rng.choice([name, name.upper(), name.lower()])
        value = rng.choice([*generated_values(rng, 1), rng.choice(PLAIN)])
        lines.append(f"{name}: {value}".encode("utf-8", "surrogateescape"))
        if rng.random() < 0.2:
            lines.append(lines[-1])  # a duplicate
    body = rng.choice([b"Please verify your account.\r\n", b"", b"\xe9t\xe9\r\n", b"=C3=A9\r\n",
                       base64.encodebytes(b"wire transfer"), b"--b\r\n\r\nx\r\n--b--\r\n"])
    return b"".join(line + b"\r\n" for line in lines) + rng.choice([b"\r\n", b"\n", b""]) + body


def _two(values: list[str]) -> tuple[str, str]:
    return values[0], values[1]


def test_generated_messages_and_journals_read_the_same() -> None:
    rng = random.Random(SEED + 2)
    messages = [generated_message(rng) for _ in range(300)]
    assert sum(split_plain(raw) is not None for raw in messages) > 30, "many take the plain path"
    assert assert_same(facts_differences, messages) == 300
    journals = [journal(raw, *_two(generated_values(rng, 2))) for raw in messages[:150]]
    assert assert_same(journal_differences, journals) == 150


WRAPPER_LINE = re.compile(
    rb"(?m)^(From|To|Subject|Message-ID|X-IronPort-MID|Content-Type|Content-Transfer-Encoding): [^\r]*")


def _with_value(block: bytes, name: bytes, value: bytes) -> bytes:
    """`block` with its first `name:` header's value replaced by `value`."""
    found = re.search(rb"(?m)^" + name + rb": [^\r]*", block)
    assert found is not None
    return block[: found.start()] + name + b": " + value + block[found.end():]


@pytest.mark.parametrize("part", ["wrapper", "report"])
def test_journals_with_generated_wrapper_and_report_headers_read_the_same(part: str) -> None:
    rng, valid = random.Random(SEED + 3), journal(_samples()[1])
    head, _, rest = valid.partition(b"\r\n\r\n")
    cut = rest.index(b"\r\n\r\n") + 4 if part == "report" else 0
    journals = []
    for _ in range(100):
        value = rng.choice([*generated_values(rng, 1), rng.choice(PLAIN)]).encode("utf-8", "surrogateescape")
        target = head if part == "wrapper" else rest[:cut]
        lines = WRAPPER_LINE.findall(target)
        name = rng.choice(lines)
        edited = _with_value(target, name, value)
        whole = edited + b"\r\n\r\n" + rest if part == "wrapper" else head + b"\r\n\r\n" + edited + rest[cut:]
        journals.append(whole)
    assert assert_same(journal_differences, journals) == 100
