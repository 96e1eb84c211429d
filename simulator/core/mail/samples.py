"""Sample messages built from a seeded Faker: the same seed gives the same envelope and bytes.

Design rule: pure (no sockets, no clock). `MessageFactory` builds an `Outgoing` (an envelope and the
exact DATA bytes); each named sample kind carries the content that earns its verdict in `verdicts.py`
and names the listener it goes through. The tests, the bench and the console's Traffic Generator all
build their mail here, so a sample seen in the console is the one a test sends. Messages are built
with `email.policy.SMTP` (CRLF), except the deliberately malformed one, which is written by hand.
A multipart's boundary comes from its Message-ID (`multipart_boundary`), never from the stdlib's
draw from the global `random`, which would make the bytes depend on who else used it.
Faker is imported, and a factory's seeded instance made, when a factory first draws from it: every
`tdcsim sandbox` imports this module (the console's Traffic Generator) and most never draw.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from simulator.core.config.values import MailPolicy, domain_of
from simulator.core.mail.journal import free_boundary
from simulator.core.mail.policies import policy_for
from simulator.core.mail.scanning import EICAR, GTUBE
from simulator.core.mail.verdicts import Verdict

if TYPE_CHECKING:
    from faker import Faker

FIXED_DATE = datetime(2022, 8, 17, 5, 52, 0, tzinfo=UTC)
#: The MID in the gateway's reply to DATA (`250 2.0.0 Ok: Message 7 accepted`).
ACCEPTED_MID_RE = re.compile(r"Message (\d+) accepted")
Listener = Literal["inbound", "relay"]


@dataclass(frozen=True)
class Outgoing:
    """An envelope and the exact bytes to send as DATA."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes


def accepted_mid(reply_text: str) -> int | None:
    """The MID the gateway named in its reply to DATA, if it named one."""
    found = ACCEPTED_MID_RE.search(reply_text)
    return int(found.group(1)) if found else None


def multipart_boundary(key: str, content: bytes) -> str:
    """The boundary of a sample's multipart around `content` (`free_boundary`, the journal copy's
    rule), labelled by its Message-ID `key`: digested, as a Message-ID holds characters a boundary
    cannot (`<`, `@`)."""
    return free_boundary(hashlib.sha256(key.encode()).hexdigest()[:8], content)


class MessageFactory:
    """Builds `Outgoing` messages from a seeded Faker."""

    def __init__(self, seed: int, local_domain: str = "example.com") -> None:
        self.seed = seed
        self.local_domain = local_domain

    @cached_property
    def faker(self) -> Faker:
        """This factory's Faker, seeded with its seed."""
        from faker import Faker

        faker = Faker()
        faker.seed_instance(self.seed)
        return faker

    def local_address(self) -> str:
        return f"{self.faker.user_name()}@{self.local_domain}"

    def outside_address(self) -> str:
        return f"{self.faker.user_name()}@{self.faker.domain_name()}"

    def message(
        self, *, mail_from: str | None = None, to: Sequence[str] = (), subject: str | None = None,
        body: str | None = None, attachments: Sequence[tuple[str, bytes]] = (),
        cte: str | None = None, headers: Sequence[tuple[str, str]] = (),
    ) -> Outgoing:
        """A well-formed message; `to` defaults to one local recipient; `headers` are added as given."""
        sender = mail_from or self.outside_address()
        recipients = tuple(to) or (self.local_address(),)
        message = EmailMessage(policy=policy.SMTP)
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject if subject is not None else self.faker.sentence(nb_words=5)
        message["Date"] = format_datetime(FIXED_DATE)
        message["Message-ID"] = f"<{self.faker.uuid4()}@{sender.rpartition('@')[2]}>"
        for name, value in headers:
            message[name] = value
        text = body if body is not None else self.faker.paragraph(nb_sentences=4) + "\n"
        message.set_content(text, cte=cte) if cte else message.set_content(text)
        for filename, payload in attachments:
            message.add_attachment(payload, maintype="application", subtype="octet-stream",
                                   filename=filename)
        if message.is_multipart():
            parts = b"".join(part.as_bytes() for part in message.iter_parts())
            message.set_boundary(multipart_boundary(str(message["Message-ID"]), parts))
        return Outgoing(sender, recipients, message.as_bytes())

    def with_eicar(self, to: Sequence[str] = ()) -> Outgoing:
        """A message carrying the EICAR anti-virus test string."""
        return self.message(to=to, body=f"{EICAR.decode()}\n")

    def with_gtube(self, to: Sequence[str] = ()) -> Outgoing:
        """A message carrying the GTUBE anti-spam test string."""
        return self.message(to=to, body=f"{GTUBE.decode()}\n")

    def malformed(self, to: Sequence[str] = ()) -> Outgoing:
        """Broken MIME: an unterminated multipart, bad base64 and a header with no colon."""
        sender = self.outside_address()
        recipients = tuple(to) or (self.local_address(),)
        data = (
            f"From: {sender}\r\nTo: {recipients[0]}\r\nSubject: broken mime\r\n"
            "Message-ID: <broken.1@outside.test>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="never-closed"\r\n'
            "this line is not a header\r\n\r\n"
            "--never-closed\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "!!!not base64!!!\r\n--never-closed\r\nContent-Type: text/html; charset=\r\n\r\n"
            "<p>unterminated\r\n"
        ).encode()
        return Outgoing(sender, recipients, data)

    def sample(self, kind: str, to: Sequence[str] = ()) -> Outgoing:
        """The sample of kind `kind` (a name in `SAMPLE_KINDS`), to `to` or the kind's own recipient."""
        return BUILDERS[kind](self, tuple(to))


