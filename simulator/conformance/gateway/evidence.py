"""What the counterparts received, found again by token, and waited for with a deadline.

Design rule: read-only over the counterparts' append-only records (thread-safe snapshots). A
`Mark` is how many records each kind had at one moment, so a check judges only what came after it;
a wait that runs out is an AssertionError saying what did not arrive, never a hang.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from simulator.conformance.gateway.counterparts import Contact, Counterparts
from simulator.core.records import Records
from simulator.endpoints.mailbox import MailboxDelivery
from simulator.endpoints.refused import RefusedAttempt
from simulator.endpoints.threat_defense import JournalRecord

T = TypeVar("T")
GOOD_TLS = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True)
class Mark:
    """How many records of each kind the counterparts held at one moment."""

    journals: int
    deliveries: int
    contacts: int
    refused: int


def mark(counterparts: Counterparts) -> Mark:
    c = counterparts
    return Mark(len(c.journals.records), len(c.mailbox.deliveries), len(c.threat_defense.contacts),
                len(c.td_refused.records))


def copies_of(counterparts: Counterparts, token: str) -> list[JournalRecord]:
    """Every journal that embeds the message with `token` (its Message-ID, its Subject)."""
    needle = token.encode()
    return [record for record in counterparts.journals.records.snapshot() if needle in record.data]


def deliveries_of(counterparts: Counterparts, token: str) -> list[MailboxDelivery]:
    """Every mailbox delivery of the message with `token` (one per recipient)."""
    needle = token.encode()
    return [d for d in counterparts.mailbox.deliveries.snapshot() if needle in d.body.head(1 << 16)]


def contacts_since(counterparts: Counterparts, since: Mark) -> list[Contact]:
    return counterparts.threat_defense.contacts.snapshot()[since.contacts:]


def refused_since(counterparts: Counterparts, since: Mark) -> list[RefusedAttempt]:
    return counterparts.td_refused.records.snapshot()[since.refused:]


def wait(records: Records[T], found: Callable[[], bool], timeout: float, what: str) -> None:
    """Block until `found()` holds (checked whenever `records` changes); AssertionError after
    `timeout` seconds, naming `what` was awaited."""
    try:
        records.wait_until(lambda _: found(), timeout, what)
    except TimeoutError:
        raise AssertionError(f"waited {timeout:g} s for {what}; it did not happen") from None


def seen_since(counterparts: Counterparts, since: Mark) -> str:
    """What the kit's Threat Defense saw since `since`, for a failure message."""
    c = counterparts
    lines = ["What the kit's Threat Defense saw:"]
    lines += [f"  connection {x.number} from {x.peer}: TLS {x.tls or 'none (plaintext)'}"
              f"{', handshake failed' if x.tls_failed else ''}, {x.messages} message(s)"
              for x in contacts_since(c, since)]
    lines += [f"  refused connection {r.connection} at {r.command or '?'}: {r.reply}"
              for r in refused_since(c, since)]
    lines += [f"  journal {j.number} to {j.intake_address} over {j.tls_protocol or 'plaintext'}, "
              f"connection {j.connection} message {j.message_on_connection}, broken rules: "
              f"{', '.join(j.broken_rules) or 'none'}"
              for j in c.journals.records.snapshot()[since.journals:]]
    return "\n".join(lines if len(lines) > 1 else [*lines, "  nothing"])
