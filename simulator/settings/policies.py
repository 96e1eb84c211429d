"""Incoming mail policies of the `--config` file: `[[cluster.policies]]` and their content filters.

Design rule: the table a level declares is complete and unambiguous: names are unique, every policy
but DEFAULT names its recipients, DEFAULT (matching everyone) comes last and is added if missing.
A level's list replaces the whole list of the level above, as the policy table does on a machine.
"""

from __future__ import annotations

from typing import cast

from simulator.core.config.values import (
    DEFAULT_POLICY,
    TDC_MODES,
    ContentFilter,
    FilterAction,
    MailPolicy,
    TdcMode,
    validate_address,
)
from simulator.core.errors import ConfigError
from simulator.settings.toml_source import Table

_POLICY_KEYS = ("name", "recipients", "anti_spam", "anti_virus", "tdc", "tdc_intake", "content_filters")
_ACTIONS = ("drop", "quarantine")


def check_pattern(pattern: str) -> str:
    """`pattern` if it is `user@example.com`, `@example.com`, `@.example.com` or `user@`."""
    local, at, domain = pattern.partition("@")
    try:
        if not at or not (local or domain):
            raise ConfigError("recipients", "no @")
        validate_address("recipients", f"{local or 'user'}@{domain.removeprefix('.') or 'example.com'}")
    except ConfigError:
        reason = f"{pattern!r} is not user@domain, @domain, @.domain or user@"
        raise ConfigError("recipients", reason) from None
    return pattern


def _content_filter(table: Table) -> ContentFilter:
    table.only(("name", "contains", "action", "header"))
    name, contains, action = (table.need(key, str) for key in ("name", "contains", "action"))
    if action not in _ACTIONS:
        raise table.error(f"must be one of {', '.join(_ACTIONS)}, not {action!r}", "action")
    if not contains:
        raise table.error("is empty", "contains")
    return ContentFilter(name, contains, cast(FilterAction, action), table.get("header", str, "") or None)


def _tdc_mode(table: Table) -> tuple[TdcMode, str]:
    """The policy's Threat Defense mode and its custom intake address."""
    mode, intake = table.get("tdc", str, "default"), table.get("tdc_intake", str, "")
    if mode not in TDC_MODES:
        raise table.error(f"must be one of {', '.join(TDC_MODES)}, not {mode!r}", "tdc")
    if "tdc_intake" in table and mode != "custom":
        raise table.error('is only for tdc = "custom"', "tdc_intake")
    if mode == "custom" and "tdc_intake" not in table:
        raise table.error('is missing (tdc = "custom" needs it)', "tdc_intake")
    return mode, intake


def _policy(table: Table) -> MailPolicy:
    table.only(_POLICY_KEYS)
    name = table.need("name", str)
    if not name or any(ch.isspace() for ch in name):
        raise table.error(f"not a policy name: {name!r}", "name")
    for index, pattern in enumerate(recipients := table.strings("recipients")):
        with table.checking("recipients", index):
            check_pattern(pattern)
    mode, intake = _tdc_mode(table)
    filters = tuple(_content_filter(each) for each in table.tables("content_filters"))
    anti_spam, anti_virus = table.get("anti_spam", bool, True), table.get("anti_virus", bool, True)
    with table.checking("tdc_intake"):
        return MailPolicy(name, recipients, anti_spam, anti_virus, filters, mode, intake)


def read_policies(level: Table, key: str) -> tuple[MailPolicy, ...]:
    """The policy table declared at `level`, DEFAULT last."""
    tables, policies = level.tables(key), list[MailPolicy]()
    for index, table in enumerate(tables):
        policy = _policy(table)
        if policy.name in {p.name for p in policies}:
            raise table.error(f"a second policy named {policy.name}", "name")
        if policy.name == DEFAULT_POLICY.name and index < len(tables) - 1:
            raise table.error("DEFAULT must be the last policy", "name")
        if (policy.name == DEFAULT_POLICY.name) == bool(policy.recipients):
            reason = ("DEFAULT matches everyone: it takes no recipients" if policy.recipients
                      else "only DEFAULT matches everyone: list this policy's recipients")
            raise table.error(reason, "recipients")
        policies.append(policy)
    if not policies or policies[-1].name != DEFAULT_POLICY.name:
        policies.append(DEFAULT_POLICY)
    return tuple(policies)
