"""Incoming mail policies of the `--config` file: `[[cluster.policies]]` and their content filters.

Design rule: the table a level declares is complete and unambiguous: names are unique, every policy
but DEFAULT names its recipients, DEFAULT (matching everyone) comes last and is added if missing.
A level's list replaces the whole list of the level above, as the policy table does on a machine.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from simulator.core.config.values import (
    DEFAULT_POLICY,
    ContentFilter,
    FilterAction,
    MailPolicy,
    TdcMode,
    validate_address,
)
from simulator.core.errors import ConfigError
from simulator.settings.refusals import Section, checked, refuse


def _address(address: str) -> str:
    return validate_address("address", address)


def _pattern(pattern: str) -> str:
    """`pattern` if it is `user@example.com`, `@example.com`, `@.example.com` or `user@`."""
    local, at, domain = pattern.partition("@")
    reason = f"{pattern!r} is not user@domain, @domain, @.domain or user@"
    if not at or not (local or domain):
        raise ConfigError("recipients", reason)
    try:
        _address(f"{local or 'user'}@{domain.removeprefix('.') or 'example.com'}")
    except ConfigError:
        raise ConfigError("recipients", reason) from None
    return pattern


Address = Annotated[str, AfterValidator(checked(_address))]
Pattern = Annotated[str, AfterValidator(checked(_pattern))]


class ContentFilterTable(Section):
    """`[[...policies.content_filters]]`: `header` names the header to search, or the body if empty."""

    name: str
    contains: str
    action: FilterAction
    header: str = ""

    @field_validator("contains")
    @classmethod
    def _not_empty(cls, contains: str) -> str:
        if not contains:
            raise refuse("is empty")
        return contains

    def value(self) -> ContentFilter:
        return ContentFilter(self.name, self.contains, self.action, self.header or None)


class PolicyTable(Section):
    """`[[...policies]]`: one incoming mail policy."""

    name: str
    recipients: list[Pattern] = Field(default_factory=list)
    anti_spam: bool = True
    anti_virus: bool = True
    tdc: TdcMode = "default"
    tdc_intake: Address | None = None
    content_filters: list[ContentFilterTable] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _one_word(cls, name: str) -> str:
        if not name or any(ch.isspace() for ch in name):
            raise refuse(f"not a policy name: {name!r}")
        return name

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


def check_table(policies: list[PolicyTable]) -> list[PolicyTable]:
    """A level's policy table: unique names, DEFAULT (and only DEFAULT) matching everyone, last."""
    for index, policy in enumerate(policies):
        is_default = policy.name == DEFAULT_POLICY.name
        if policy.name in {p.name for p in policies[:index]}:
            raise refuse(f"a second policy named {policy.name}", index, "name")
        if is_default and index < len(policies) - 1:
            raise refuse("DEFAULT must be the last policy", index, "name")
        if is_default == bool(policy.recipients):
            reason = ("DEFAULT matches everyone: it takes no recipients" if is_default
                      else "only DEFAULT matches everyone: list this policy's recipients")
            raise refuse(reason, index, "recipients")
    return policies


def incoming_policies(policies: list[PolicyTable]) -> tuple[MailPolicy, ...]:
    """The policies in order, DEFAULT last (added if the table does not end with it)."""
    values = tuple(policy.value() for policy in policies)
    return values if values and values[-1].name == DEFAULT_POLICY.name else (*values, DEFAULT_POLICY)
