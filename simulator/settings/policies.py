"""Incoming mail policies of the `--config` file: `[[cluster.policies]]` and their content filters.

Design rule: the table a level declares is complete and unambiguous: names are unique, every policy
but DEFAULT names its recipients, DEFAULT (matching everyone) comes last and is added if missing.
A level's list replaces the whole list of the level above, as the policy table does on a machine.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from simulator.core.config.values import (
    DEFAULT_POLICY,
    ContentFilter,
    FilterAction,
    MailPolicy,
    TdcMode,
    validate_address,
)
from simulator.core.errors import ConfigError
from simulator.settings.refusals import Section, checked, refuse, rule, unique


def _pattern(pattern: str) -> None:
    """`user@example.com`, `@example.com`, `@.example.com` or `user@`."""
    local, at, domain = pattern.partition("@")
    try:
        validate_address("recipients", f"{local or 'user'}@{domain.removeprefix('.') or 'example.com'}")
        valid = bool(at and (local or domain))
    except ConfigError:
        valid = False
    if not valid:
        raise ConfigError("recipients", f"{pattern!r} is not user@domain, @domain, @.domain or user@")


Address = Annotated[str, checked(lambda address: validate_address("address", address))]


class ContentFilterTable(Section):
    """`[[...policies.content_filters]]`: `header` names the header to search, or the body if empty."""

    name: str
    contains: Annotated[str, rule(bool, "is empty")]
    action: FilterAction
    header: str = ""

    def value(self) -> ContentFilter:
        return ContentFilter(self.name, self.contains, self.action, self.header or None)


class PolicyTable(Section):
    """`[[...policies]]`: one incoming mail policy."""

    name: Annotated[str, rule(re.compile(r"\S+").fullmatch, "not a policy name: {!r}")]
    recipients: list[Annotated[str, checked(_pattern)]] = Field(default_factory=list)
    anti_spam: bool = True
    anti_virus: bool = True
    tdc: TdcMode = "default"
    tdc_intake: Address | None = None
    content_filters: list[ContentFilterTable] = Field(default_factory=list)

    @model_validator(mode="after")
    def _custom_has_its_address(self) -> PolicyTable:
        if self.tdc_intake is not None and self.tdc != "custom":
            raise refuse('is only for tdc = "custom"', "tdc_intake")
        if self.tdc == "custom" and self.tdc_intake is None:
            raise refuse('is missing (tdc = "custom" needs it)', "tdc_intake")
        return self

    def value(self) -> MailPolicy:
        filters = tuple(each.value() for each in self.content_filters)
        return MailPolicy(self.name, tuple(self.recipients), self.anti_spam, self.anti_virus, filters,
                          self.tdc, self.tdc_intake or "")


def _default_last(policies: list[PolicyTable]) -> list[PolicyTable]:
    """DEFAULT, and only DEFAULT, matches everyone, and comes last."""
    for index, policy in enumerate(policies):
        if (is_default := policy.name == DEFAULT_POLICY.name) and index < len(policies) - 1:
            raise refuse("DEFAULT must be the last policy", index, "name")
        if is_default == bool(policy.recipients):
            reason = ("DEFAULT matches everyone: it takes no recipients" if is_default
                      else "only DEFAULT matches everyone: list this policy's recipients")
            raise refuse(reason, index, "recipients")
    return policies


PolicyList = Annotated[
    list[PolicyTable], unique("a second policy named {}", "name"), AfterValidator(_default_last)
]


def incoming_policies(policies: list[PolicyTable]) -> tuple[MailPolicy, ...]:
    """The policies in order, DEFAULT last (added if the table does not end with it)."""
    values = tuple(policy.value() for policy in policies)
    return values if values and values[-1].name == DEFAULT_POLICY.name else (*values, DEFAULT_POLICY)
