"""What the console's Threat Defense Connector page says per level, without HTTP (console/levels.py)."""

from __future__ import annotations

import dataclasses

from simulator.console.levels import level_settings, modes, rule_explanation, stopped_by_rule
from simulator.core.config.cluster import CLUSTER, ClusterConfig, Level, Topology

ADDRESS = "sandbox-tenant@intake.threatdefense.test"
ESA2 = Level("machine", "esa2")


def two_machines(rule: str = "propagate") -> ClusterConfig:
    config = ClusterConfig(Topology.single_group(2), disable_rule=rule)  # type: ignore[arg-type]
    return config.set_connector(CLUSTER, True, ADDRESS)


def test_the_mode_selector_lists_the_cluster_each_group_and_each_machine() -> None:
    assert [(mode.value, mode.label) for mode in modes(two_machines())] == [
        ("cluster", "Cluster"), ("group:Main_Group", "Group: Main_Group"),
        ("machine:esa1", "Machine: esa1"), ("machine:esa2", "Machine: esa2")]


def test_a_level_shows_its_own_value_or_where_it_inherits_from() -> None:
    config = two_machines()
    assert [(s.value, s.source) for s in level_settings(config, CLUSTER)] == [
        ("Enabled", "set at this level"), (ADDRESS, "set at this level")]
    assert [s.source for s in level_settings(config, ESA2)] == ["inherited from Cluster"] * 2
    assert level_settings(ClusterConfig(), CLUSTER)[1].source == "built-in default"


def test_a_machine_disabled_under_the_documented_rule_is_explained_with_what_stops() -> None:
    config = two_machines().set_connector(ESA2, False)
    assert "disabled at machine level on esa2" in rule_explanation(config)
    assert "(Main_Group)" in rule_explanation(config)
    assert stopped_by_rule(config, "esa1") == ["esa2"] and stopped_by_rule(config, "esa2") == []
    cluster = level_settings(config, CLUSTER)[0]
    assert cluster.source.endswith("by the machine-disable rule (disabled on esa2)")


def test_under_most_specific_wins_nothing_is_explained_and_esa1_goes_on() -> None:
    config = two_machines("most-specific").set_connector(ESA2, False)
    assert rule_explanation(config) == "" and stopped_by_rule(config, "esa1") == []
    assert config.resolve("esa1", "tdc.enabled").value is True


def test_enabling_the_machine_again_ends_the_explanation() -> None:
    config = two_machines().set_connector(ESA2, False).set_connector(ESA2, True, ADDRESS)
    assert rule_explanation(config) == ""
    assert dataclasses.replace(config).resolve("esa2", "tdc.enabled").value is True
