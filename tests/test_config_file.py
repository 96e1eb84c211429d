"""The `--config` TOML file: the line finder, the example file, and every refusal naming key and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.processes import SandboxProcess
from simulator.core.config.cluster import CLUSTER, Level, Resolved, Topology
from simulator.core.config.values import (
    DEFAULT_POLICY,
    ContentFilter,
    MailPolicy,
    MxRecord,
    NextHop,
    SmtpRoute,
)
from simulator.core.errors import ConfigError
from simulator.settings.file import ConfigFile, load_config_file
from simulator.settings.toml_lines import dotted, key_lines, line_of

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "sandbox.example.toml"
TENANT, SECOND = "sandbox-tenant@intake.threatdefense.test", "second-tenant@intake.threatdefense.test"
START_TIMEOUT = 20.0


def load(tmp_path: Path, text: str) -> ConfigFile:
    path = tmp_path / "sandbox.toml"
    path.write_text(text, encoding="utf-8")
    return load_config_file(path)


def refusal(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value


# -- the line finder -------------------------------------------------------------------------------------

LAYOUT = """\
top = 1
[cluster]
tdc.enabled = true
auth = { a = "b" }
domains = [
  ["looks.like.a.header"]
]
note = '''
fake = 1
[fake]
'''
[[cluster.policies]]
name = "A"
[[cluster.policies.filters]]
name = "f"
[[cluster.policies]]
"quoted.key" = 2
[[cluster.policies.filters]]
name = "g"
[machine.esa2]  # a comment
x = 3
"""


def test_key_lines_follow_tables_arrays_and_dotted_keys() -> None:
    lines = key_lines(LAYOUT)
    assert lines[("top",)] == 1
    assert lines[("cluster",)] == 2
    assert lines[("cluster", "tdc", "enabled")] == lines[("cluster", "tdc")] == 3
    assert lines[("cluster", "policies", 0)] == 12
    assert lines[("cluster", "policies", 0, "filters", 0, "name")] == 15
    assert lines[("cluster", "policies", 1, "quoted.key")] == 17
    assert lines[("cluster", "policies", 1, "filters", 0)] == 18  # the index restarts per policy
    assert lines[("cluster", "policies", 1, "filters", 0, "name")] == 19
    assert lines[("machine", "esa2", "x")] == 21


def test_key_lines_skip_multi_line_arrays_and_strings() -> None:
    lines = key_lines(LAYOUT)
    assert ("looks", "like", "a", "header") not in lines
    assert ("cluster", "fake") not in lines and ("fake",) not in lines
    assert lines[("cluster", "note")] == 8


def test_key_lines_note_each_element_of_an_array() -> None:
    lines = key_lines('domains = [\n  "a.test", "b.test",  # two\n  ["c", "d"],\n  { e = 1 },\n]\n'
                      'hosts = ["x", "y"]\n')
    assert [lines[("domains", index)] for index in range(4)] == [2, 2, 3, 4]
    assert ("domains", 4) not in lines and ("e",) not in lines
    assert (lines[("hosts",)], lines[("hosts", 1)]) == (6, 6)


def test_a_key_not_seen_takes_its_nearest_ancestors_line() -> None:
    lines = key_lines(LAYOUT)
    assert line_of(lines, ("cluster", "auth", "a")) == 4
    assert line_of(lines, ("cluster", "domains", 0)) == 6
    assert line_of(lines, ("cluster", "domains", 1)) == lines[("cluster", "domains")] == 5
    assert line_of(lines, ("nowhere",)) == 1
    assert dotted(("cluster", "policies", 1, "filters", 0, "name")) == "cluster.policies[1].filters[0].name"


# -- the example file ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def example() -> ConfigFile:
    return load_config_file(EXAMPLE)


def test_the_example_declares_groups_tenants_and_the_rule(example: ConfigFile) -> None:
    assert example.cluster.topology == Topology((("Main_Group", ("esa1", "esa2")), ("Branch", ("esa3",))))
    assert example.intake_addresses == (TENANT, SECOND)
    assert example.cluster.disable_rule == "propagate"
    example.cluster.validate()


def test_the_example_declares_policies_routes_and_dns(example: ConfigFile) -> None:
    config = example.cluster.effective("esa1")
    assert config.incoming_policies == (
        MailPolicy("SALES", ("@sales.example.com",), True, True,
                   (ContentFilter("no_invoice_executables", "invoice.exe", "quarantine", "Subject"),),
                   "custom", SECOND),
        MailPolicy("EXECUTIVES", ("ceo@example.com", "cfo@"), tdc="no-scan"),
        DEFAULT_POLICY,
    )
    assert config.routes == (
        SmtpRoute("partner.test", use_dns=True),
        SmtpRoute(".branch.example.com", (NextHop("127.0.0.1", 2610, 10), NextHop("127.0.0.1", 2611, 20))),
        SmtpRoute("blackhole.test", discard=True),
    )
    assert config.dns_zone == (MxRecord("partner.test", 10, "127.0.0.1", 2600),
                               MxRecord("partner.test", 20, "127.0.0.1", 2601))
    assert (config.relay_networks, config.auth_users) == (("127.0.0.0/8",), (("sandbox", "sandbox"),))


def test_the_example_overrides_at_group_and_machine_level(example: ConfigFile) -> None:
    cluster, branch = example.cluster, Level("group", "Branch")
    assert cluster.resolve("esa3", "max_message_size") == Resolved(5242880, branch)
    assert cluster.resolve("esa1", "max_message_size") == Resolved(10485760, CLUSTER)
    assert cluster.resolve("esa2", "messages_per_connection") == Resolved(5, Level("machine", "esa2"))
    assert cluster.resolve("esa3", "tdc.intake_address") == Resolved(SECOND, branch)
    esa1, esa2, esa3 = (cluster.effective(name) for name in ("esa1", "esa2", "esa3"))
    assert (esa1.messages_per_connection, esa2.messages_per_connection) == (10, 5)
    assert esa1.local_domains == ("example.com", "sales.example.com")
    assert esa3.local_domains == ("example.com", "branch.example.com")
    assert (esa1.connector.enabled, esa1.connector.intake_address) == (True, TENANT)
    assert (esa3.connector.enabled, esa3.connector.intake_address) == (True, SECOND)


# -- what the loader fills in ----------------------------------------------------------------------------

def test_an_empty_file_is_esa1_in_main_group(tmp_path: Path) -> None:
    declared = load(tmp_path, "")
    assert declared.cluster.topology == Topology()
    assert declared.intake_addresses is None and declared.cluster.at(CLUSTER) == {}


def test_default_is_added_and_the_first_tenant_is_the_intake_address(tmp_path: Path) -> None:
    declared = load(tmp_path, 'tenants = ["a@t.test", "b@t.test"]\n[cluster]\ntdc.enabled = true\n'
                              '[[cluster.policies]]\nname = "X"\nrecipients = ["x@"]\n')
    assert declared.cluster.resolve("esa1", "tdc.intake_address") == Resolved("a@t.test", CLUSTER)
    assert [p.name for p in declared.cluster.effective("esa1").incoming_policies] == ["X", "DEFAULT"]


MACHINE_DISABLES = '[groups]\nG = ["esa1", "esa2"]\n[machine.esa2]\ntdc.enabled = false\n'


def test_a_machine_disable_propagates_to_its_group_and_the_cluster(tmp_path: Path) -> None:
    cluster = load(tmp_path, MACHINE_DISABLES).cluster
    assert cluster.resolve("esa1", "tdc.enabled") == Resolved(False, Level("group", "G"))
    assert cluster.at(CLUSTER) == {"tdc.enabled": False}


def test_with_most_specific_a_machine_disable_stays_on_the_machine(tmp_path: Path) -> None:
    text = ('disable_rule = "most-specific"\ntenants = ["a@t.test"]\n'
            f"{MACHINE_DISABLES}[cluster]\ntdc.enabled = true\n")
    cluster = load(tmp_path, text).cluster
    assert cluster.resolve("esa1", "tdc.enabled") == Resolved(True, CLUSTER)
    assert cluster.resolve("esa2", "tdc.enabled") == Resolved(False, Level("machine", "esa2"))


def test_usedns_and_dev_null_are_case_insensitive(tmp_path: Path) -> None:
    text = ('[[cluster.routes]]\ndomain = "a.test"\nhosts = ["usedns"]\n'
            '[[cluster.routes]]\ndomain = "ALL"\nhosts = "/DEV/NULL"\n')
    assert load(tmp_path, text).cluster.effective("esa1").routes == (
        SmtpRoute("a.test", use_dns=True), SmtpRoute("ALL", discard=True))


# -- refusals: the key and its line ----------------------------------------------------------------------

GROUPS = '[groups]\nMain_Group = ["esa1", "esa2"]\n'  # lines 1-2
POLICY = '[[cluster.policies]]\nname = "SALES"\nrecipients = ["@sales.test"]\n'  # 3 lines
FILTER = '[[cluster.policies.content_filters]]\nname = "f"\n'
ROUTE = '[[cluster.routes]]\ndomain = "a.test"\n'
DNS = '[[dns]]\ndomain = "a.test"\n'


def bad(name: str, text: str, key: str, reason: str) -> Any:
    """One refusal: the file's text, the key the error names (with its line) and part of the reason."""
    return pytest.param(text, key, reason, id=name)


