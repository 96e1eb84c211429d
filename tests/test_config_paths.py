"""One definition per rule: the `--config` file and the admin operations, fed the same input, give the
same effective configuration or the same refusal (BEHAVIOUR.md §4.6, §5.3; issue 8 item 2)."""

from __future__ import annotations

import asyncio

import pytest

from simulator.admin.actions import ConfigAdmin
from simulator.admin.tables import TablesAdmin
from simulator.core.clock import ManualClock
from simulator.core.config.cluster import CLUSTER, CUSTOM_NEEDS_CONNECTOR, ClusterConfig, Topology
from simulator.core.config.store import ConfigStore
from simulator.core.config.text import format_hop, parse_hop
from simulator.core.config.values import DEFAULT_POLICY, GatewayConfig, MailPolicy, NextHop
from simulator.core.errors import ConfigError
from simulator.settings.file import read_config

TENANT = "tenant@intake.threatdefense.test"
TOPOLOGY = Topology((("Main_Group", ("esa1", "esa2")), ("Branch", ("esa3",))))
GROUPS = '[groups]\nMain_Group = ["esa1", "esa2"]\nBranch = ["esa3"]\n'


def administered(rule: str = "propagate") -> tuple[ConfigAdmin, TablesAdmin]:
    """The admin operations on a store that starts with the topology and nothing set."""
    store = ConfigStore(ClusterConfig(TOPOLOGY, GatewayConfig(), disable_rule=rule),  # type: ignore[arg-type]
                        ManualClock())
    config = ConfigAdmin(store, configured)
    return config, TablesAdmin(config)


async def configured() -> None:
    """No machine runs: a commit has nothing to reach."""


def committed(config: ConfigAdmin) -> ClusterConfig:
    asyncio.run(config.commit("as the file says"))
    return config.store.committed


def effective(cluster: ClusterConfig) -> dict[str, GatewayConfig]:
    return {machine: cluster.effective(machine) for machine in cluster.topology.machines}


@pytest.mark.parametrize("rule", ["propagate", "most-specific"])
def test_a_machine_disable_gives_the_same_configuration_from_the_file_and_the_admin_api(rule: str) -> None:
    from_file = read_config(f'disable_rule = "{rule}"\n{GROUPS}[cluster]\ntdc.enabled = true\n'
                            f'tdc.intake_address = "{TENANT}"\n[machine.esa2]\ntdc.enabled = false\n').cluster
    config, _ = administered(rule)
    config.enable(TENANT, "cluster")
    config.disable("machine:esa2")
    from_api = committed(config)
    assert effective(from_file) == effective(from_api)
    assert from_file.layers == from_api.layers
    assert [from_file.effective(m).connector.enabled for m in TOPOLOGY.machines] == (
        [False, False, False] if rule == "propagate" else [True, False, True])


def test_the_file_applies_the_levels_in_the_administrators_order_whatever_their_order_in_it() -> None:
    """Machines after groups after the cluster: a machine disable is never undone by a later table."""
    text = (f'{GROUPS}[machine.esa3]\ntdc.enabled = false\n[group.Branch]\ntdc.enabled = true\n'
            f'[cluster.tdc]\nenabled = true\nintake_address = "{TENANT}"\n')
    config, _ = administered()
    config.enable(TENANT, "cluster")
    config.enable(TENANT, "group:Branch")
    config.disable("machine:esa3")
    from_api = committed(config)
    assert effective(read_config(text).cluster) == effective(from_api)
    assert not any(machine.connector.enabled for machine in effective(from_api).values())


