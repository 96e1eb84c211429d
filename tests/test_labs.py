"""The training labs without sockets (issue 12 point 2): the shipped lab files load; a malformed file is
refused at load time naming the file and the key; each check kind answers done or not done, with the
reason naming what is missing, from built states; the start actions change the configuration as said;
a journal's head says which copy of which MID it is."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.admin.labs import unknown_lab
from simulator.admin.labs_arrivals import Arrivals, arrival
from simulator.admin.labs_checks import (
    connector_enabled,
    connector_off_everywhere,
    disabled_on_a_machine,
    failed_copy_arrived,
    intake_route_uses_dns,
    journal_arrived,
    machines,
    no_faults,
    policy_custom,
    tdc_queue_empty,
)
from simulator.admin.labs_files import LABS_FOLDER, load_labs, shipped_labs
from simulator.admin.labs_start import (
    StartContext,
    catch_all_route,
    changed_config,
    connector_off,
    connector_on,
)
from simulator.admin.labs_state import Arrival, LabState, for_lab, start_comment
from simulator.admin.operated import JournalWindow
from simulator.core.config.cluster import CLUSTER, ClusterConfig, Level, Topology
from simulator.core.config.text import parse_route
from simulator.core.config.values import GatewayConfig, MxRecord
from simulator.core.errors import ConfigError
from simulator.core.mail.body import InMemoryBody
from simulator.core.mail.connector import created_line, delivered_line, failed_line
from simulator.core.records import Records
from simulator.core.reports.logformat import Level as LogLevel
from simulator.core.reports.logformat import LogLine
from simulator.endpoints.threat_defense import JournalRecord

TENANT, SECOND = "sandbox-tenant@intake.threatdefense.test", "second-tenant@intake.threatdefense.test"
COMMITTED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ZONE = (MxRecord("intake.threatdefense.test", 10, "127.0.0.1", 2526), MxRecord("*", 10, "127.0.0.1", 2527))
GOOD_LAB = """id = "{name}"
number = {number}
title = "A lab"
goal = "Do it."
steps = ["First.", "Second."]
hints = ["A hint."]
[[start]]
action = "faults"
endpoint = "threat_defense"
faults = ["untrusted-cert"]
[[checks]]
kind = "machines"
at_least = 2
says = "Two machines"
"""


def cluster(count: int = 1, enabled: bool = True, address: str = TENANT) -> ClusterConfig:
    config = ClusterConfig(Topology.single_group(count), GatewayConfig(dns_zone=ZONE))
    return config.set(CLUSTER, "tdc.enabled", enabled).set(CLUSTER, "tdc.intake_address", address)


def state(config: ClusterConfig, **changes: object) -> LabState:
    built = LabState(committed=config, pending=None, since=COMMITTED_AT, tenants=(TENANT, SECOND),
                     faults={"threat_defense": (), "mailbox": ()}, tdc_queue={"esa1": 0},
                     log={"esa1": ()}, arrivals=())
    return dataclasses.replace(built, **changes)  # type: ignore[arg-type]


def line(text: str, after: timedelta = timedelta(seconds=1)) -> LogLine:
    return LogLine(COMMITTED_AT + after, LogLevel.INFO, text)


# --- the lab files --------------------------------------------------------------------------------


def test_the_shipped_labs_load_in_order_and_name_only_known_kinds() -> None:
    labs = shipped_labs()
    assert [lab.id for lab in labs] == ["enable-connector", "machine-disable", "custom-intake", "tls-error",
                                        "catch-all-route"]
    assert [lab.number for lab in labs] == [1, 2, 3, 4, 5]
    assert all(lab.start and lab.checks and lab.steps and lab.hints for lab in labs)
    assert {path.stem for path in LABS_FOLDER.glob("*.toml")} == {lab.id for lab in labs}


def test_the_first_lab_walks_the_chapter_steps_in_order() -> None:
    steps = " ".join(shipped_labs()[0].steps)
    order = ["Threat Defense Portal", "Settings (gear) > Administration > Business", "Account Details",
             "Edit Global Settings", "Submit", "Commit"]
    positions = [steps.index(words) for words in order]
    assert positions == sorted(positions)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("spoil", "key", "reason"), [
    (lambda t: t.replace('title = "A lab"\n', ""), "title", "missing"),
    (lambda t: t.replace('id = "broken"', 'id = "other"'), "id", "must be the file's name"),
    (lambda t: t.replace("number = 1", "number = 0"), "number", "at least 1"),
    (lambda t: t.replace('steps = ["First.", "Second."]', 'steps = ["First.", 3]'), "steps[2]", "string"),
    (lambda t: t.replace('kind = "machines"', 'kind = "machine"'), "checks[1].kind", "unknown check"),
    (lambda t: t.replace("at_least = 2", 'at_least = "2"'), "checks[1].at_least", "not a int"),
    (lambda t: t.replace("at_least = 2", "at_leest = 2"), "checks[1].at_leest", "unknown parameter"),
    (lambda t: t.replace('says = "Two machines"\n', ""), "checks[1].says", "missing"),
    (lambda t: t.replace('action = "faults"', 'action = "explode"'), "start[1].action", "unknown action"),
    (lambda t: t.replace('"untrusted-cert"', '"untrusted"'), "start[1].faults", "valid kinds"),
    (lambda t: t.replace('"threat_defense"', '"td"'), "start[1].endpoint", "not one of"),
    (lambda t: "colour = 1\n" + t, "colour", "unknown key"),
    (lambda t: t.replace("[[checks]]", "[checks]"), "checks", "list of tables"),
    (lambda t: t.replace('goal = "Do it."', 'goal = "Do it.'), "(file)", "not TOML"),
])
def test_a_malformed_lab_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, spoil: object, key: str, reason: str
) -> None:
    write(tmp_path, "good", GOOD_LAB.format(name="good", number=2))
    write(tmp_path, "broken", spoil(GOOD_LAB.format(name="broken", number=1)))  # type: ignore[operator]
    with pytest.raises(ConfigError) as refused:
        load_labs(tmp_path)
    assert refused.value.key == f"{tmp_path.name}/broken.toml: {key}"
    assert reason in refused.value.reason


def test_two_labs_with_one_number_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "one", GOOD_LAB.format(name="one", number=1))
    write(tmp_path, "two", GOOD_LAB.format(name="two", number=1))
    with pytest.raises(ConfigError, match=r"two\.toml: number: 1 is lab one's too"):
        load_labs(tmp_path)


def test_an_unknown_lab_names_the_closest() -> None:
    assert "did you mean 'custom-intake'?" in str(unknown_lab("custom", shipped_labs()))
    assert "did you mean" not in str(unknown_lab("zzzzzz", shipped_labs()))


# --- the check kinds ------------------------------------------------------------------------------


def test_connector_enabled_says_what_is_missing() -> None:
    off = cluster(enabled=False)
    assert connector_enabled(state(off), {}).reason.startswith("not done: the connector is disabled at")
    pending = state(off, pending=cluster())
    assert connector_enabled(pending, {}).reason == ("not done: the connector is enabled with the tenant's "
                                                     "intake address but not committed (Commit Changes)")
    assert "is second-tenant@intake.threatdefense.test, not the tenant's" in connector_enabled(
        state(cluster(address=SECOND)), {}).reason
    overridden = cluster(2).set(Level("machine", "esa2"), "tdc.enabled", False)
    assert connector_enabled(state(overridden), {}).reason == (
        "not done: enabled at cluster level, but still disabled on esa2 (at machine:esa2)")
    assert connector_enabled(state(cluster()), {}).done


def test_a_journal_counts_when_held_by_threat_defense_for_a_copy_made_since_the_last_commit() -> None:
    made = line(created_line(2, 1, TENANT))
    held = Arrival(TENANT, "esa1", 2, 1)
    assert journal_arrived(state(cluster(), log={"esa1": (made,)}, arrivals=(held,)), {}).done
    before = line(created_line(2, 1, TENANT), after=-timedelta(seconds=1))
    old = state(cluster(), log={"esa1": (before,)}, arrivals=(held,))
    assert journal_arrived(old, {}).reason.startswith(
        f"not done: no journal for {TENANT} has arrived at Threat Defense since the last commit (")
    elsewhere = state(cluster(), log={"esa1": (made, line(delivered_line(2)))})  # the log says delivered
    assert "was made for" in journal_arrived(elsewhere, {}).reason
    fresh = state(cluster(), log={"esa1": (made,)}, arrivals=(held,))
    assert not journal_arrived(fresh, {"to": "custom"}).done


def with_custom(config: ClusterConfig, address: str) -> ClusterConfig:
    return config.set_policy_tdc(CLUSTER, "DEFAULT", "custom", address)


def test_policy_custom_wants_another_tenant_committed() -> None:
    assert "no incoming mail policy" in policy_custom(state(cluster()), {}).reason
    submitted = state(cluster(), pending=with_custom(cluster(), SECOND))
    assert "not committed" in policy_custom(submitted, {}).reason
    assert "is not a Threat Defense tenant" in policy_custom(
        state(with_custom(cluster(), "x@elsewhere.test")), {}).reason
    assert "the default tenant's" in policy_custom(state(with_custom(cluster(), TENANT)), {}).reason
    custom = with_custom(cluster(), SECOND)
    assert policy_custom(state(custom), {}).reason == (f"done: policy DEFAULT sends its copies to {SECOND} "
                                                       "(on esa1), committed")
    made = line(created_line(2, 1, SECOND))
    assert journal_arrived(state(custom, log={"esa1": (made,)}, arrivals=(Arrival(SECOND, "esa1", 2, 1),)),
                           {"to": "custom"}).done


def test_the_machine_disable_checks() -> None:
    one = cluster(1).set_connector(Level("machine", "esa1"), False)
    assert machines(state(one), {"at_least": 2}).reason == (
        "not done: this lab needs at least 2 machines and the sandbox runs 1 (esa1): stop it and start it "
        'with `make sandbox ARGS="--machines 2"`')
    two = cluster(2)
    assert "no machine has the connector disabled" in disabled_on_a_machine(state(two), {}).reason
    disabled = two.set_connector(Level("machine", "esa1"), False)
    assert "not committed" in disabled_on_a_machine(state(two, pending=disabled), {}).reason
    assert disabled_on_a_machine(state(disabled), {}).done
    assert connector_off_everywhere(state(two), {}).reason == (
        "not done: the connector still runs on esa1 (enabled at cluster), esa2 (enabled at cluster)")
    assert connector_off_everywhere(state(disabled), {}).done


def test_the_tls_lab_checks() -> None:
    scripted = state(cluster(), faults={"threat_defense": ("untrusted-cert",)}, tdc_queue={"esa1": 1})
    assert no_faults(scripted, {"endpoint": "threat_defense"}).reason == (
        "not done: Threat Defense is still scripted with untrusted-cert (Training > Faults)")
    assert no_faults(state(cluster()), {"endpoint": "threat_defense"}).done
    assert tdc_queue_empty(scripted, {}).reason.startswith("not done: copies wait in the.tdc.queue: 1 on")
    assert tdc_queue_empty(state(cluster()), {}).done
    assert "no copy has failed with a TLS Error yet" in failed_copy_arrived(state(cluster()), {}).reason
    failed = (line(created_line(2, 1, TENANT)), line(failed_line(2, "TLS Error")))
    waiting = state(cluster(), log={"esa1": failed})
    assert failed_copy_arrived(waiting, {}).reason == ("not done: copy 2 of message 1 (esa1) failed with a "
                                                       "TLS Error and has not arrived at Threat Defense yet")
    landed = dataclasses.replace(waiting, arrivals=(Arrival(TENANT, "esa1", 2, 1),))
    assert failed_copy_arrived(landed, {}).done
    other = state(cluster(), log={"esa1": (line(failed_line(2, "Connection refused")),)})
    assert not failed_copy_arrived(other, {"reason": "TLS Error"}).done


def test_the_route_check_wants_usedns_for_the_intake_domain_itself() -> None:
    trapped = catch_all_route(cluster(), StartContext(TENANT))
    assert intake_route_uses_dns(state(trapped), {}).reason.startswith(
        "not done: on esa1, mail for intake.threatdefense.test takes the route ALL -> 127.0.0.1:2527:0: "
        "add a route for intake.threatdefense.test with destination USEDNS")
    fixed = trapped.set(CLUSTER, "routes", (*trapped.at(CLUSTER)["routes"],
                                            parse_route("intake.threatdefense.test", "USEDNS")))
    assert "not committed" in intake_route_uses_dns(state(trapped, pending=fixed), {}).reason
    assert intake_route_uses_dns(state(fixed), {}).done


# --- the start actions ----------------------------------------------------------------------------


def test_connector_on_and_off_reach_every_level() -> None:
    context = StartContext(TENANT)
    machine_off = cluster(2, address=SECOND).set_connector(Level("machine", "esa2"), False)
    on = connector_on(machine_off, context)
    assert all(on.resolve(name, "tdc.enabled").value for name in ("esa1", "esa2"))
    assert on.at(CLUSTER)["tdc.intake_address"] == TENANT
    off = connector_off(cluster(2).set(Level("machine", "esa1"), "tdc.enabled", True), context)
    assert not any(off.resolve(name, "tdc.enabled").value for name in ("esa1", "esa2"))


def test_the_catch_all_route_replaces_a_usedns_route_for_the_intake_domain() -> None:
    fixed = cluster().set(CLUSTER, "routes", (parse_route("intake.threatdefense.test", "USEDNS"),
                                              parse_route("partner.test", "127.0.0.1:2600")))
    actions = ({"action": "catch_all_route"}, {"action": "faults"})
    trapped = changed_config(actions, fixed, StartContext(TENANT))
    assert [route.domain for route in trapped.at(CLUSTER)["routes"]] == ["partner.test", "ALL"]
    no_wildcard = cluster().set(CLUSTER, "dns_zone", ZONE[:1])
    with pytest.raises(ConfigError, match="no \\* record"):
        catch_all_route(no_wildcard, StartContext(TENANT))


def test_a_journal_head_names_its_machine_copy_and_original() -> None:
    head = (b"X-TDC-Journal:\r\nFrom: tdc-journal@esa2.sandbox.test\r\nTo: " + TENANT.encode() +
            b"\r\nMessage-ID: <tdc.7.20261130120000@esa2.sandbox.test>\r\nX-IronPort-MID: 6\r\n\r\nbody")
    record = JournalRecord(1, TENANT, "tdc-journal@esa2.sandbox.test", (TENANT,), "TLSv1.3", "", 1, 1, (),
                           InMemoryBody(head))
    assert arrival(record) == Arrival(TENANT, "esa2", 7, 6)
    assert arrival(dataclasses.replace(record, body=InMemoryBody(b"Subject: no\r\n\r\n"))) is None


class KeptJournals:
    """Threat Defense's `journals_after` keeping the latest `kept`; counts what it hands out."""

    def __init__(self, kept: int) -> None:
        self.records: Records[JournalRecord] = Records(kept)
        self.handed = 0

    async def journals_after(self, position: int) -> JournalWindow:
        oldest, records = self.records.after(position)
        self.handed += len(records)
        return JournalWindow(oldest, max(position + 1, oldest), tuple(records))


