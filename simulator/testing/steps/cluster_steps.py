"""Steps about clusters of machines: how they are set up, what each runs with, what each sends."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from simulator.core.config.cluster import ClusterConfig, DisableRule, Topology
from simulator.core.mail.samples import MessageFactory
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send
from simulator.testing.steps.journal_steps import report_lines
from simulator.testing.steps.sending_steps import Sent

Start = Callable[[SandboxSettings], SandboxFacade]


@given(parsers.re(r"a running sandbox with the Threat Defense Connector (?P<state>enabled|disabled)"),
       target_fixture="sandbox")
def running_sandbox(
    tdc_start_sandbox: Start, tdc_sandbox_settings: SandboxSettings, state: str
) -> SandboxFacade:
    settings = dataclasses.replace(tdc_sandbox_settings, tdc_enabled=state == "enabled")
    return tdc_start_sandbox(settings)


@given(parsers.re(r"a running cluster of (?P<count>\d+) machines with the Threat Defense Connector "
                  r'(?P<state>enabled|disabled)(?: and the disable rule "(?P<rule>[^"]+)")?'),
       target_fixture="sandbox")
def running_cluster(
    tdc_start_sandbox: Start, tdc_sandbox_settings: SandboxSettings, count: str, state: str,
    rule: DisableRule | None,
) -> SandboxFacade:
    cluster = ClusterConfig(Topology.single_group(int(count)), disable_rule=rule or "propagate")
    return tdc_start_sandbox(dataclasses.replace(
        tdc_sandbox_settings, tdc_enabled=state == "enabled", cluster=cluster))


@given(parsers.parse('a running cluster with esa1 in group "{first}" and esa2 in group "{second}", '
                     "the connector enabled"), target_fixture="sandbox")
def running_two_groups(
    tdc_start_sandbox: Start, tdc_sandbox_settings: SandboxSettings, first: str, second: str
) -> SandboxFacade:
    cluster = ClusterConfig(Topology(((first, ("esa1",)), (second, ("esa2",)))))
    return tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, cluster=cluster))


@when("an outside sender sends a message through the public listener of each machine",
      target_fixture="sent")
def send_through_each(sandbox: SandboxFacade, tdc_messages: MessageFactory) -> Sent:
    for name in sandbox.machine_names():
        mail = tdc_messages.message()
        outcome = send(*sandbox.listener_address("inbound", name), mail)
        assert outcome.accepted, (name, outcome)
    return Sent(mail, outcome)


@then(parsers.re(r"the connector is (?P<state>enabled|disabled) on (?P<machine>esa\d+)"
                 r'(?:, set at level "(?P<level>[^"]+)")?'))
def connector_state(sandbox: SandboxFacade, state: str, machine: str, level: str | None) -> None:
    """What the admin API says runs on `machine` (GET /tdc, committed), and where it was set."""
    rows = sandbox.admin_client().get("/tdc", state="committed")["machines"]
    (row,) = [row for row in rows if row["machine"] == machine]
    assert row["enabled"] is (state == "enabled"), row
    assert level is None or row["enabled_level"] == level, row


@then(parsers.parse("Threat Defense receives 1 journal from each of {machines}"))
def one_journal_per_machine(sandbox: SandboxFacade, machines: str) -> None:
    sandbox.settle()
    senders = Counter(record.mail_from.partition("@")[2].split(".")[0] for record in sandbox.journals())
    assert senders == Counter({name.strip(): 1 for name in machines.split(",")}), senders


@then(parsers.parse('the journal went to "{address}"'))
def journal_went_to(sandbox: SandboxFacade, address: str) -> None:
    (record,) = sandbox.journals()
    assert record.intake_address == address


@then(parsers.parse('the journal for "{recipient}" went to "{address}"'))
def journal_for_went_to(sandbox: SandboxFacade, recipient: str, address: str) -> None:
    (record,) = [r for r in sandbox.journals() if ("To", recipient) in report_lines(r)]
    assert record.intake_address == address


@then("the copy landed in the mailbox host's box for the intake address")
def copy_in_wrong_mailbox(sandbox: SandboxFacade) -> None:
    sandbox.settle()
    assert len(sandbox.mailbox(sandbox.config.connector.intake_address)) == 1


@then("nothing reached the mailbox host's box for the intake address")
def nothing_in_wrong_mailbox(sandbox: SandboxFacade) -> None:
    sandbox.settle()
    assert sandbox.mailbox(sandbox.config.connector.intake_address) == []
