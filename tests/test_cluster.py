"""Clustered configuration and Submit/Commit, without sockets (cluster.py, store.py; BEHAVIOUR.md §5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from simulator.core.clock import ManualClock
from simulator.core.config.cluster import CLUSTER, SETTINGS, ClusterConfig, Level, Resolved, Topology
from simulator.core.config.store import NOTHING_TO_COMMIT, ConfigStore
from simulator.core.config.values import DEFAULT_POLICY, MailPolicy
from simulator.core.errors import ConfigError

INTAKE = "tenant@intake.threatdefense.test"
SECOND = "second@intake.threatdefense.test"
MAIN, BRANCH = Level("group", "Main_Group"), Level("group", "Branch")
ESA1, ESA2, ESA3 = Level("machine", "esa1"), Level("machine", "esa2"), Level("machine", "esa3")
TOPOLOGY = Topology((("Main_Group", ("esa1", "esa2")), ("Branch", ("esa3",))))
POLICIES = (MailPolicy("SALES", ("@sales.example.com",)), MailPolicy("DEFAULT"))


def enabled_cluster(rule: str = "propagate") -> ClusterConfig:
    """Three machines in two groups, the connector enabled at cluster level, two policies."""
    cluster = ClusterConfig(TOPOLOGY, disable_rule=rule)  # type: ignore[arg-type]
    return cluster.set_connector(CLUSTER, True, INTAKE).set(CLUSTER, "incoming_policies", POLICIES)


def enabled(cluster: ClusterConfig) -> dict[str, Resolved]:
    return {machine: cluster.resolve(machine, "tdc.enabled") for machine in TOPOLOGY.machines}


@pytest.mark.parametrize(("text", "level"), [
    ("cluster", CLUSTER), ("group:Main_Group", MAIN), ("machine:esa2", ESA2), (" machine:esa2 ", ESA2),
])
def test_a_level_parses_and_prints_back(text: str, level: Level) -> None:
    assert Level.parse(text) == level
    assert str(level) == text.strip()


@pytest.mark.bad_input
@pytest.mark.parametrize("text", ["", "cluster:x", "group", "machine:", "site:esa1"])
def test_a_bad_level_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ConfigError, match="cluster, group:NAME or machine:NAME") as caught:
        Level.parse(text)
    assert repr(text) in caught.value.reason


def test_the_topology_knows_groups_machines_chains_and_reach() -> None:
    assert Topology.single_group(3).machines == ("esa1", "esa2", "esa3")
    assert Topology().groups == (("Main_Group", ("esa1",)),)
    assert TOPOLOGY.group_of("esa3") == "Branch"
    assert TOPOLOGY.chain("esa2") == (ESA2, MAIN, CLUSTER)
    assert TOPOLOGY.covered(CLUSTER) == ("esa1", "esa2", "esa3")
    assert TOPOLOGY.covered(BRANCH) == ("esa3",)
    assert TOPOLOGY.covered(ESA2) == ("esa2",)


@pytest.mark.bad_input
@pytest.mark.parametrize(("level", "named"), [
    (Level("group", "Sales"), "unknown group 'Sales' (groups: Main_Group, Branch)"),
    (Level("machine", "esa9"), "unknown machine 'esa9' (machines: esa1, esa2, esa3)"),
])
def test_an_unknown_group_or_machine_is_named(level: Level, named: str) -> None:
    with pytest.raises(ConfigError) as checked:
        TOPOLOGY.check(level)
    with pytest.raises(ConfigError) as set_there:
        ClusterConfig(TOPOLOGY).set(level, "max_message_size", 1)
    assert checked.value.reason == set_there.value.reason == named


@pytest.mark.bad_input
def test_an_unknown_setting_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        ClusterConfig(TOPOLOGY).set(CLUSTER, "max_mesage_size", 1)
    assert caught.value.key == "max_mesage_size"
    assert "tdc.enabled" in caught.value.reason and "max_message_size" in SETTINGS


def test_the_most_specific_level_wins_and_says_where_it_came_from() -> None:
    cluster = (ClusterConfig(TOPOLOGY).set(CLUSTER, "max_message_size", 1000)
               .set(BRANCH, "max_message_size", 2000).set(ESA2, "max_message_size", 3000))
    assert cluster.resolve("esa1", "max_message_size") == Resolved(1000, CLUSTER)
    assert cluster.resolve("esa2", "max_message_size") == Resolved(3000, ESA2)
    assert cluster.resolve("esa3", "max_message_size") == Resolved(2000, BRANCH)
    assert cluster.resolve("esa1", "messages_per_connection") == Resolved(10, None)
    assert [cluster.effective(m).max_message_size for m in TOPOLOGY.machines] == [1000, 3000, 2000]
    assert cluster.at(BRANCH) == {"max_message_size": 2000}


def test_each_machine_runs_under_its_own_name() -> None:
    effective = enabled_cluster().effective("esa3")
    assert (effective.machine, effective.hostname) == ("esa3", "esa3.sandbox.test")
    assert effective.system_address == "tdc-journal@esa3.sandbox.test"
    assert (effective.connector.enabled, effective.connector.intake_address) == (True, INTAKE)
    assert effective.incoming_policies == POLICIES


def test_a_change_makes_a_new_configuration() -> None:
    before = enabled_cluster()
    after = before.set(BRANCH, "max_message_size", 5)
    assert before.at(BRANCH) == {} and after.at(BRANCH) == {"max_message_size": 5}


def test_disabling_at_machine_level_propagates_to_its_group_and_the_cluster() -> None:
    cluster = enabled_cluster("propagate").set_connector(ESA2, False)
    assert enabled(cluster) == {"esa1": Resolved(False, MAIN), "esa2": Resolved(False, ESA2),
                                "esa3": Resolved(False, CLUSTER)}


def test_with_most_specific_wins_only_that_machine_is_disabled() -> None:
    cluster = enabled_cluster("most-specific").set_connector(ESA2, False)
    assert enabled(cluster) == {"esa1": Resolved(True, CLUSTER), "esa2": Resolved(False, ESA2),
                                "esa3": Resolved(True, CLUSTER)}


def test_disabling_at_group_level_stays_in_the_group() -> None:
    cluster = enabled_cluster("propagate").set_connector(BRANCH, False)
    assert enabled(cluster)["esa1"] == Resolved(True, CLUSTER)
    assert enabled(cluster)["esa3"] == Resolved(False, BRANCH)


def test_enabling_at_a_level_sets_the_address_there() -> None:
    cluster = enabled_cluster().set_connector(BRANCH, True, SECOND)
    assert cluster.resolve("esa3", "tdc.intake_address") == Resolved(SECOND, BRANCH)
    assert cluster.resolve("esa1", "tdc.intake_address") == Resolved(INTAKE, CLUSTER)


@pytest.mark.bad_input
@pytest.mark.parametrize("address", ["", "a@x.test, b@x.test", "a@x.test\r\nRCPT TO:<b@x.test>",
                                     "a b@x.test", "nodomain"])
def test_an_invalid_intake_address_is_refused(address: str) -> None:
    with pytest.raises(ConfigError, match="intake address"):
        enabled_cluster().set_connector(CLUSTER, True, address)


@pytest.mark.bad_input
def test_validate_refuses_an_enabled_connector_without_an_address() -> None:
    cluster = ClusterConfig(TOPOLOGY).set(BRANCH, "tdc.enabled", True)
    with pytest.raises(ConfigError, match=r"intake address \(default\)"):
        cluster.validate()
    cluster.set(BRANCH, "tdc.intake_address", INTAKE).validate()


def policy(cluster: ClusterConfig, machine: str, name: str) -> tuple[str, str]:
    """The Threat Defense mode and custom intake address of a policy as `machine` runs it."""
    found = next(p for p in cluster.effective(machine).incoming_policies if p.name == name)
    return found.tdc, found.tdc_intake


def test_per_policy_modes_are_set_at_a_level() -> None:
    cluster = enabled_cluster().set_policy_tdc(BRANCH, "SALES", "custom", SECOND)
    assert policy(cluster, "esa3", "SALES") == ("custom", SECOND)
    assert policy(cluster, "esa1", "SALES") == ("default", "")
    cluster = cluster.set_policy_tdc(CLUSTER, "DEFAULT", "no-scan", SECOND)
    assert policy(cluster, "esa1", "DEFAULT") == ("no-scan", "")
    assert cluster.resolve("esa3", "incoming_policies").level == BRANCH


@pytest.mark.bad_input
def test_custom_is_refused_while_the_connector_is_disabled() -> None:
    disabled = enabled_cluster("most-specific").set_connector(ESA2, False)
    with pytest.raises(ConfigError, match="enabled globally first") as caught:
        disabled.set_policy_tdc(CLUSTER, "SALES", "custom", SECOND)
    assert caught.value.key == "policy SALES"
    branch_only = disabled.set_policy_tdc(BRANCH, "SALES", "custom", SECOND)  # esa3 is still enabled
    assert policy(branch_only, "esa3", "SALES") == ("custom", SECOND)


@pytest.mark.bad_input
def test_an_unknown_policy_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        enabled_cluster().set_policy_tdc(CLUSTER, "MARKETING", "no-scan")
    assert caught.value.reason == "unknown incoming mail policy 'MARKETING' (policies: SALES, DEFAULT)"


@pytest.mark.bad_input
def test_custom_needs_a_valid_address() -> None:
    with pytest.raises(ConfigError, match="custom intake address"):
        enabled_cluster().set_policy_tdc(CLUSTER, "SALES", "custom", "two@x.test three@x.test")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> ConfigStore:
    return ConfigStore(enabled_cluster(), clock)


def test_a_submitted_change_waits_for_commit(store: ConfigStore) -> None:
    committed = store.committed
    pending = store.submit(lambda c: c.set_connector(CLUSTER, False))
    assert store.pending is pending
    assert store.committed is committed
    store.submit(lambda c: c.set(CLUSTER, "max_message_size", 5))  # builds on what is pending
    assert store.pending is not None and store.pending.at(CLUSTER)["tdc.enabled"] is False


def test_commit_swaps_tells_the_listeners_and_prints_the_date(store: ConfigStore, clock: ManualClock) -> None:
    heard: list[ClusterConfig] = []
    store.on_commit(heard.append)
    pending = store.submit(lambda c: c.set_connector(CLUSTER, False))
    clock.advance(timedelta(minutes=5))
    assert store.commit("disable for maintenance") == "Changes committed: Wed Aug 17 05:57:00 2022"
    assert store.committed is pending and store.pending is None and heard == [pending]
    assert [(c.at, c.comment) for c in store.history] == [(clock.now(), "disable for maintenance")]


def test_commit_with_nothing_pending(store: ConfigStore) -> None:
    heard: list[ClusterConfig] = []
    store.on_commit(heard.append)
    assert store.commit() == NOTHING_TO_COMMIT == "There is no data to commit."
    assert heard == [] and store.history == []


@pytest.mark.bad_input
@pytest.mark.parametrize("already_pending", [False, True])
def test_a_refused_submit_leaves_pending_unchanged(store: ConfigStore, already_pending: bool) -> None:
    before = store.submit(lambda c: c.set(CLUSTER, "max_message_size", 5)) if already_pending else None
    with pytest.raises(ConfigError):
        store.submit(lambda c: c.set(BRANCH, "tdc.intake_address", "not an address"))
    with pytest.raises(ConfigError):
        store.submit(lambda c: c.set_connector(CLUSTER, True, "a@x.test, b@x.test"))
    assert store.pending is before


def test_clear_discards_pending_changes(store: ConfigStore) -> None:
    committed = store.committed
    store.submit(lambda c: c.set_connector(CLUSTER, False))
    assert store.clear() is True
    assert store.pending is None and store.committed is committed
    assert store.clear() is False
    assert store.commit() == NOTHING_TO_COMMIT


@pytest.mark.bad_input
def test_the_store_refuses_an_invalid_starting_configuration(clock: ManualClock) -> None:
    with pytest.raises(ConfigError):
        ConfigStore(ClusterConfig(TOPOLOGY).set(CLUSTER, "tdc.enabled", True), clock)


def test_a_policy_is_set_from_what_its_own_level_sees_not_a_machines_override() -> None:
    """A machine-level policy list must neither hide the cluster's policies nor be copied up."""
    sales = MailPolicy("SALES", ("@sales.example.com",))
    cluster = ClusterConfig(Topology.single_group(2))
    cluster = cluster.set(CLUSTER, "incoming_policies", (sales, DEFAULT_POLICY))
    cluster = cluster.set(Level("machine", "esa1"), "incoming_policies", (DEFAULT_POLICY,))
    changed = cluster.set_policy_tdc(CLUSTER, "SALES", "no-scan")
    assert [p.name for p in changed.at(CLUSTER)["incoming_policies"]] == ["SALES", "DEFAULT"]
    assert changed.at(CLUSTER)["incoming_policies"][0].tdc == "no-scan"
    assert changed.resolve("esa1", "incoming_policies").value == (DEFAULT_POLICY,)


def test_a_policy_can_be_set_for_an_empty_group() -> None:
    cluster = ClusterConfig(Topology((("Main_Group", ("esa1",)), ("Spare", ()))))
    assert cluster.set_policy_tdc(Level("group", "Spare"), "DEFAULT", "no-scan").at(
        Level("group", "Spare"))["incoming_policies"][0].tdc == "no-scan"