UNKNOWN_KEYS = [
    bad("top level", 'tenants = ["a@t.test"]\nbogus = 1\n', "bogus (line 2)", "unknown key"),
    bad("cluster", '\n[cluster]\nmax_message_size = 5\nlocal_domain = ["x.test"]\n',
        "cluster.local_domain (line 4)", "known here: tdc, local_domains"),
    bad("policy", POLICY + POLICY.replace("SALES", "OTHER") + "anti_spm = false\n",
        "cluster.policies[1].anti_spm (line 7)", "unknown key"),
    bad("content filter", POLICY + FILTER + 'contains = "x"\naction = "drop"\nheadr = "Subject"\n',
        "cluster.policies[0].content_filters[0].headr (line 8)", "unknown key"),
    bad("inline table", '[cluster]\nmax_message_size = 5\ntdc = { enabled = false, adress = "a@t.test" }\n',
        "cluster.tdc.adress (line 3)", "known here: enabled, intake_address"),
    bad("group level", GROUPS + "[group.Main_Group]\nmax_size = 1\n",
        "group.Main_Group.max_size (line 4)", "unknown key"),
    bad("machine level", GROUPS + "[machine.esa2]\n\nrouting = 1\n", "machine.esa2.routing (line 5)",
        "unknown key"),
    bad("route", ROUTE + 'hosts = "USEDNS"\npriority = 1\n', "cluster.routes[0].priority (line 4)",
        "unknown key"),
    bad("DNS record", DNS + 'mx = ["10 h.test:25"]\n[[dns]]\ndomain = "b.test"\nttl = 5\n',
        "dns[1].ttl (line 6)", "unknown key"),
]