def _phishing(factory: MessageFactory, to: tuple[str, ...]) -> Outgoing:
    body = (f"Dear {factory.faker.first_name()},\n\nWe noticed an unusual sign-in. Please verify your "
            f"account within 24 hours at https://login.{factory.faker.domain_word()}.test/verify "
            "or it will be closed.\n")
    return factory.message(to=to, subject="Action required: verify your account", body=body)


def _bec(factory: MessageFactory, to: tuple[str, ...]) -> Outgoing:
    body = (f"Hi {factory.faker.first_name()},\n\nI need you to make a wire transfer of "
            f"${factory.faker.random_int(9000, 49000)} to a new supplier today. I am in meetings, "
            f"so reply by email only.\n\n{factory.faker.name()}\n")
    return factory.message(to=to, subject="Urgent wire transfer", body=body)


def _scam(factory: MessageFactory, to: tuple[str, ...]) -> Outgoing:
    body = (f"Congratulations! You have won ${factory.faker.random_int(100000, 900000)} in our "
            f"international draw. Send your bank details to {factory.faker.free_email()} to claim it.\n")
    return factory.message(to=to, subject="You have won", body=body)


def _graymail(factory: MessageFactory, to: tuple[str, ...]) -> Outgoing:
    company = factory.faker.company()
    unsubscribe = f"<mailto:unsubscribe@{factory.faker.domain_name()}>"
    return factory.message(to=to, subject=f"{company}: news of the month",
                           headers=(("List-Unsubscribe", unsubscribe),))


def _outgoing(factory: MessageFactory, to: tuple[str, ...]) -> Outgoing:
    sender = factory.local_address()
    return factory.message(mail_from=sender, to=to or (factory.outside_address(),))


@dataclass(frozen=True)
class SampleKind:
    """A named sample: its label, the listener it goes through, the verdict its content earns at
    Threat Defense, and what the gateway does with it."""

    name: str
    label: str
    listener: Listener
    verdict: Verdict
    about: str


SAMPLE_KINDS: tuple[SampleKind, ...] = (
    SampleKind("clean", "Clean", "inbound", "Neutral",
               "An ordinary message: delivered, and copied to Threat Defense when the connector is on."),
    SampleKind("phishing", "Phishing", "inbound", "Phishing",
               'Asks the recipient to "verify your account": delivered and copied.'),
    SampleKind("bec", "Business email compromise (BEC)", "inbound", "BEC",
               'Asks for an urgent "wire transfer": delivered and copied.'),
    SampleKind("scam", "Scam", "inbound", "Scam", 'Says "you have won": delivered and copied.'),
    SampleKind("spam", "Spam (GTUBE)", "inbound", "Spam",
               "Carries the GTUBE test string: anti-spam quarantines it, so no copy is made."),
    SampleKind("virus", "Virus (EICAR)", "inbound", "Malicious",
               "Carries the EICAR test string: anti-virus drops it, so no copy is made."),
    SampleKind("graymail", "Graymail", "inbound", "Graymail",
               "A newsletter with a List-Unsubscribe header: delivered and copied."),
    SampleKind("outgoing", "Outgoing", "relay", "Neutral",
               "From a local sender to an outside recipient through the private (relay) listener: "
               "outgoing mail is never copied."),
    SampleKind("split", "Multi-policy split", "inbound", "Neutral",
               "Recipients matched by different incoming mail policies: the gateway splits the message, "
               "one MID per policy, and copies each splinter."),
)
KINDS_BY_NAME = {kind.name: kind for kind in SAMPLE_KINDS}
BUILDERS: dict[str, Callable[[MessageFactory, tuple[str, ...]], Outgoing]] = {
    "clean": lambda factory, to: factory.message(to=to),
    "phishing": _phishing, "bec": _bec, "scam": _scam,
    "spam": lambda factory, to: factory.with_gtube(to),
    "virus": lambda factory, to: factory.with_eicar(to),
    "graymail": _graymail, "outgoing": _outgoing,
    "split": lambda factory, to: factory.message(to=to),
}


def _candidates(user: str, pattern: str, local_domains: Sequence[str]) -> list[str]:
    """Local addresses a policy pattern could match (`user@domain`, `@domain`, `@.domain`, `user@`)."""
    local, _, domain = pattern.partition("@")
    if local and domain:
        return [pattern]
    if domain.startswith("."):
        return [f"{user}@{each}" for each in local_domains if each.lower().endswith(domain.lower())]
    if domain:
        return [f"{user}@{domain}"]
    return [f"{local or user}@{each}" for each in local_domains]


def split_recipients(policies: Sequence[MailPolicy], local_domains: Sequence[str],
                     user_name: Callable[[], str]) -> tuple[str, ...]:
    """One local recipient for each incoming mail policy a local recipient can land in, in table order
    (fewer than two: these policies cannot split a message); `user_name` names the users it tries."""
    local = {each.lower() for each in local_domains}
    chosen: dict[str, str] = {}
    for candidate_policy in policies:
        user = user_name()
        patterns = candidate_policy.recipients or ("@",)
        addresses = (address for pattern in patterns for address in _candidates(user, pattern, local_domains))
        found = next((address for address in addresses if domain_of(address) in local
                      and policy_for(address, policies).name == candidate_policy.name), None)
        if found is not None:
            chosen.setdefault(candidate_policy.name, found)
    return tuple(chosen.values())
