"""Configuration values (BEHAVIOUR.md §5.4): one valid intake address, DEFAULT last, local domains."""

from __future__ import annotations

import dataclasses

import pytest

from simulator.core.config.values import (
    DEFAULT_POLICY,
    ConfigHolder,
    ConnectorSettings,
    GatewayConfig,
    MailPolicy,
    domain_of,
    validate_address,
)
from simulator.core.errors import ConfigError, SimulatorError


@pytest.mark.parametrize(
    "address",
    [
        "sandbox-tenant@intake.threatdefense.test",
        "first.last+tag@sub.example.co.uk",
        "UPPER@EXAMPLE.COM",
        "a@b.io",
    ],
)
def test_a_normal_address_is_accepted(address: str) -> None:
    assert validate_address("intake_address", address) == address


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("", "empty"),
        ("a@example.com, b@example.com", "several"),
        ("a@example.com,b@example.com", "several"),
        ("a@example.com;b@example.com", "several"),
        ("a@example.com b@example.com", "several"),
        ("a@example.com\r\n", "line break"),
        ("a@example.com\nRCPT TO:<evil@attacker.test>", "line break"),
        ("a@exam\rple.com", "line break"),
        ("first last@example.com", "spaces"),
        (" a@example.com", "spaces"),
        ("a@example.com\t", "spaces"),
        ("alice", "local@domain"),
        ("alice@", "local@domain"),
        ("@example.com", "local@domain"),
        ("alice@localhost", "local@domain"),
        ("<alice@example.com>", "local@domain"),
        ("alice@example..com", "local@domain"),
    ],
)
def test_a_bad_address_is_refused_with_a_clear_reason(address: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_address("intake_address", address)
    assert raised.value.key == "intake_address"
    assert reason in str(raised.value)


@pytest.mark.bad_input
@pytest.mark.parametrize("address", ["a\x00b@example.com", "bell\x07@example.com", "\x1b[31mred@example.com"])
def test_control_characters_are_refused(address: str) -> None:
    """config.py promises addresses with no control characters; they would reach logs and SMTP."""
    with pytest.raises(ConfigError):
        validate_address("intake_address", address)


def test_config_error_is_a_simulator_error() -> None:
    assert issubclass(ConfigError, SimulatorError)


def test_an_enabled_connector_needs_an_intake_address() -> None:
    with pytest.raises(ConfigError) as raised:
        ConnectorSettings(enabled=True, intake_address="")
    assert raised.value.key == "intake_address"


def test_an_enabled_connector_refuses_a_bad_intake_address() -> None:
    with pytest.raises(ConfigError):
        ConnectorSettings(enabled=True, intake_address="a@x.test, b@x.test")


def test_a_disabled_connector_may_have_no_address() -> None:
    assert ConnectorSettings(enabled=False, intake_address="").enabled is False


def test_the_default_configuration_is_valid_and_disabled() -> None:
    config = GatewayConfig()
    assert config.connector.enabled is False
    assert config.incoming_policies[-1] == DEFAULT_POLICY


def test_default_policy_must_be_last() -> None:
    sales = MailPolicy("sales", recipients=("@sales.example.com",))
    assert GatewayConfig(incoming_policies=(sales, DEFAULT_POLICY)).incoming_policies[0] is sales
    with pytest.raises(ConfigError) as raised:
        GatewayConfig(incoming_policies=(DEFAULT_POLICY, sales))
    assert raised.value.key == "incoming_policies"


def test_at_least_one_policy() -> None:
    with pytest.raises(ConfigError):
        GatewayConfig(incoming_policies=())


def test_the_system_address_is_validated() -> None:
    with pytest.raises(ConfigError) as raised:
        GatewayConfig(system_address="not an address")
    assert raised.value.key == "system_address"


def test_messages_per_connection_is_positive() -> None:
    with pytest.raises(ConfigError):
        GatewayConfig(messages_per_connection=0)


def test_replace_validates_too() -> None:
    with pytest.raises(ConfigError):
        dataclasses.replace(GatewayConfig(), connector=ConnectorSettings(enabled=True, intake_address="x"))


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("bob@example.com", True),
        ("Bob@EXAMPLE.com", True),
        ("bob@example.org", True),
        ("bob@other.test", False),
        ("bob@notexample.com", False),
        ("bob@example.com.evil.test", False),
    ],
)
def test_is_local(address: str, local: bool) -> None:
    config = GatewayConfig(local_domains=("Example.com", "example.org"))
    assert config.is_local(address) is local


def test_domain_of_is_lower_case() -> None:
    assert domain_of("Bob@Sales.Example.COM") == "sales.example.com"


def test_config_values_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GatewayConfig().hostname = "other"  # type: ignore[misc]


def test_commit_swaps_the_whole_configuration() -> None:
    first = GatewayConfig()
    holder = ConfigHolder(first)
    second = dataclasses.replace(
        first, connector=ConnectorSettings(enabled=True, intake_address="t@intake.threatdefense.test")
    )
    holder.commit(second)
    assert holder.current is second and first.connector.enabled is False