CONFLICTS = [
    bad("TOML syntax", 'tenants = ["a@t.test"]\n[cluster\n', "TOML syntax", "line 2"),
    bad("a key twice", "[cluster]\nmax_message_size = 5\nmax_message_size = 6\n", "TOML syntax", "line 3"),
    bad("machine in two groups", '[groups]\nMain_Group = ["esa1", "esa2"]\nBranch = ["esa3", "esa2"]\n',
        "groups.Branch (line 3)", "machine esa2 is already in group Main_Group"),
    bad("machine twice in a group", '[groups]\nMain_Group = ["esa1", "esa1"]\n', "groups.Main_Group (line 2)",
        "already in group Main_Group"),
    bad("no groups", "[groups]\n", "groups (line 1)", "at least one group"),
    bad("group without machines", "[groups]\nEmpty = []\n", "groups.Empty (line 2)", "at least one machine"),
    bad("bad machine name", '[groups]\nG = ["esa 1"]\n', "groups.G (line 2)", "not a machine name"),
    bad("undeclared group", GROUPS + "\n[group.Sales]\nmax_message_size = 1\n", "group.Sales (line 4)",
        "unknown group 'Sales' (groups: Main_Group)"),
    bad("undeclared machine", GROUPS + "[machine.esa9]\n", "machine.esa9 (line 3)",
        "unknown machine 'esa9' (machines: esa1, esa2)"),
    bad("machine section not a table", "machine = { esa1 = 5 }\n" + GROUPS, "machine.esa1 (line 1)",
        "must be a table"),
    bad("policy name twice", POLICY + POLICY, "cluster.policies[1].name (line 5)",
        "a second policy named SALES"),
    bad("DEFAULT not last", '[[cluster.policies]]\nname = "DEFAULT"\n' + POLICY,
        "cluster.policies[0].name (line 2)", "DEFAULT must be the last"),
    bad("policy without recipients", '[[cluster.policies]]\nname = "ALLMAIL"\n',
        "cluster.policies[0].recipients (line 1)", "only DEFAULT matches everyone"),
    bad("DEFAULT with recipients", '[[cluster.policies]]\nname = "DEFAULT"\nrecipients = ["@x.test"]\n',
        "cluster.policies[0].recipients (line 3)", "takes no recipients"),
    bad("enabled without an address", GROUPS + "[group.Main_Group]\n\ntdc.enabled = true\n",
        "group.Main_Group.tdc.enabled (line 5)", "without an intake address"),
    bad("route with hosts and USEDNS", ROUTE + 'hosts = ["h.test:25", "USEDNS"]\n',
        "cluster.routes[0].hosts (line 3)", "either hosts, USEDNS or /dev/null"),
    bad("route without hosts", ROUTE, "cluster.routes[0].hosts (line 1)", "is missing"),
    bad("two routes for a domain", ROUTE + 'hosts = "USEDNS"\n' + ROUTE.replace("a.test", "A.test")
        + 'hosts = "/dev/null"\n', "cluster.routes[1].domain (line 5)", "a second route for A.test"),
    bad("two DNS entries for a domain", DNS + 'mx = ["10 h.test:25"]\n' + DNS + 'mx = ["20 h.test:26"]\n',
        "dns[1].domain (line 5)", "a second [[dns]] entry"),
    bad("custom without an address", POLICY + 'tdc = "custom"\n', "cluster.policies[0].tdc_intake (line 1)",
        "is missing"),
    bad("an address without custom", POLICY + 'tdc_intake = "x@t.test"\n',
        "cluster.policies[0].tdc_intake (line 4)", 'only for tdc = "custom"'),
    bad("custom while disabled", '[cluster]\ntdc.enabled = false\n' + POLICY
        + 'tdc = "custom"\ntdc_intake = "x@t.test"\n', "cluster.policies[0].tdc (line 6)",
        "disables it on esa1"),
    bad("custom where a machine disable reaches", 'tenants = ["a@t.test"]\n' + GROUPS + POLICY
        + 'tdc = "custom"\ntdc_intake = "x@t.test"\n[cluster.tdc]\nenabled = true\n[machine.esa2]\n'
        "tdc.enabled = false\n", "cluster.policies[0].tdc (line 7)",
        "but machine.esa2.tdc.enabled (line 12) disables it on esa1"),
    bad("a host that is not a host", ROUTE + 'hosts = ["ho st:25"]\n', "cluster.routes[0].hosts[0] (line 3)",
        "'ho st' is not a host name or IP address"),
    bad("an MX record with two priorities", DNS + 'mx = ["10 h.test:25:5"]\n', "dns[0].mx[0] (line 3)",
        "is not 'PRIORITY host:port'"),
]

