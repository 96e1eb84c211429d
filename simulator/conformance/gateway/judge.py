"""The gateway checks' verdicts: each rule's evidence, and the failure that names what broke it.

Design rule: one function per sentence of the feature, over a `GatewayCheck`; a verdict looks only
at what the counterparts recorded since the scenario began (and, for the log rule, the driver's
`read_log_lines`). Every failure says what BEHAVIOUR.md requires and carries the transcripts.
"""

from __future__ import annotations

import re
import time
from email.utils import parseaddr

from simulator.conformance.gateway.check import GatewayCheck
from simulator.conformance.gateway.evidence import (
    GOOD_TLS,
    contacts_since,
    copies_of,
    deliveries_of,
    refused_since,
)
from simulator.conformance.gateway.injector import Mail
from simulator.conformance.gateway.section import sample_text
from simulator.core.mail.journal import embedded_original
from simulator.core.mail.journal_check import (
    NEEDS_ORIGINAL,
    RULES,
    KnownOriginal,
    check_journal,
    report_fields,
)
from simulator.endpoints.threat_defense import JournalRecord

#: The seed's line (BEHAVIOUR.md §1, §4.2), whatever the copy's MID.
SEED_TLS_LINE = re.compile(
    r"TDC: Message \d+ delivery failed to Cisco Secure Email Threat Defense: TLS Error\.")
LOG_POLL_SECONDS = 0.05


def disable_connector(check: GatewayCheck) -> None:
    """Enable first (so that the hook that puts it back is known to exist), then disable."""
    check.hook("enable_connector")
    check.hook("disable_connector")
    check.connector_on = False
    check.on_undo(lambda: check.hook("enable_connector"))


def use_second_intake(check: GatewayCheck) -> None:
    td = check.target.section.threat_defense
    check.hook("set_intake_address", td.second_intake_address)
    check.on_undo(lambda: check.hook("set_intake_address", td.intake_address))


def seed_lines(check: GatewayCheck) -> int:
    lines = check.hook("read_log_lines")
    return sum(1 for line in lines or () if SEED_TLS_LINE.search(str(line)))


def read_log_baseline(check: GatewayCheck) -> None:
    check.log_baseline = seed_lines(check)


def inject_plain(check: GatewayCheck, direction: str, count: int) -> None:
    section = check.target.section
    recipients = tuple(section.recipients) if direction == "incoming" else (section.external_recipient,)
    check.inject(direction, recipients, "message", count=count)


def inject_sample(check: GatewayCheck, key: str) -> None:
    check.inject("incoming", (check.target.section.recipients[0],), key, body=sample_text(check.need(key)))


def inject_split(check: GatewayCheck) -> None:
    check.inject("incoming", tuple(check.need("split_recipients")), "split")


def exactly_one_copy(check: GatewayCheck, mails: list[Mail], second_intake: bool = False) -> None:
    for mail in mails:
        check.wait_copies(mail)
    check.settle()
    counts = {mail.token: len(copies_of(check.counterparts, mail.token)) for mail in mails}
    if any(count != 1 for count in counts.values()):
        raise check.failure(f"copies per message: {counts}; one delivered message has exactly one copy "
                            "(BEHAVIOUR.md §2.5), never one per recipient, never a duplicate")
    if second_intake:
        wanted = check.target.section.threat_defense.second_intake_address.lower()
        (copy,) = copies_of(check.counterparts, mails[0].token)
        if copy.intake_address != wanted:
            raise check.failure(f"the copy went to {copy.intake_address}, not to the intake address the "
                                f"gateway was set to ({wanted})")


def no_copy(check: GatewayCheck) -> None:
    check.settle()
    copies = copies_of(check.counterparts, check.it.token)
    if copies:
        raise check.failure(f"{len(copies)} cop{'y' if len(copies) == 1 else 'ies'} of a message that "
                            "must not be copied arrived (BEHAVIOUR.md §1, §2.1, §2.4)")


def nothing_delivered(check: GatewayCheck) -> None:
    if deliveries_of(check.counterparts, check.it.token):
        raise check.failure("the sample reached the kit's mailbox host: the gateway under test delivered "
                            "it, so the configured sample is neither dropped nor quarantined")


def one_copy_per_splinter(check: GatewayCheck) -> None:
    check.wait_copies(check.it)
    check.settle()
    copies = copies_of(check.counterparts, check.it.token)
    named = sorted(sorted(parseaddr(to)[1].lower() for to in report_fields(copy.data).get("To", []))
                   for copy in copies)
    wanted = sorted([recipient.lower()] for recipient in check.it.recipients)
    if named != wanted:
        raise check.failure(f"the copies name the recipients {named}; one copy per splinter, each naming "
                            f"its splinter's recipient, was expected: {wanted} (BEHAVIOUR.md §2.5)")


def keeps_journal_rule(check: GatewayCheck, rule: str) -> None:
    description = RULES[rule]
    try:
        copy = check.wait_copies(check.it)[0]
    except AssertionError as error:
        raise AssertionError(f"{rule} ({description}) cannot hold: no copy arrived\n{error}") from None
    broken = judged_journal(check, copy)
    if rule in broken:
        raise check.failure(f"the copy breaks {rule}: {description} (BEHAVIOUR.md §3); it breaks "
                            f"{', '.join(broken)}{known_original_note(check, rule, broken)}")


def judged_journal(check: GatewayCheck, copy: JournalRecord) -> list[str]:
    """The §3 rules `copy` breaks, by `journal_check` knowing what the kit injected: the copy must not
    come from the original's sender nor reuse its Message-ID (the Threat Defense's own record, which
    cannot know the original, is judged without that)."""
    intakes = {address.lower() for address in check.counterparts.intake_addresses}
    original = KnownOriginal(check.it.sender, check.it.message_id)
    return check_journal(copy.data, copy.mail_from, copy.rcpt_tos, intakes, original)


