"""Steps that set the sandbox up: the running system and the operator's configuration."""

from __future__ import annotations

import dataclasses

from pytest_bdd import given, parsers

from simulator.core.config.values import ContentFilter, GatewayConfig, MailPolicy
from simulator.testing.harness import SandboxFacade


@given(parsers.parse('an incoming mail policy "{name}" for recipients "{pattern}"'))
def incoming_policy(sandbox: SandboxFacade, name: str, pattern: str) -> None:
    domain = pattern.lstrip("@.")

    def add_policy(config: GatewayConfig) -> GatewayConfig:
        return dataclasses.replace(
            config,
            incoming_policies=(MailPolicy(name, (pattern,)), *config.incoming_policies),
            local_domains=(*config.local_domains, domain),
        )

    sandbox.reconfigure(add_policy)


@given(parsers.parse(
    'a content filter "{name}" that quarantines messages whose {header} contains "{text}"'))
def content_filter(sandbox: SandboxFacade, name: str, header: str, text: str) -> None:
    rule = ContentFilter(name, text, "quarantine", header=header)

    def add_filter(config: GatewayConfig) -> GatewayConfig:
        *others, default = config.incoming_policies
        default = dataclasses.replace(default, content_filters=(*default.content_filters, rule))
        return dataclasses.replace(config, incoming_policies=(*others, default))

    sandbox.reconfigure(add_filter)


@given(parsers.parse("the maximum message size is {size:d} bytes"))
def maximum_size(sandbox: SandboxFacade, size: int) -> None:
    sandbox.reconfigure(lambda config: dataclasses.replace(config, max_message_size=size))