BAD_VALUES = [
    bad("recipient pattern", POLICY.replace("@sales.test", "sales test"),
        "cluster.policies[0].recipients[0] (line 3)", "is not user@domain"),
    bad("host without a port", ROUTE + 'hosts = ["h.test"]\n', "cluster.routes[0].hosts[0] (line 3)",
        "not host:port or host:port:priority"),
    bad("port out of range", ROUTE + 'hosts = ["h.test:70000"]\n', "cluster.routes[0].hosts[0] (line 3)",
        "port out of range"),
    bad("route domain", '[[cluster.routes]]\ndomain = "a test"\nhosts = "USEDNS"\n',
        "cluster.routes[0].domain (line 2)", "not a domain, .domain or ALL"),
    bad("MX host", DNS + 'mx = ["10 h.test:25", "20 h.test"]\n', "dns[0].mx[1] (line 3)", "not host:port"),
    bad("MX priority", DNS + 'mx = ["h.test:25"]\n', "dns[0].mx[0] (line 3)",
        "is not 'PRIORITY host:port'"),
    bad("no MX records", DNS + "mx = []\n", "dns[0].mx (line 3)", "at least one"),
    bad("intake address with spaces", '[cluster]\ntdc.intake_address = "a b@t.test"\n',
        "cluster.tdc.intake_address (line 2)", "contains spaces"),
    bad("two intake addresses", '[cluster]\ntdc = { intake_address = "a@t.test, b@t.test" }\n',
        "cluster.tdc.intake_address (line 2)", "one address, not several"),
    bad("empty intake address", '[cluster]\ntdc.intake_address = ""\n', "cluster.tdc.intake_address (line 2)",
        "is empty"),
    bad("tenant", '\ntenants = ["a@t.test", "nodomain"]\n', "tenants[1] (line 2)", "not a local@domain"),
    bad("tenant twice", 'tenants = ["a@t.test", "a@t.test"]\n', "tenants[1] (line 1)", "listed twice"),
    bad("no tenants", "tenants = []\n", "tenants (line 1)", "at least one"),
    bad("custom intake address", POLICY + 'tdc = "custom"\ntdc_intake = "x@t.test\\r\\n"\n',
        "cluster.policies[0].tdc_intake (line 5)", "contains a line break"),
    bad("policy mode", POLICY + 'tdc = "journal"\n', "cluster.policies[0].tdc (line 4)",
        "one of default, custom, no-scan"),
    bad("disable rule", 'disable_rule = "literal"\n', "disable_rule (line 1)", "propagate, most-specific"),
    bad("string for a number", '[cluster]\nmax_message_size = "big"\n', "cluster.max_message_size (line 2)",
        "must be a whole number"),
    bad("true for a number", "[cluster]\nmessages_per_connection = true\n",
        "cluster.messages_per_connection (line 2)", "must be a whole number"),
    bad("zero messages per connection", "[cluster]\nmessages_per_connection = 0\n",
        "cluster.messages_per_connection (line 2)", "at least 1"),
    bad("number for a boolean", POLICY + "anti_spam = 1\n", "cluster.policies[0].anti_spam (line 4)",
        "must be true or false"),
    bad("string for a list", '[cluster]\nlocal_domains = "example.com"\n', "cluster.local_domains (line 2)",
        "must be a list"),
    bad("local domain", '[cluster]\nlocal_domains = [\n  "example.com",\n  "bad domain",\n]\n',
        "cluster.local_domains[1] (line 4)", "not a domain name: 'bad domain'"),
    bad("relay network", '[cluster]\nrelay_networks = ["10.0.0.1/8"]\n', "cluster.relay_networks[0] (line 2)",
        "host bits set"),
    bad("auth password", "[cluster]\nauth_users = { alice = 5 }\n", "cluster.auth_users.alice (line 2)",
        "must be a string"),
    bad("filter action", POLICY + FILTER + 'contains = "x"\naction = "bounce"\n',
        "cluster.policies[0].content_filters[0].action (line 7)", "drop, quarantine"),
    bad("empty filter text", POLICY + FILTER + 'contains = ""\naction = "drop"\n',
        "cluster.policies[0].content_filters[0].contains (line 6)", "is empty"),
    bad("policies not as tables", '[cluster]\npolicies = ["SALES"]\n', "cluster.policies (line 2)",
        "must be tables ([[cluster.policies]])"),
]


