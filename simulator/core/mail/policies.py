"""Incoming mail policies matched by recipient, and the split that follows.

Design rule: pure. The first policy (in table order) that matches a recipient takes it; DEFAULT,
last, takes the rest. Recipients of one message that land in different policies split it.
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.core.config.values import MailPolicy


def recipient_matches(pattern: str, address: str) -> bool:
    """Does `address` match a policy pattern?

    Patterns: `user@example.com` (exact), `@example.com` (domain), `@.example.com` (sub-domains),
    `user@` (that user in any domain). Case-insensitive.
    """
    pattern, address = pattern.lower(), address.lower()
    local, _, domain = address.rpartition("@")
    if pattern.startswith("@."):
        return domain.endswith(pattern[1:])
    if pattern.startswith("@"):
        return domain == pattern[1:]
    if pattern.endswith("@"):
        return local == pattern[:-1]
    return address == pattern


def policy_for(address: str, policies: Sequence[MailPolicy]) -> MailPolicy:
    """The first policy that matches `address`; the last policy (DEFAULT) matches everyone."""
    for candidate in policies:
        if not candidate.recipients or any(
            recipient_matches(pattern, address) for pattern in candidate.recipients
        ):
            return candidate
    return policies[-1]


def split_by_policy(
    recipients: Sequence[str], policies: Sequence[MailPolicy]
) -> list[tuple[MailPolicy, tuple[str, ...]]]:
    """Group recipients by policy, in order of each policy's first recipient."""
    groups: dict[str, tuple[MailPolicy, list[str]]] = {}
    for address in recipients:
        matched = policy_for(address, policies)
        groups.setdefault(matched.name, (matched, []))[1].append(address)
    return [(matched, tuple(addresses)) for matched, addresses in groups.values()]
