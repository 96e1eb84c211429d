"""The kit's gateway direction against our own sandbox: every scenario of features/gateway.feature
passes through the sandbox driver, so the kit can never drift from the simulator; and the parts
(the section, the driver protocol, the evidence) each fail when they must.

Design rule: the scenarios share one sandbox and one set of the kit's counterparts (per worker), as a
kit run does (its `gateway_target` is session-wide): each check marks where it starts and puts back
what it switched, so sharing is what the kit is built for, and each scenario pays for its own check
only. The mail log is judged once, when the shared sandbox stops, as `tdc_start_sandbox` judges it.
The other tests start a sandbox of their own. The whole kit run (`tdcsim conform gateway`, its
bundle) against the sandbox is tests/test_delivernow.py's, in the kit's own subprocess; whole runs
through an HTTP driver are tests/test_conform_double.py's: a third whole run here would judge again
what these scenarios and those runs judge.
The kit's steps are imported into this module, as tests/test_conform_endpoint.py imports the endpoint
direction's: a `pytest_plugins` here would load them for the whole session, where every step of every
scenario is matched against them too (pytest honours it in a test module, but globally).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import smtplib
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import ValidationError
from pytest_bdd import scenarios

from simulator.conformance.expected import kit_rules
from simulator.conformance.gateway import judge
from simulator.conformance.gateway.check import ConfigMissing, GatewayCheck
from simulator.conformance.gateway.driver import Driver, HttpDriver, NoDriver, PythonDriver, load_driver
from simulator.conformance.gateway.sandbox_driver import ClockedSandboxDriver, SandboxDriver
from simulator.conformance.gateway.scenarios import FEATURE
from simulator.conformance.gateway.steps import *  # noqa: F403 - the kit's own step definitions
from simulator.conformance.gateway.target import (
    DriverSection,
    GatewaySection,
    GatewayTarget,
    gateway_target_from,
    sample_text,
)
from simulator.conformance.outcomes import DriverError, HookMissing
from simulator.core.clock import ManualClock
from simulator.core.config.values import DEFAULT_POLICY, ConnectorSettings, GatewayConfig, MailPolicy
from simulator.core.mail.journal_check import RULES
from simulator.core.mail.scanning import EICAR
from simulator.defaults import DEFAULT_INTAKE_ADDRESSES
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.plugin import SANDBOX_KEY
from simulator.testing.runner import SimulatorThread
from simulator.transport.tls import SandboxTls

scenarios(str(FEATURE))

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
#: What the sandbox logs at Warning when the kit's Threat Defense plays a fault.
COPY_FAILURES = r"TDC: Message \d+ (?:delivery failed|hard bounced)"


def gateway_settings(data_dir: Path) -> SandboxSettings:
    """Bob has an incoming policy of his own, so a message to Alice and Bob splits in two."""
    policies = (MailPolicy("BOB", recipients=(BOB,)), DEFAULT_POLICY)
    return SandboxSettings(data_dir=data_dir, inbound_port=0, relay_port=0, threat_defense_port=0,
                           mailbox_port=0, gateway=GatewayConfig(incoming_policies=policies))


@pytest.fixture
def tdc_sandbox_settings(tmp_path: Path) -> SandboxSettings:
    return gateway_settings(tmp_path / "data")


def listener(sandbox: SandboxFacade, name: str) -> str:
    return "{}:{}".format(*sandbox.listener_address(name))


def section_for(sandbox: SandboxFacade, ca: trustme.CA, folder: Path, **changes: Any) -> GatewaySection:
    """The sandbox as a vendor would describe it; the counterparts' CA is the sandbox's own."""
    (folder / "ca.pem").write_bytes(ca.cert_pem.bytes())
    (folder / "ca-key.pem").write_bytes(ca.private_key_pem.bytes())
    return GatewaySection.model_validate({
        "incoming": listener(sandbox, "inbound"), "outgoing": listener(sandbox, "relay"),
        "recipients": [ALICE, CAROL], "split_recipients": [ALICE, BOB],
        "dropped_sample": "EICAR", "quarantined_sample": "GTUBE",
        "ca_cert": folder / "ca.pem", "ca_key": folder / "ca-key.pem",
        "waits": {"arrival": 30, "quiet": 0, "retry": 30}, **changes,
    })


@contextlib.contextmanager
def target_for(sandbox: SandboxFacade, section: GatewaySection, artifacts: Path,
               driver: Driver | None = None) -> Iterator[GatewayTarget]:
    """The kit's counterparts in front of the sandbox's gateway, driven through its admin API."""
    sandbox.expect_warning(COPY_FAILURES)
    driver = driver or PythonDriver(ClockedSandboxDriver(sandbox.advance, data_dir=sandbox.data_dir))
    with gateway_target_from(section, artifacts, driver) as target:
        yield target


@pytest.fixture
def conform_artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture(scope="module")
def kit_run(
    tdc_tls: SandboxTls, tdc_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxFacade, GatewayTarget]]:
    """The sandbox and the kit's counterparts in front of it, shared by this worker's scenarios."""
    folder = tmp_path_factory.mktemp("kit-run")
    runner = SimulatorThread(gateway_settings(folder / "data"), tdc_tls, ManualClock())
    runner.start()
    sandbox = SandboxFacade(runner)
    sandbox.write_sandbox_json()  # the sandbox driver finds the admin API through it
    try:
        with target_for(sandbox, section_for(sandbox, tdc_ca, folder), folder / "artifacts") as target:
            yield sandbox, target
    finally:
        sandbox.remove_sandbox_json()
        runner.stop()
    unexpected = [str(line) for line in sandbox.unexpected_warnings()]
    unexpected += [f"not in the gateway's form: {line}" for line in sandbox.malformed_log_lines()]
    if unexpected:
        pytest.fail("unexpected mail-log lines:\n" + "\n".join(unexpected))


@pytest.fixture
def gateway_target(
    kit_run: tuple[SandboxFacade, GatewayTarget], request: pytest.FixtureRequest,
) -> GatewayTarget:
    """The shared target; a failing scenario's report shows the shared sandbox's mail log and records."""
    sandbox, target = kit_run
    request.node.stash[SANDBOX_KEY] = sandbox
    return target


# --- the feature covers the rules --------------------------------------------------------------

BRIEF_RULES = (
    "2.1-incoming-copied", "2.1-outgoing-not-copied", "2.4-dropped-not-copied", "2.4-quarantined-not-copied",
    "2.5-one-copy-per-splinter", "4.1-starttls-required", "4.1-tls12-minimum", "4.3-ten-per-connection",
    "4.4-retried-after-4xx", "4.4-retried-after-tls-fault", "4.5-no-bounce-to-sender",
    "1-disabled-connector-sends-nothing", "1-intake-address-followed", "4.2-tls-error-logged",
)


def test_the_feature_has_a_scenario_for_every_rule_and_every_journal_check() -> None:
    rules = kit_rules("gateway")
    journal = {f"3-{rule.replace('.', '-')}": description for rule, description in RULES.items()}
    assert set(rules) == {*BRIEF_RULES, *journal, "3-rfc822-byte-identical"}
    assert all(rules[rule] == description for rule, description in journal.items())


def test_the_kits_steps_are_no_plugin_of_this_session(pytestconfig: pytest.Config) -> None:
    """Only the modules binding the kit's features see its steps (see the module's docstring)."""
    for steps in ("simulator.conformance.gateway.steps", "simulator.conformance.endpoint.steps"):
        assert not pytestconfig.pluginmanager.has_plugin(steps)


# --- the section ------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "problem"), [
    ({"colour": "blue"}, "Extra inputs are not permitted"),
    ({"incoming": "gateway.example"}, "HOST:PORT"),
    ({"recipients": []}, "at least 1 item"),
    ({"recipients": ["not an address"]}, "not an email address"),
    ({"split_recipients": [ALICE]}, "exactly two recipients"),
    ({"ca_cert": "ca.pem"}, "ca_cert and ca_key together"),
    ({"driver": {}}, "either python (module:Class) or url"),
    ({"driver": {"python": "module.Class"}}, "module:Class"),
    ({"threat_defense": {"listen": "127.0.0.1"}}, "HOST:PORT"),
    ({"waits": {"arrival": 0}}, "greater than 0"),
])
def test_the_section_refuses_what_it_cannot_use(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        GatewaySection.model_validate({"incoming": "127.0.0.1:25", "recipients": [ALICE], **changes})


def test_a_sample_is_the_industry_test_string_it_names_or_the_text_given() -> None:
    assert sample_text("eicar") == EICAR.decode() and sample_text("spam words") == "spam words"


# --- the driver protocol ----------------------------------------------------------------------

class HalfDriver:
    """Has two hooks; one of them raises."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def read_log_lines(self) -> list[str]:
        return self.lines

    def disable_connector(self) -> None:
        raise RuntimeError("the appliance said no")