def test_routes_and_mx_records_give_the_same_values_from_the_file_and_the_admin_api() -> None:
    text = ('[[cluster.routes]]\ndomain = "ALL"\nhosts = ["127.0.0.1:2528"]\n'
            '[[cluster.routes]]\ndomain = "intake.threatdefense.test"\nhosts = "usedns"\n'
            '[[cluster.routes]]\ndomain = ".branch.test"\nhosts = "127.0.0.1:2610:10, [::1]:2611:20"\n'
            '[[cluster.routes]]\ndomain = "blackhole.test"\nhosts = "/dev/null"\n'
            '[[dns]]\ndomain = "partner.test"\nmx = ["10 127.0.0.1:2600", "20 localhost:2601"]\n')
    config, tables = administered()
    tables.add_route("cluster", "ALL", ["127.0.0.1:2528"])
    tables.add_route("cluster", "intake.threatdefense.test", "USEDNS")
    tables.add_route("cluster", ".branch.test", ["127.0.0.1:2610:10", "[::1]:2611:20"])
    tables.add_route("cluster", "blackhole.test", "/DEV/NULL")
    tables.set_mx("cluster", "partner.test", ["127.0.0.1:2600:10", "localhost:2601:20"])
    from_file, from_api = read_config(text).cluster.effective("esa1"), committed(config).effective("esa1")
    assert (from_file.routes, from_file.dns_zone) == (from_api.routes, from_api.dns_zone)
    assert from_api.routes[2].hosts == (NextHop("127.0.0.1", 2610, 10), NextHop("::1", 2611, 20))


BAD_HOPS = ["host:99999", "host", "ho st:25", "host:0", "999.1.1.1:25", "[1.2.3.4]:25", "::1:25",
            "host:25:x", "host:port"]


@pytest.mark.bad_input
@pytest.mark.parametrize("hop", BAD_HOPS)
def test_a_bad_next_hop_is_refused_by_both_paths_for_the_same_reason(hop: str) -> None:
    _, tables = administered()
    with pytest.raises(ConfigError) as by_api:
        tables.add_route("cluster", "a.test", [hop])
    with pytest.raises(ConfigError) as by_file:
        read_config(f'[[cluster.routes]]\ndomain = "a.test"\nhosts = ["{hop}"]\n')
    with pytest.raises(ConfigError) as as_mx_by_api:
        tables.set_mx("cluster", "a.test", [hop])
    assert by_file.value.key == "cluster.routes[0].hosts[0] (line 3)"
    assert by_api.value.reason == by_file.value.reason == as_mx_by_api.value.reason
    assert repr(hop) in by_api.value.reason


@pytest.mark.bad_input
@pytest.mark.parametrize(("domain", "destination"), [
    ("a test", "USEDNS"), ("*", "USEDNS"), ("a.test", ["127.0.0.1:25", "USEDNS"]), ("a.test", []),
])
def test_a_bad_route_is_refused_by_both_paths_for_the_same_reason(domain: str, destination: object) -> None:
    _, tables = administered()
    with pytest.raises(ConfigError) as by_api:
        tables.add_route("cluster", domain, destination)  # type: ignore[arg-type]
    hosts = f'"{destination}"' if isinstance(destination, str) else str(destination).replace("'", '"')
    with pytest.raises(ConfigError) as by_file:
        read_config(f'[[cluster.routes]]\ndomain = "{domain}"\nhosts = {hosts}\n')
    assert by_api.value.reason == by_file.value.reason


@pytest.mark.parametrize("hop", ["127.0.0.1:2528", "mailbox.test:25:10", "[::1]:2525:5", "localhost:1"])
def test_a_next_hop_reads_back_from_its_printed_form(hop: str) -> None:
    assert parse_hop(format_hop(parse_hop(hop))) == parse_hop(hop)



def test_a_custom_intake_address_on_a_disabled_connector_is_refused_by_the_file_and_the_admin_api() -> None:
    """BEHAVIOUR.md §5.5, one definition (`ClusterConfig.custom_while_disabled`) for both paths."""
    sales = MailPolicy("SALES", ("@sales.example.com",))
    text = (f'{GROUPS}[cluster]\ntdc.enabled = false\n[[cluster.policies]]\nname = "SALES"\n'
            f'recipients = ["@sales.example.com"]\ntdc = "custom"\ntdc_intake = "{TENANT}"\n')
    with pytest.raises(ConfigError) as from_file:
        read_config(text)
    config, _ = administered()
    config.submit(lambda cluster: cluster.set(CLUSTER, "incoming_policies", (sales, DEFAULT_POLICY)))
    config.disable("cluster")
    with pytest.raises(ConfigError) as from_api:
        config.set_policy("SALES", "custom", TENANT, "cluster")
    assert CUSTOM_NEEDS_CONNECTOR in str(from_file.value) and CUSTOM_NEEDS_CONNECTOR in str(from_api.value)
    assert "cluster.policies[0].tdc (line 9)" in str(from_file.value)