def known_original_note(check: GatewayCheck, rule: str, broken: list[str]) -> str:
    """Why a rule broke that the copy alone does not show: the injected original, or no embedded one."""
    if rule in NEEDS_ORIGINAL and "original.rfc822" in broken:
        return ("\nthe copy embeds no original (no message/rfc822 part) to compare with: the rule cannot "
                "be shown to hold")
    if rule == "wrapper.from":
        return (f"\nthe kit injected the original from {check.it.sender}: a copy whose MAIL FROM or From: "
                "is the original's sender is not sent from the gateway's system address (a plain BCC)")
    if rule == "wrapper.message-id":
        return (f"\nthe kit injected the original with Message-ID {check.it.message_id}: the copy needs "
                "a Message-ID of its own")
    return ""


def embeds_original_exactly(check: GatewayCheck) -> None:
    copy = check.wait_copies(check.it)[0]
    check.wait_delivered(check.it)
    delivered = deliveries_of(check.counterparts, check.it.token)[0].data
    embedded = embedded_original(copy.data)
    if embedded is None:
        raise check.failure("the copy has no message/rfc822 part (BEHAVIOUR.md §3)")
    if embedded != delivered:
        where = next((i for i, (a, b) in enumerate(zip(embedded, delivered, strict=False)) if a != b),
                     min(len(embedded), len(delivered)))
        raise check.failure(f"part 2 is not the message as delivered (BEHAVIOUR.md §3): they differ at byte "
                            f"{where} (embedded {len(embedded)} bytes, delivered {len(delivered)} bytes)")


def tried(check: GatewayCheck) -> None:
    contacts = check.counterparts.threat_defense.contacts
    check.wait(contacts, lambda: bool(contacts_since(check.counterparts, check.start)),
               "the gateway under test to connect to the kit's Threat Defense")


def refused(check: GatewayCheck) -> None:
    records = check.counterparts.td_refused.records
    check.wait(records, lambda: bool(refused_since(check.counterparts, check.start)),
               "the kit's Threat Defense to refuse the gateway under test's copy")


def nothing_reached(check: GatewayCheck, how: str) -> None:
    copies = copies_of(check.counterparts, check.it.token)
    if how == "in plaintext":
        mail = [r for r in refused_since(check.counterparts, check.start)
                if r.command == "MAIL" and r.reply.startswith("530")]
        if mail or any(not copy.tls_protocol for copy in copies):
            raise check.failure("the gateway under test sent MAIL FROM without STARTTLS; STARTTLS is "
                                "required (BEHAVIOUR.md §4.1): no copy goes in plaintext")
    elif how == "below TLS 1.2":
        contacts = contacts_since(check.counterparts, check.start)
        old = [c.tls for c in contacts if c.tls and c.tls not in GOOD_TLS]
        if old or any(copy.tls_protocol not in GOOD_TLS for copy in copies):
            raise check.failure(f"the gateway under test negotiated {', '.join(sorted(set(old)))}; TLS 1.2 "
                                "is the minimum (BEHAVIOUR.md §4.1)")
    elif copies:
        raise check.failure("a copy went to a Threat Defense whose certificate does not verify "
                            "(BEHAVIOUR.md §4.1: such an attempt fails before MAIL FROM)")


def over_good_tls(check: GatewayCheck) -> None:
    bad = [copy.tls_protocol or "plaintext" for copy in copies_of(check.counterparts, check.it.token)
           if copy.tls_protocol not in GOOD_TLS]
    if bad:
        raise check.failure(f"copies arrived over {', '.join(bad)}; TLS 1.2 at least (BEHAVIOUR.md §4.1)")


def at_most_ten_per_connection(check: GatewayCheck) -> None:
    c, start = check.counterparts, check.start
    contacts = contacts_since(c, start)
    most = max((x.messages for x in contacts), default=0)
    eleventh = [r for r in refused_since(c, start) if r.command == "MAIL" and r.reply.startswith("421")]
    carried = (f"the busiest of the {len(contacts)} connection(s) to the kit's Threat Defense carried "
               f"{most} message(s)")
    if most > 10 or eleventh:
        raise check.failure(f"the gateway under test tried an 11th message on one connection (the kit's "
                            f"Threat Defense answered 421); at most 10 per connection (BEHAVIOUR.md §4.3); "
                            f"{carried}")
    if most <= 1:
        check.note(f"{carried}: the limit was not exercised (the gateway under test never carried two "
                   "copies on one connection), so at most 10 holds without being tested")
    else:
        check.note(carried)


def no_bounce_to_sender(check: GatewayCheck) -> None:
    check.settle()
    sender = check.it.sender.lower()
    bounces = [d for d in check.counterparts.mailbox.deliveries.snapshot()[check.start.deliveries:]
               if d.recipient == sender]
    if bounces:
        raise check.failure(f"{len(bounces)} message(s) reached the original sender {sender}: a failure on "
                            "the copy never bounces to the sender (BEHAVIOUR.md §4.5)")


def tls_error_logged(check: GatewayCheck) -> None:
    deadline = time.monotonic() + check.timeout
    while seed_lines(check) <= check.log_baseline:
        if time.monotonic() > deadline:
            raise check.failure("the gateway under test's mail log has no new line like the seed's "
                                "'TDC: Message <MID> delivery failed to Cisco Secure Email Threat Defense: "
                                "TLS Error.' (BEHAVIOUR.md §4.2)")
        time.sleep(LOG_POLL_SECONDS)