def test_a_python_driver_hook_is_found_by_name_missing_or_raising() -> None:
    driver = PythonDriver(HalfDriver(["a line"]))
    assert driver.call("read_log_lines") == ["a line"]
    with pytest.raises(HookMissing) as missing:
        driver.call("enable_connector")
    assert missing.value.hook == "enable_connector"
    with pytest.raises(DriverError, match="'disable_connector' raised RuntimeError: the appliance said no"):
        driver.call("disable_connector")


def test_a_python_driver_is_loaded_from_a_file_with_its_options(tmp_path: Path) -> None:
    (tmp_path / "vendor_driver.py").write_text(
        "class Appliance:\n"
        "    def __init__(self, host):\n        self.host = host\n"
        "    def read_log_lines(self):\n        return [self.host]\n", encoding="utf-8")
    section = DriverSection(python="vendor_driver:Appliance", path=tmp_path / "vendor_driver.py",
                            options={"host": "esa.example"})
    assert load_driver(section).call("read_log_lines") == ["esa.example"]
    with pytest.raises(DriverError, match="'__init__' raised TypeError"):
        load_driver(DriverSection(python="vendor_driver:Appliance", path=tmp_path / "vendor_driver.py"))
    assert isinstance(load_driver(None), NoDriver)


class HttpBridge(http.server.BaseHTTPRequestHandler):
    """An HTTP driver: `POST /<hook>` calls the hook of `driver` with the body's values."""

    driver: object = None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        hook = getattr(self.driver, self.path.strip("/"), None)
        try:
            status, answer = (404, None) if hook is None else (200, hook(*body.values()))
        except Exception as error:
            status, answer = 500, {"message": str(error)}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def http_driver(driver: object) -> Iterator[str]:
    """An HTTP driver serving `driver`'s hooks; its base URL."""
    handler = type("Bridge", (HttpBridge,), {"driver": driver})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, longer than this server's life
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_driver_answers_404_for_a_missing_hook_and_an_error_for_a_raising_one(tmp_path: Path) -> None:
    with http_driver(HalfDriver(["one", "two"])) as url:
        driver = HttpDriver(url)
        section = GatewaySection(incoming="127.0.0.1:25", recipients=[ALICE])
        with gateway_target_from(section, tmp_path, driver) as target:  # no prepare: routes set by hand
            check = GatewayCheck(target)
            check.let_retries_run()  # none: the kit will wait for the gateway's own retries
            assert check.retrying and check.timeout == section.waits.retry
        assert driver.call("read_log_lines") == ["one", "two"]
        with pytest.raises(HookMissing):
            driver.call("set_intake_address", "someone@intake.example")
        assert not driver.has("set_intake_address")
        with pytest.raises(DriverError, match="'disable_connector' raised RuntimeError: HTTP 500"):
            driver.call("disable_connector")
    with pytest.raises(DriverError, match="'enable_connector' raised"):
        driver.call("enable_connector")  # nothing listens there any more