@pytest.mark.bad_input
@pytest.mark.parametrize(("text", "key", "reason"), UNKNOWN_KEYS + CONFLICTS + BAD_VALUES)
def test_a_bad_file_is_refused_naming_the_key_and_line(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    error = refusal(tmp_path, text)
    assert error.key == key
    assert reason in error.reason


@pytest.mark.bad_input
def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it") as caught:
        load_config_file(tmp_path / "absent.toml")
    assert caught.value.key == "file"


# -- through the command line ----------------------------------------------------------------------------

def tdcsim(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)


@pytest.mark.bad_input
def test_the_sandbox_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GROUPS + "[machine.esa9]\nmax_message_size = 1\n", encoding="utf-8")
    process = tdcsim("sandbox", "--config", str(bad), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.splitlines() == [f"tdcsim: {bad}: machine.esa9 (line 3): unknown machine 'esa9' "
                                   "(machines: esa1, esa2)"]
    assert stdout == "" and not (tmp_path / "data" / "sandbox.json").exists()


def test_the_sandbox_runs_the_machines_of_the_example(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "data", "--config", str(EXAMPLE), cwd=tmp_path) as sandbox:
        description = sandbox.start()
        machines = description["machines"]
        assert {name: machine["group"] for name, machine in machines.items()} == {
            "esa1": "Main_Group", "esa2": "Main_Group", "esa3": "Branch"}
        assert description["threat_defense"]["intake_addresses"] == [TENANT, SECOND]
        assert sandbox.stop() == 0, sandbox.stderr()
    assert "Traceback" not in sandbox.stderr()


def test_pydantic_is_imported_only_to_read_a_config_file() -> None:
    """The operator's quick commands, and a sandbox without --config, do not pay for importing it."""
    code = ("import sys, simulator.cli.main, simulator.cli.sandbox\n"
            # what `tdcsim sandbox` loads once its data dir is claimed, and what its parts run
            "import simulator.sandbox.single, simulator.sandbox.supervisor, simulator.sandbox.child\n"
            "print(*sorted(name for name in sys.modules if 'pydantic' in name or 'settings.' in name))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.split() == ["simulator.settings.file", "simulator.settings.toml_lines"]
