"""The connector's decisions and `TDC:` lines (BEHAVIOUR.md §1, §2.1, §3, §4.2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.core.config.values import DEFAULT_POLICY, ConnectorSettings, GatewayConfig, MailPolicy
from simulator.core.mail import connector
from simulator.core.mail.journal import JournalSource, embedded_original
from simulator.core.mail.journal_check import check_journal
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import TDC_QUEUE, Direction

NOW = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
INTAKE = "sandbox-tenant@intake.threatdefense.test"
ENABLED = GatewayConfig(connector=ConnectorSettings(enabled=True, intake_address=INTAKE))
DISABLED = GatewayConfig(connector=ConnectorSettings(enabled=False, intake_address=INTAKE))
SPLINTER = JournalSource(
    original_mid=3,
    envelope_sender="alice@sender.test",
    recipients=("bob@example.com", "carol@example.com"),
    subject="Hello",
    message_id="<m1@sender.test>",
    delivered=(
        b"X-IronPort-RemoteIP: 192.0.2.10\r\nFrom: alice@sender.test\r\nTo: bob@example.com\r\n"
        b"Subject: Hello\r\nMessage-ID: <m1@sender.test>\r\n\r\nHi.\r\n"
    ),
)


def test_the_seed_tls_error_line_byte_for_byte() -> None:
    assert connector.failed_line(4, "TLS Error") == (
        "TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: TLS Error."
    )


def test_a_reason_ending_in_a_period_gets_one_period() -> None:
    assert connector.failed_line(4, "TLS Error.") == (
        "TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: TLS Error."
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (connector.created_line(4, 3, INTAKE), f"TDC: Message 4 created from message 3 for {INTAKE}."),
        (connector.queued_line(4),
         "TDC: Message 4 queued for delivery to Cisco Secure Email Threat Defense."),
        (connector.delivered_line(4), "TDC: Message 4 delivered to Cisco Secure Email Threat Defense."),
        (connector.failed_line(4, "Connection failed"),
         "TDC: Message 4 delivery failed to Cisco Secure Email Threat Defense: Connection failed."),
        (connector.bounced_line(4, "451 4.3.0 try later"),
         "TDC: Message 4 hard bounced by Cisco Secure Email Threat Defense: 451 4.3.0 try later. "
         "No DSN is sent."),
    ],
)
def test_every_connector_line_word_for_word(line: str, expected: str) -> None:
    assert line == expected


def test_the_bounce_line_says_no_dsn_is_sent() -> None:
    """§4.5: a failure on the copy never bounces to the original sender."""
    assert connector.bounced_line(4, "Retries exhausted.") == (
        "TDC: Message 4 hard bounced by Cisco Secure Email Threat Defense: Retries exhausted. No DSN is sent."
    )


@pytest.mark.inbound_only
@pytest.mark.parametrize(
    ("direction", "config", "copied"),
    [
        (Direction.INCOMING, ENABLED, True),
        (Direction.OUTGOING, ENABLED, False),
        (Direction.INCOMING, DISABLED, False),
        (Direction.OUTGOING, DISABLED, False),
    ],
)
def test_only_incoming_mail_is_copied_while_enabled(
    direction: Direction, config: GatewayConfig, copied: bool
) -> None:
    expected = INTAKE if copied else None
    assert connector.intake_for(direction, DEFAULT_POLICY, config) == expected


@pytest.mark.parametrize(
    ("policy", "intake"),
    [
        (MailPolicy("SALES", ("@sales.example.com",)), INTAKE),
        (MailPolicy("SALES", ("@sales.example.com",), tdc="no-scan"), None),
        (MailPolicy("SALES", ("@sales.example.com",), tdc="custom", tdc_intake="b@td.test"), "b@td.test"),
    ],
)
def test_each_policy_chooses_default_custom_or_no_scan(policy: MailPolicy, intake: str | None) -> None:
    assert connector.intake_for(Direction.INCOMING, policy, ENABLED) == intake
    assert connector.intake_for(Direction.INCOMING, policy, DISABLED) is None
    assert connector.intake_for(Direction.OUTGOING, policy, ENABLED) is None


def test_the_copy_goes_to_the_tdc_queue_for_the_intake_address_only() -> None:
    copy = connector.journal_copy(SPLINTER, ENABLED, INTAKE, 4, NOW)
    assert copy.destination == TDC_QUEUE == "the.tdc.queue"
    assert copy.recipients == (INTAKE,)
    assert copy.rids == (0,)
    assert copy.sender == ENABLED.system_address
    assert (copy.mid, copy.original_mid, copy.is_copy) == (4, 3, True)


def test_the_copy_is_queued_and_due_now() -> None:
    copy = connector.journal_copy(SPLINTER, ENABLED, INTAKE, 4, NOW)
    assert copy.state is MessageState.QUEUED
    assert copy.schedule.is_due(NOW) and copy.schedule.failures == 0


@pytest.mark.attachment_format
def test_the_copy_carries_a_valid_journal_of_the_delivered_bytes() -> None:
    copy = connector.journal_copy(SPLINTER, ENABLED, INTAKE, 4, NOW)
    assert embedded_original(copy.body.read()) == SPLINTER.delivered
    assert check_journal(copy.body.read(), copy.sender, copy.recipients, [INTAKE]) == []


def test_the_copy_uses_the_configured_system_address_and_hostname() -> None:
    config = GatewayConfig(
        hostname="esa2.sandbox.test", system_address="journal@esa2.sandbox.test",
        connector=ConnectorSettings(enabled=True, intake_address=INTAKE),
    )
    copy = connector.journal_copy(SPLINTER, config, INTAKE, 9, NOW)
    assert copy.sender == "journal@esa2.sandbox.test"
    assert b"\r\nFrom: journal@esa2.sandbox.test\r\n" in copy.body.read()
    assert b"@esa2.sandbox.test>" in copy.body.read().partition(b"\r\n\r\n")[0]
