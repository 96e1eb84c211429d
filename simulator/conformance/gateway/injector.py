"""Mail the kit injects into the gateway under test, and the SMTP transcript of each injection.

Design rule: each message carries a token of its own (in its Message-ID and Subject) by which its
original, and any copy that embeds it, is found again among what the counterparts received. The
client is the standard library's, recording every command and reply; what the gateway answers is
evidence, never an exception: a refusal or a lost connection ends up in the transcript.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

TOKEN_DOMAIN = "conformance.kit.test"
KIT_HELO = "conformance-kit.test"


@dataclass(frozen=True)
class Mail:
    """One message to inject: its envelope, its bytes and the token that finds it again."""

    token: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes

    @property
    def message_id(self) -> str:
        """Its Message-ID: header, which `compose` makes of the token."""
        return f"<{self.token}@{TOKEN_DOMAIN}>"


@dataclass
class Injection:
    """What happened when the kit injected messages on one SMTP session."""

    listener: str  # HOST:PORT
    mails: list[Mail]
    accepted: list[bool] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    def text(self) -> str:
        return f"SMTP transcript (kit -> gateway under test at {self.listener}):\n" + "\n".join(
            f"  {line}" for line in self.transcript)


def compose(sender: str, recipients: tuple[str, ...], label: str, body: str = "") -> Mail:
    """A plain message with a fresh token; `body` (a sample) is added to its text."""
    token = uuid.uuid4().hex
    message = EmailMessage(policy=SMTP)
    message["From"], message["To"] = sender, ", ".join(recipients)
    message["Subject"] = f"tdc conformance {label} {token}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{token}@{TOKEN_DOMAIN}>"  # `Mail.message_id`
    message.set_content(f"A message of the tdc-simulator conformance kit ({label}).\n{body}\n")
    return Mail(token, sender, recipients, message.as_bytes())


class RecordingSMTP(smtplib.SMTP):
    """smtplib's client, keeping every line it sends (a message as its size) and every reply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.transcript: list[str] = []
        super().__init__(*args, **kwargs)

    def send(self, s: str | bytes) -> None:  # type: ignore[override]
        line = s if isinstance(s, str) else f"<message: {len(s)} bytes, then .>"
        self.transcript.append(f"C: {line.rstrip()}")
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        code, message = super().getreply()
        lines = message.decode("utf-8", "replace").splitlines() or [""]
        self.transcript += [f"S: {code} {text}".rstrip() for text in lines]
        return code, message


def inject(host: str, port: int, mails: list[Mail], timeout: float) -> Injection:
    """Send `mails` on one session to `host:port`; every failure is recorded, none is raised."""
    injection = Injection(f"{host}:{port}", mails)
    client = RecordingSMTP(timeout=timeout, local_hostname=KIT_HELO)
    try:
        client.connect(host, port)
        for mail in mails:
            injection.accepted.append(_send(client, mail))
        client.quit()
    except (OSError, smtplib.SMTPException) as error:
        client.transcript.append(f"(connection: {type(error).__name__}: {error})")
        client.close()
    injection.transcript = client.transcript
    injection.accepted += [False] * (len(mails) - len(injection.accepted))
    return injection


def _send(client: RecordingSMTP, mail: Mail) -> bool:
    """One transaction; False (and RSET) if the gateway refused the sender or every recipient."""
    try:
        client.sendmail(mail.sender, list(mail.recipients), mail.data)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
        client.rset()
        return False
    return True
