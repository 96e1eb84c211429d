"""The benchmark's messages: generated once with a seeded faker, before anything is timed.

Design rule: faker is slow (milliseconds a message), so a pool of ~2 KB templates is built up
front and each send only splices a unique Message-ID (`<bench.<run>.<seq>@bench.test>`) into a
template: the baseline and the sandbox get byte-identical messages, and the filesystem oracle maps
every mailbox file and journal back to its sequence number by that ID.
"""

from __future__ import annotations

import re
import secrets
import textwrap
from dataclasses import dataclass

from simulator.core.mail.samples import MessageFactory, Outgoing

TARGET_SIZE = 2048
_MESSAGE_ID_RE = re.compile(rb"^Message-ID: <[^>]*>\r\n", re.MULTILINE)
ID_DOMAIN = "bench.test"


@dataclass(frozen=True)
class Template:
    """One pre-generated message, cut where the Message-ID goes."""

    mail_from: str
    recipient: str
    head: bytes  # everything up to and including `Message-ID: <`
    tail: bytes  # from `@bench.test>` to the end


class Corpus:
    """A pool of templates and the run token that makes this run's Message-IDs unique."""

    def __init__(self, templates: list[Template], run_token: str) -> None:
        self.templates = templates
        self.run_token = run_token
        self._id_re = re.compile(rb"<bench\." + run_token.encode() + rb"\.(\d+)@bench\.test>")

    @classmethod
    def generate(cls, seed: int, size: int, local_domain: str, recipients: int = 16) -> Corpus:
        """`size` templates to `recipients` distinct local addresses, all from `seed`."""
        factory = MessageFactory(seed, local_domain)
        mailboxes = [factory.local_address() for _ in range(recipients)]
        templates = [_template(factory, mailboxes[n % recipients]) for n in range(size)]
        return cls(templates, secrets.token_hex(4))

    def message_id(self, seq: int) -> bytes:
        return f"bench.{self.run_token}.{seq}".encode()

    def mail(self, seq: int) -> Outgoing:
        """Message number `seq` (any non-negative integer): a template with its own Message-ID."""
        template = self.templates[seq % len(self.templates)]
        data = template.head + self.message_id(seq) + template.tail
        return Outgoing(template.mail_from, (template.recipient,), data)

    def sequences_in(self, data: bytes) -> set[int]:
        """The sequence numbers of this run's Message-IDs found anywhere in `data`."""
        return {int(found) for found in self._id_re.findall(data)}

    @property
    def mean_size(self) -> float:
        sizes = [len(self.mail(n).data) for n in range(len(self.templates))]
        return sum(sizes) / len(sizes)


def _template(factory: MessageFactory, recipient: str) -> Template:
    subject = factory.faker.sentence(nb_words=6)
    sketch = factory.message(to=(recipient,), subject=subject, body="")
    room = TARGET_SIZE - len(sketch.data) - 60  # the Message-ID and the last line add a few bytes
    body = _text(factory, max(room, 200))
    outgoing = factory.message(mail_from=sketch.mail_from, to=(recipient,), subject=subject, body=body)
    found = _MESSAGE_ID_RE.search(outgoing.data)
    if found is None:
        raise ValueError("MessageFactory made a message without a Message-ID header")
    head = outgoing.data[: found.start()] + b"Message-ID: <"
    tail = f"@{ID_DOMAIN}>\r\n".encode() + outgoing.data[found.end():]
    return Template(outgoing.mail_from, recipient, head, tail)


def _text(factory: MessageFactory, length: int) -> str:
    """Faker paragraphs wrapped at 76 columns, about `length` characters."""
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < length:
        lines += textwrap.wrap(factory.faker.paragraph(nb_sentences=3), 76)
    return "\n".join(lines) + "\n"