class FinishingDriver:
    """A Python driver with `prepare` and `finish`: does the kit's mailbox host still listen at the end?"""

    def __init__(self, fails: bool = False) -> None:
        self.fails, self.mailbox = fails, ("", 0)
        self.finishes: list[bool] = []

    def prepare(self, counterparts: dict[str, Any]) -> None:
        self.mailbox = (str(counterparts["mailbox"]["host"]), int(counterparts["mailbox"]["port"]))

    def finish(self) -> None:
        with contextlib.suppress(OSError), smtplib.SMTP(*self.mailbox, timeout=5) as client:
            self.finishes.append(client.noop()[0] == 250)  # and QUIT: the session ends cleanly
        if self.fails:
            raise RuntimeError("the held samples could not be released")


@pytest.mark.parametrize("fails", [False, True])
def test_finish_is_called_once_at_the_end_before_the_counterparts_stop(fails: bool, tmp_path: Path) -> None:
    """The Python form; a raising `finish` is kept as the run's problem, never raised into a check."""
    section = GatewaySection(incoming="127.0.0.1:25", recipients=[ALICE])
    vendor = FinishingDriver(fails)
    with gateway_target_from(section, tmp_path / "artifacts", PythonDriver(vendor)) as target:
        assert vendor.finishes == []  # not while the checks run
    assert vendor.finishes == [True]  # once, the counterparts still up
    with pytest.raises(OSError):
        socket.create_connection(vendor.mailbox, timeout=5).close()  # and stopped after it
    assert target.problems == (["driver hook 'finish' raised RuntimeError: the held samples could not be "
                                "released"] if fails else [])
    with gateway_target_from(section, tmp_path / "again", PythonDriver(HalfDriver([]))) as target:
        pass
    assert target.problems == []  # no finish hook: nothing to report