def copy_journal(number: int, machine: str, copy_mid: int, original_mid: int) -> JournalRecord:
    head = (f"Message-ID: <tdc.{copy_mid}.20261130120000@{machine}.sandbox.test>\r\n"
            f"X-IronPort-MID: {original_mid}\r\n\r\nbody").encode()
    return JournalRecord(number, TENANT, f"tdc-journal@{machine}.sandbox.test", (TENANT,), "TLSv1.3", "",
                         1, 1, (), InMemoryBody(head))


def test_the_labs_read_each_journal_once_and_forget_one_threat_defense_keeps_no_more() -> None:
    async def scenario() -> None:
        threat_defense = KeptJournals(kept=3)
        known = Arrivals(threat_defense)  # type: ignore[arg-type]  # only journals_after is asked
        threat_defense.records.append(copy_journal(1, "esa1", 2, 1))
        threat_defense.records.append(copy_journal(2, "esa1", 4, 3))
        threat_defense.records.append(JournalRecord(3, TENANT, "x@y.test", (TENANT,), "", "", 1, 1, (),
                                                    InMemoryBody(b"Subject: no copy\r\n\r\n")))
        assert await known.read() == (Arrival(TENANT, "esa1", 2, 1), Arrival(TENANT, "esa1", 4, 3))
        assert await known.read() == (Arrival(TENANT, "esa1", 2, 1), Arrival(TENANT, "esa1", 4, 3))
        assert threat_defense.handed == 3  # the second read moved nothing
        for number in (4, 5):  # journals 1 and 2 leave memory
            threat_defense.records.append(copy_journal(number, "esa2", 10 + number, 20 + number))
        assert await known.read() == (Arrival(TENANT, "esa2", 14, 24), Arrival(TENANT, "esa2", 15, 25))
        assert threat_defense.handed == 5
    asyncio.run(scenario())


def test_a_journal_counts_since_the_labs_own_start_so_a_later_commit_does_not_undo_it() -> None:
    started, later = COMMITTED_AT, COMMITTED_AT + timedelta(minutes=5)
    commits = ((started, start_comment("enable-connector", "Enable")),
               (later, start_comment("catch-all-route", "Fix the catch-all")))
    made = line(created_line(2, 1, TENANT), after=timedelta(minutes=1))  # after lab 1's start, before lab 5's
    held = Arrival(TENANT, "esa1", 2, 1)
    seen = state(cluster(), log={"esa1": (made,)}, arrivals=(held,), commits=commits)
    assert journal_arrived(for_lab(seen, "enable-connector"), {}).done
    unstarted = for_lab(seen, "custom-intake")  # never started: since the last commit, which came later
    assert journal_arrived(unstarted, {}).reason.startswith(
        f"not done: no journal for {TENANT} has arrived at Threat Defense since the last commit (")
    assert for_lab(state(cluster()), "enable-connector").since is None  # no commit yet: any journal counts
