"""Incoming mail policies: recipient patterns, first match wins, and the split by policy (§2.5)."""

from __future__ import annotations

import pytest

from simulator.core.config.values import DEFAULT_POLICY, MailPolicy
from simulator.core.mail.policies import policy_for, recipient_matches, split_by_policy


@pytest.mark.parametrize(
    ("pattern", "address"),
    [
        ("bob@example.com", "bob@example.com"),
        ("Bob@Example.COM", "bob@example.com"),
        ("bob@example.com", "BOB@EXAMPLE.COM"),
        ("@example.com", "anyone@example.com"),
        ("@EXAMPLE.com", "anyone@example.COM"),
        ("@.example.com", "anyone@sales.example.com"),
        ("@.example.com", "anyone@eu.sales.example.com"),
        ("ceo@", "ceo@example.com"),
        ("ceo@", "CEO@subsidiary.test"),
    ],
)
def test_pattern_matches(pattern: str, address: str) -> None:
    assert recipient_matches(pattern, address)


@pytest.mark.parametrize(
    ("pattern", "address"),
    [
        ("bob@example.com", "bob2@example.com"),
        ("bob@example.com", "xbob@example.com"),
        ("bob@example.com", "bob@example.com.evil.test"),
        ("@example.com", "anyone@sales.example.com"),
        ("@example.com", "anyone@notexample.com"),
        ("@.example.com", "anyone@example.com"),
        ("@.example.com", "anyone@badexample.com"),
        ("ceo@", "ceo2@example.com"),
        ("ceo@", "vice.ceo@example.com"),
    ],
)
def test_pattern_does_not_match(pattern: str, address: str) -> None:
    assert not recipient_matches(pattern, address)


SALES = MailPolicy("sales", recipients=("@sales.example.com",))
EXECUTIVES = MailPolicy("executives", recipients=("ceo@", "cfo@example.com"))
POLICIES = (SALES, EXECUTIVES, DEFAULT_POLICY)


def test_first_policy_in_table_order_wins() -> None:
    assert policy_for("ceo@sales.example.com", POLICIES) is SALES
    assert policy_for("ceo@sales.example.com", (EXECUTIVES, SALES, DEFAULT_POLICY)) is EXECUTIVES


def test_default_takes_everyone_else() -> None:
    assert policy_for("someone@example.com", POLICIES) is DEFAULT_POLICY


def test_split_groups_in_order_of_first_recipient() -> None:
    recipients = [
        "x@example.com", "y@sales.example.com", "ceo@example.com", "z@example.com", "w@sales.example.com",
    ]
    assert split_by_policy(recipients, POLICIES) == [
        (DEFAULT_POLICY, ("x@example.com", "z@example.com")),
        (SALES, ("y@sales.example.com", "w@sales.example.com")),
        (EXECUTIVES, ("ceo@example.com",)),
    ]


@pytest.mark.parametrize(
    "recipients",
    [
        ["a@example.com"],
        ["a@example.com", "b@example.com"],
        ["cfo@example.com", "a@sales.example.com", "a@example.com", "ceo@sales.example.com", "ceo@x.test"],
    ],
)
def test_split_is_a_partition_that_keeps_order(recipients: list[str]) -> None:
    """Every recipient lands in exactly one group, its own policy's, in the order it was given."""
    groups = split_by_policy(recipients, POLICIES)
    assert sorted(a for _, group in groups for a in group) == sorted(recipients)
    assert len({policy.name for policy, _ in groups}) == len(groups)
    for policy, group in groups:
        assert list(group) == [a for a in recipients if policy_for(a, POLICIES) is policy]


def test_one_policy_means_no_split() -> None:
    recipients = ["a@example.com", "b@sales.example.com"]
    assert split_by_policy(recipients, (DEFAULT_POLICY,)) == [(DEFAULT_POLICY, tuple(recipients))]