@contextlib.contextmanager
def eleven_copies_after_an_outage(
    start: Callable[[SandboxSettings], SandboxFacade], tdc_ca: trustme.CA, tmp_path: Path,
    per_connection: int,
) -> Iterator[GatewayCheck]:
    """A sandbox sending at most `per_connection` copies a connection, 11 messages injected while the
    kit's Threat Defense is down, then its recovery and the retries: the check, to judge 4.3 on."""
    settings = SandboxSettings(data_dir=tmp_path / "data", inbound_port=0, relay_port=0,
                               threat_defense_port=0, mailbox_port=0,
                               gateway=GatewayConfig(messages_per_connection=per_connection))
    sandbox = start(settings)
    with target_for(sandbox, section_for(sandbox, tdc_ca, tmp_path), tmp_path / "artifacts") as target:
        check = GatewayCheck(target)
        check.td_faults("down")
        judge.inject_plain(check, "incoming", 11)
        check.let_retries_run()
        check.td_faults()
        check.let_retries_run()
        yield check


def test_the_ten_rule_says_when_its_limit_was_not_exercised(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_ca: trustme.CA, tmp_path: Path,
) -> None:
    """One connection per copy cannot break "at most 10": it passes, saying the limit was not tested."""
    with eleven_copies_after_an_outage(tdc_start_sandbox, tdc_ca, tmp_path, 1) as check:
        judge.exactly_one_copy(check, check.mails)
        judge.at_most_ten_per_connection(check)
    (note,) = check.notes
    assert re.search(r"the busiest of the \d+ connection\(s\) to the kit's Threat Defense carried 1 "
                     r"message\(s\): the limit was not exercised", note), note


# --- not run, never passed --------------------------------------------------------------------
# --- not run, never passed --------------------------------------------------------------------

def test_a_check_without_its_hook_or_its_setting_is_not_run(tmp_path: Path) -> None:
    section = GatewaySection(incoming="127.0.0.1:25", recipients=[ALICE])
    with gateway_target_from(section, tmp_path / "artifacts") as target:
        check = GatewayCheck(target)
        with pytest.raises(HookMissing, match="enable_connector"):
            judge.disable_connector(check)
        with pytest.raises(HookMissing, match="read_log_lines"):
            judge.read_log_baseline(check)
        with pytest.raises(ConfigMissing, match=r"gateway\.dropped_sample"):
            judge.inject_sample(check, "dropped_sample")
        with pytest.raises(ConfigMissing, match=r"gateway\.split_recipients"):
            judge.inject_split(check)
        with pytest.raises(ConfigMissing, match=r"gateway\.outgoing"):
            judge.inject_plain(check, "outgoing", 1)
    assert (tmp_path / "artifacts" / "ca.pem").is_file()  # a fresh CA, for the vendor to trust


# --- each check can fail, naming its rule -----------------------------------------------------

def test_a_copy_that_never_comes_fails_with_the_transcript(
    tdc_sandbox: SandboxFacade, tdc_ca: trustme.CA, tmp_path: Path,
) -> None:
    # Threat Defense is down: the arrival wait only bounds a copy that never comes
    section = section_for(tdc_sandbox, tdc_ca, tmp_path, waits={"arrival": 0.1, "quiet": 0, "retry": 0.1})
    with target_for(tdc_sandbox, section, tmp_path / "artifacts") as target:
        check = GatewayCheck(target)
        check.td_faults("down")
        judge.inject_plain(check, "incoming", 1)
        with pytest.raises(AssertionError) as failed:
            judge.exactly_one_copy(check, [check.it])
        with pytest.raises(AssertionError, match=r"wrapper.to \(To: is the intake address\) cannot hold"):
            judge.keeps_journal_rule(check, "wrapper.to")
        check.undo()
    assert "1 copy of" in str(failed.value) and "C: rcpt TO:<alice@example.com>" in str(failed.value)


