"""Delivery status notifications (RFC 3464) for hard-bounced originals.

Design rule: pure. Only an original with a sender gets one: a journal copy never causes a DSN
(Threat Defense asks gateways not to bounce to the sender), and a DSN, sent with the null sender,
never causes another. Addresses and the remote reason go into its headers and fields through
`one_line` (no line break from any input); a non-ASCII address makes it an SMTPUTF8 message.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import format_datetime

from simulator.core.config.values import domain_of
from simulator.core.errors import DeliveryError
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.messages import QueueEntry
from simulator.core.mail.retry import RetrySchedule
from simulator.core.reports.logformat import one_line


def wants_dsn(bounced: QueueEntry) -> bool:
    """Does this hard bounce notify the sender?"""
    return not bounced.is_copy and bool(bounced.sender)


#: How much of a bounced message is read for its header block (a larger one is cut there).
HEADERS_READ = 64 * 1024


def _headers_of(data: bytes) -> bytes:
    head, _, _ = data.partition(b"\r\n\r\n")
    return head + b"\r\n"


def _policy_for(bounced: QueueEntry) -> EmailPolicy[EmailMessage]:
    """SMTPUTF8 when an address is not ASCII (it is delivered with SMTPUTF8 or not at all)."""
    addresses = (bounced.sender, *bounced.recipients)
    return policy.SMTP if all(address.isascii() for address in addresses) else policy.SMTPUTF8


def _field_block(chosen: EmailPolicy[EmailMessage], **fields: str) -> Message:
    block = Message(policy=chosen)
    for name, value in fields.items():
        block[name.replace("_", "-")] = one_line(value)
    return block


def _delivery_status(
    bounced: QueueEntry, error: DeliveryError, hostname: str, chosen: EmailPolicy[EmailMessage]
) -> EmailMessage:
    """The machine-readable part: one block for the message, one per failed recipient."""
    status = error.enhanced or ("5.0.0" if error.code is None or error.code >= 500 else "4.4.7")
    part = EmailMessage(policy=chosen)
    part["Content-Type"] = "message/delivery-status"
    blocks: list[Message | str] = [_field_block(chosen, Reporting_MTA=f"dns; {hostname}")]
    part.set_payload(blocks + [
        _field_block(chosen, Final_Recipient=f"rfc822; {address}", Action="failed", Status=status,
                     Diagnostic_Code=f"smtp; {error.reason}")
        for address in bounced.recipients
    ])
    return part


def build_dsn(
    bounced: QueueEntry, error: DeliveryError, hostname: str, dsn_mid: int, now: datetime
) -> QueueEntry:
    """The queue entry carrying a failure DSN for `bounced` to its sender."""
    chosen = _policy_for(bounced)
    report = EmailMessage(policy=chosen)
    report["From"] = f"MAILER-DAEMON@{hostname}"
    report["To"] = one_line(bounced.sender)
    report["Subject"] = "Delivery Status Notification (Failure)"
    report["Date"] = format_datetime(now)
    report["Message-ID"] = f"<dsn.{dsn_mid}.{now:%Y%m%d%H%M%S}@{hostname}>"
    report["Auto-Submitted"] = "auto-replied"
    report.set_content(
        "Your message could not be delivered to:\n"
        + "".join(f"  {one_line(address)}\n" for address in bounced.recipients)
        + f"Reason: {one_line(error.reason)}\n"
    )
    report.make_mixed()
    report.attach(_delivery_status(bounced, error, hostname, chosen))
    report.add_attachment(_headers_of(bounced.body.head(HEADERS_READ)), maintype="text",
                          subtype="rfc822-headers", cte="8bit")
    report.set_type("multipart/report")
    report.set_param("report-type", "delivery-status")
    return QueueEntry(
        mid=dsn_mid, sender="", recipients=(bounced.sender,), rids=(0,),
        body=InMemoryBody(report.as_bytes()), destination=domain_of(bounced.sender),
        schedule=RetrySchedule.starting(now),
    )


def generated_line(dsn_mid: int, bounced_mid: int) -> str:
    return f"MID {dsn_mid} was generated based on MID {bounced_mid} by bounce profile 'Default'"