def test_copies_for_a_message_whose_recipients_share_a_policy_fail_the_splinter_rule(
    tdc_sandbox: SandboxFacade, tdc_ca: trustme.CA, tmp_path: Path,
) -> None:
    section = section_for(tdc_sandbox, tdc_ca, tmp_path, split_recipients=[ALICE, CAROL])
    with target_for(tdc_sandbox, section, tmp_path / "artifacts") as target:
        check = GatewayCheck(target)
        judge.inject_split(check)
        with pytest.raises(AssertionError, match=r"one copy per splinter.*§2.5"):
            judge.one_copy_per_splinter(check)


def test_a_gateway_sending_eleven_on_one_connection_fails_the_ten_rule(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_ca: trustme.CA, tmp_path: Path,
) -> None:
    with (eleven_copies_after_an_outage(tdc_start_sandbox, tdc_ca, tmp_path, 20) as check,
          pytest.raises(AssertionError, match=r"an 11th message on one connection .* §4.3")):
        judge.at_most_ten_per_connection(check)


def test_a_copy_to_another_intake_address_fails_the_intake_rule(
    tdc_sandbox: SandboxFacade, tdc_ca: trustme.CA, tmp_path: Path,
) -> None:
    section = section_for(tdc_sandbox, tdc_ca, tmp_path)
    with target_for(tdc_sandbox, section, tmp_path / "artifacts") as target:
        check = GatewayCheck(target)
        judge.inject_plain(check, "incoming", 1)  # the driver leaves the intake address as it was
        with pytest.raises(AssertionError, match="not to the intake address the gateway was set to"):
            judge.exactly_one_copy(check, [check.it], second_intake=True)


# --- the sandbox's CA key ---------------------------------------------------------------------

def test_the_sandbox_writes_its_ca_key_for_the_owner_only(
    tdc_sandbox: SandboxFacade, tdc_ca: trustme.CA,
) -> None:
    key = tdc_sandbox.data_dir / "ca-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() == tdc_ca.private_key_pem.bytes()  # the key of the CA in ca.pem
    assert (tdc_sandbox.data_dir / "ca.pem").read_bytes() == tdc_ca.cert_pem.bytes()


# --- the sandbox driver ----------------------------------------------------------------------

def test_the_sandbox_driver_switches_the_connector_as_an_administrator_would(
    tdc_sandbox: SandboxFacade,
) -> None:
    driver = SandboxDriver(data_dir=tdc_sandbox.data_dir)
    assert PythonDriver(driver).has("let_retries_run")  # delivernow, through the admin API
    driver.disable_connector()
    assert not tdc_sandbox.config.connector.enabled
    driver.enable_connector()  # with the intake address the sandbox runs with
    assert tdc_sandbox.config.connector == ConnectorSettings(True, DEFAULT_INTAKE_ADDRESSES[0])
    commits = tdc_sandbox.admin_client().get("/commits")
    assert "conformance kit: connector enabled" in json.dumps(commits)
    assert driver.read_log_lines() == [str(line) for line in tdc_sandbox.mail_log.lines()][-10_000:]
    with pytest.raises(ValueError, match="needs data_dir"):
        SandboxDriver()


def test_the_sandbox_driver_finish_puts_back_what_prepare_changed(tdc_sandbox: SandboxFacade) -> None:
    client = tdc_sandbox.admin_client()
    driver = SandboxDriver(data_dir=tdc_sandbox.data_dir)
    driver.finish()  # not prepared: nothing to put back, nothing committed
    before = (client.get("/dns")["records"], client.get("/tdc")["machines"],
              len(client.get("/commits")["commits"]))
    driver.prepare({"threat_defense": {"host": "127.0.0.1", "port": 2603, "intake_domain": "intake.kit.test",
                                       "intake_address": "kit@intake.kit.test"},
                    "mailbox": {"host": "127.0.0.1", "port": 2602}})
    assert client.get("/tdc")["machines"][0]["intake_address"] == "kit@intake.kit.test"
    driver.disable_connector()
    driver.finish()
    assert client.get("/dns")["records"] == before[0] and client.get("/tdc")["machines"] == before[1]
    commits = client.get("/commits")["commits"]
    assert "finished: routes and connector as the kit found them" in commits[-1]["comment"]
    assert len(commits) == before[2] + 3
