"""Scripted faults (BEHAVIOUR.md §8.7): the parser and plan, then each fault over real sockets."""

from __future__ import annotations

import dataclasses
import smtplib
import ssl
import time
import warnings
from collections.abc import Iterator

import pytest
import trustme

from simulator.core import replies
from simulator.core.clock import ManualClock
from simulator.core.mail.samples import MessageFactory
from simulator.endpoints.faults import FAULT_HELP, KIND_TABLE, VALID_KINDS, Fault, FaultPlan, parse_fault
from simulator.sandbox import SandboxSettings
from simulator.sandbox.single import Sandbox
from simulator.testing.harness import SandboxFacade
from simulator.testing.runner import SimulatorThread
from simulator.transport.tls import FaultTlsContexts, SandboxTls

# --- the parser -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "fault"), [
    ("no-starttls", Fault("no-starttls")),
    ("untrusted-cert", Fault("untrusted-cert")),
    ("wrong-host-cert", Fault("wrong-host-cert")),
    ("expired-cert", Fault("expired-cert")),
    ("tls1.1-only", Fault("tls1.1-only")),
    ("reply:RCPT=550", Fault("reply", command="RCPT", code=550)),
    ("reply:end=451", Fault("reply", command="END", code=451)),
    ("drop:CONNECT", Fault("drop", command="CONNECT")),
    ("drop:data", Fault("drop", command="DATA")),
    ("delay:1.5", Fault("delay", seconds=1.5)),
    ("delay:0", Fault("delay", seconds=0.0)),
    ("fail-next:2", Fault("fail-next", count=2)),
    (" DOWN ", Fault("down")),
])
def test_every_kind_parses(text: str, fault: Fault) -> None:
    assert parse_fault(text) == fault
    assert parse_fault(str(fault)) == fault, "str() gives the CLI syntax back"


def test_the_help_and_the_error_list_every_kind() -> None:
    kinds = ["no-starttls", "untrusted-cert", "wrong-host-cert", "expired-cert", "tls1.1-only",
             "reply:COMMAND=CODE", "drop:COMMAND", "delay:SECONDS", "fail-next:N", "down"]
    assert [syntax for syntax, _ in KIND_TABLE] == kinds
    for kind in kinds:
        assert kind in FAULT_HELP and kind in VALID_KINDS
    assert "up" not in [syntax for syntax, _ in KIND_TABLE], "`up` is an action, not a fault"


@pytest.mark.bad_input
@pytest.mark.parametrize("text", [
    "", "bogus", "bogus:1", "up", "down:1", "no-starttls:yes", "tls1.1-only:1.2",
    "reply", "reply:", "reply:RCPT", "reply:RCPT=", "reply:RCPT=abc", "reply:RCPT=250", "reply:RCPT=600",
    "reply:QUIT=550", "reply:CONNECT=550", "reply:=550",
    "drop", "drop:", "drop:QUIT", "drop:RCPT=550",
    "delay", "delay:", "delay:-1", "delay:abc", "delay:nan", "delay:inf",
    "fail-next", "fail-next:0", "fail-next:-1", "fail-next:1.5", "fail-next:x", "fail-next:²",
])
def test_bad_faults_name_the_valid_kinds(text: str) -> None:
    with pytest.raises(ValueError, match="valid kinds: no-starttls, ") as caught:
        parse_fault(text)
    message = str(caught.value)
    assert "\n" not in message and repr(text) in message
    assert message.endswith(VALID_KINDS)


@pytest.mark.bad_input
def test_a_fault_built_in_python_checks_itself() -> None:
    with pytest.raises(ValueError, match="COMMAND must be one of MAIL, RCPT, DATA, END"):
        Fault("reply", command="HELO", code=550)
    with pytest.raises(ValueError, match="unknown fault kind 'slow'"):
        Fault("slow")


def test_scripted_replies_say_they_are_faults() -> None:
    for code, command in [(421, "MAIL"), (550, "RCPT"), (554, "DATA"), (452, "END")]:
        reply = replies.scripted_fault(code, command)
        assert (reply.code, reply.enhanced) == (code, f"{str(code)[0]}.3.0")
        assert reply.text.startswith("Scripted fault") and command in reply.text
    assert replies.SCRIPTED_FAILURE.line.startswith("451 4.3.0 Scripted fault")


# --- the plan ---------------------------------------------------------------------------------------


def plan_of(*texts: str) -> FaultPlan:
    return FaultPlan(parse_fault(text) for text in texts)


def test_fail_next_counts_transactions_at_mail_then_accepts() -> None:
    plan = plan_of("fail-next:2")
    assert plan.take_reply("RCPT") is None and plan.take_reply("END") is None, "only MAIL counts"
    assert [plan.take_reply("MAIL") for _ in range(3)] == [
        replies.SCRIPTED_FAILURE, replies.SCRIPTED_FAILURE, None]
    plan.add(parse_fault("fail-next:1"))
    assert plan.take_reply("MAIL") == replies.SCRIPTED_FAILURE
    assert plan.take_reply("MAIL") is None
    plan.set(plan.faults)
    assert plan.failures_left == 3, "setting a plan starts its counts afresh"


def test_a_scripted_mail_reply_comes_before_fail_next() -> None:
    plan = plan_of("fail-next:1", "reply:MAIL=550")
    assert plan.take_reply("MAIL") == replies.scripted_fault(550, "MAIL")
    assert plan.failures_left == 1


def test_later_faults_override_earlier_ones_of_their_kind() -> None:
    plan = plan_of("expired-cert", "delay:1", "reply:RCPT=450", "no-starttls", "delay:2", "reply:RCPT=550")
    assert plan.tls_fault == "no-starttls"
    assert (plan.delay("MAIL"), plan.delay("RCPT"), plan.delay("END")) == (2.0, 2.0, 2.0)
    assert plan.delay("DATA") == 0.0 and plan.delay("CONNECT") == 0.0
    assert plan.take_reply("RCPT") == replies.scripted_fault(550, "RCPT")
    assert plan.take_reply("END") is None


def test_a_plan_answers_only_for_what_it_holds() -> None:
    plan = plan_of("drop:RCPT", "down")
    assert plan.down and plan.drops("RCPT") and not plan.drops("MAIL")
    assert plan.tls_fault is None
    plan.clear()
    assert plan.faults == () and not plan.down and not plan.drops("RCPT")


def test_bad_certificates_are_minted_once_per_endpoint(tdc_tls: SandboxTls) -> None:
    contexts = FaultTlsContexts(tdc_tls)
    assert contexts.context(None) is tdc_tls.server
    assert contexts.context("no-starttls") is None
    expired = contexts.context("expired-cert")
    assert expired is not None and expired is not tdc_tls.server
    assert contexts.context("expired-cert") is expired
    assert FaultTlsContexts(tdc_tls).context("expired-cert") is not expired, "nothing is shared"
    with pytest.raises(ValueError, match="not a TLS fault"):
        contexts.context("down")


# --- each fault at the Threat Defense endpoint, over real sockets -----------------------------------

SENDER = "tdc@gateway.test"


def apply(sandbox: SandboxFacade, *texts: str, endpoint: str = "threat_defense") -> None:
    faults = [parse_fault(text) for text in texts]
    sandbox._runner.call(sandbox.sandbox.apply_faults(endpoint, faults))


def td_address(sandbox: SandboxFacade) -> tuple[str, int]:
    server = sandbox.sandbox.threat_defense_server
    return server.host, server.port


def intake(sandbox: SandboxFacade) -> str:
    return sandbox.sandbox.settings.intake_addresses[0]


def line(reply: tuple[int, bytes]) -> str:
    return f"{reply[0]} {reply[1].decode()}"


@pytest.fixture
def td_client(tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext) -> Iterator[smtplib.SMTP]:
    """A client after STARTTLS and EHLO (a fault that bites earlier needs its own client)."""
    with smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client:
        client.starttls(context=tdc_client_tls)
        client.ehlo("gateway.test")
        yield client


def test_no_starttls_takes_it_out_of_ehlo(tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext) -> None:
    apply(tdc_sandbox, "no-starttls")
    with smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client:
        client.ehlo("gateway.test")
        assert not client.has_extn("starttls")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.starttls(context=tdc_client_tls)
    apply(tdc_sandbox)
    with smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client:
        client.ehlo("gateway.test")
        assert client.has_extn("starttls"), "cleared: the next connection is offered STARTTLS again"


@pytest.mark.parametrize(("kind", "reason"), [
    ("untrusted-cert", "unable to get local issuer certificate"),
    ("wrong-host-cert", "mismatch"),
    ("expired-cert", "certificate has expired"),
])
def test_a_bad_certificate_fails_verification(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, kind: str, reason: str
) -> None:
    apply(tdc_sandbox, kind)
    with (smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client,
          pytest.raises(ssl.SSLCertVerificationError) as caught):
        client.starttls(context=tdc_client_tls)
    assert reason in str(caught.value.verify_message)


def test_a_wrong_host_certificate_is_otherwise_from_the_trusted_ca(
    tdc_sandbox: SandboxFacade, tdc_ca: trustme.CA
) -> None:
    apply(tdc_sandbox, "wrong-host-cert")
    no_name_check = ssl.create_default_context()
    no_name_check.check_hostname = False
    tdc_ca.configure_trust(no_name_check)
    with smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client:
        assert client.starttls(context=no_name_check)[0] == 220


def test_tls_1_1_only_fails_a_tls_1_2_client_and_serves_a_1_1_one(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, tdc_ca: trustme.CA
) -> None:
    apply(tdc_sandbox, "tls1.1-only")
    with smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client, pytest.raises(ssl.SSLError):
        client.starttls(context=tdc_client_tls)
    old_client = ssl.create_default_context()
    tdc_ca.configure_trust(old_client)
    with warnings.catch_warnings():  # Python deprecates TLS 1.1: that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        old_client.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        old_client.maximum_version = ssl.TLSVersion.TLSv1_1
    old_client.set_ciphers("DEFAULT:@SECLEVEL=0")
    with smtplib.SMTP(*td_address(tdc_sandbox), timeout=10) as client:
        client.starttls(context=old_client)
        assert isinstance(client.sock, ssl.SSLSocket) and client.sock.version() == "TLSv1.1"


def send_until(client: smtplib.SMTP, command: str, to: str, data: bytes) -> tuple[int, bytes]:
    """Run a transaction up to `command` (MAIL, RCPT, DATA or END) and return its reply."""
    reply = client.mail(SENDER)
    if command != "MAIL":
        assert reply[0] == 250, reply
        reply = client.rcpt(to)
    if command in ("DATA", "END"):
        assert reply[0] == 250, reply
        reply = client.docmd("DATA") if command == "DATA" else client.data(data)
    return reply


@pytest.mark.parametrize(("command", "code"), [("MAIL", 451), ("RCPT", 550), ("DATA", 554), ("END", 452)])
def test_a_scripted_reply_at_each_command(
    tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP, tdc_messages: MessageFactory, command: str,
    code: int,
) -> None:
    apply(tdc_sandbox, f"reply:{command}={code}")
    reply = send_until(td_client, command, intake(tdc_sandbox), tdc_messages.message().data)
    assert line(reply) == replies.scripted_fault(code, command).line
    assert td_client.noop()[0] == 250, "the connection stays open"
    assert tdc_sandbox.journals() == []


def test_a_scripted_421_closes_the_connection(tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP) -> None:
    apply(tdc_sandbox, "reply:RCPT=421")
    assert td_client.mail(SENDER)[0] == 250
    assert line(td_client.rcpt(intake(tdc_sandbox))) == replies.scripted_fault(421, "RCPT").line
    with pytest.raises(smtplib.SMTPServerDisconnected):
        td_client.noop()


def test_drop_at_connect_sends_no_banner(tdc_sandbox: SandboxFacade) -> None:
    apply(tdc_sandbox, "drop:CONNECT")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        smtplib.SMTP(*td_address(tdc_sandbox), timeout=10)


@pytest.mark.parametrize("command", ["MAIL", "RCPT", "DATA", "END"])
def test_drop_at_each_command(
    tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP, tdc_messages: MessageFactory, command: str
) -> None:
    apply(tdc_sandbox, f"drop:{command}")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send_until(td_client, command, intake(tdc_sandbox), tdc_messages.message().data)
    assert tdc_sandbox.journals() == []


def test_delay_holds_back_the_replies_to_mail_rcpt_and_end(
    tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP, tdc_messages: MessageFactory
) -> None:
    apply(tdc_sandbox, "delay:0.1")  # an undelayed reply takes a millisecond or two
    elapsed = []
    for command in ("MAIL", "RCPT", "END"):
        start = time.monotonic()
        reply = {"MAIL": lambda: td_client.mail(SENDER), "RCPT": lambda: td_client.rcpt(intake(tdc_sandbox)),
                 "END": lambda: td_client.data(tdc_messages.message().data)}[command]()
        elapsed.append(time.monotonic() - start)
        assert reply[0] == 250
    assert all(seconds >= 0.1 for seconds in elapsed), elapsed  # a lower bound only: machines are slow
    assert len(tdc_sandbox.journals()) == 1


def test_fail_next_two_then_accept(
    tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP, tdc_messages: MessageFactory
) -> None:
    apply(tdc_sandbox, "fail-next:2")
    for _ in range(2):
        assert line(td_client.mail(SENDER)) == replies.SCRIPTED_FAILURE.line
        td_client.rset()
    td_client.sendmail(SENDER, [intake(tdc_sandbox)], tdc_messages.message().data)
    assert len(tdc_sandbox.journals()) == 1


def test_down_refuses_connections_then_up_listens_on_the_same_port(
    tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP
) -> None:
    address = td_address(tdc_sandbox)
    apply(tdc_sandbox, "down")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        td_client.noop()  # open connections are closed too
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(*address, timeout=10)
    assert td_address(tdc_sandbox) == address, "the port stays known for routes"
    apply(tdc_sandbox)  # up
    with smtplib.SMTP(*address, timeout=10) as client:
        assert client.ehlo("gateway.test")[0] == 250


@pytest.mark.bad_input
def test_only_the_two_endpoints_take_faults(tdc_sandbox: SandboxFacade) -> None:
    with pytest.raises(ValueError, match="threat_defense or mailbox"):
        apply(tdc_sandbox, "down", endpoint="gateway")


# --- the mailbox, settings, and isolation -----------------------------------------------------------


def test_a_mailbox_fault_leaves_threat_defense_alone(
    tdc_sandbox: SandboxFacade, td_client: smtplib.SMTP
) -> None:
    apply(tdc_sandbox, "reply:RCPT=550", endpoint="mailbox")
    mailbox = tdc_sandbox.sandbox.mailbox_server
    with smtplib.SMTP(mailbox.host, mailbox.port, timeout=10) as client:
        client.ehlo("gateway.test")
        assert line(client.mail("a@outside.test")) == replies.SENDER_OK.line
        assert line(client.rcpt("b@outside.test")) == replies.scripted_fault(550, "RCPT").line
    assert td_client.mail(SENDER)[0] == 250
    assert td_client.rcpt(intake(tdc_sandbox))[0] == 250


class TestFaultsFromSettings:
    """`SandboxSettings` faults are in force from the start; `down` binds its port first."""

    @pytest.fixture
    def tdc_sandbox_settings(self, tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
        return dataclasses.replace(tdc_sandbox_settings, threat_defense_faults=(parse_fault("down"),),
                                   mailbox_faults=(parse_fault("drop:CONNECT"),))

    def test_down_at_start(self, tdc_sandbox: SandboxFacade) -> None:
        host, port = td_address(tdc_sandbox)
        assert port != 0 and (tdc_sandbox.config.dns_zone[0].port == port)
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP(host, port, timeout=10)
        mailbox = tdc_sandbox.sandbox.mailbox_server
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtplib.SMTP(mailbox.host, mailbox.port, timeout=10)
        apply(tdc_sandbox)
        with smtplib.SMTP(host, port, timeout=10) as client:
            assert client.ehlo("gateway.test")[0] == 250
        described = tdc_sandbox.sandbox.describe()
        assert described["threat_defense"]["faults"] == [] and described["mailbox"]["faults"] == [
            "drop:CONNECT"]


def test_a_fault_stays_in_the_sandbox_that_set_it(tdc_sandbox: SandboxFacade, tdc_tls: SandboxTls) -> None:
    other = SimulatorThread(SandboxSettings(data_dir=None, inbound_port=0, relay_port=0,
                                            threat_defense_port=0, mailbox_port=0), tdc_tls, ManualClock())
    other.start()
    try:
        apply(tdc_sandbox, "drop:CONNECT")
        sandbox = other.sandbox
        assert isinstance(sandbox, Sandbox), "SimulatorThread builds the in-process sandbox by default"
        server = sandbox.threat_defense_server
        with smtplib.SMTP(server.host, server.port, timeout=10) as client:
            assert client.ehlo("gateway.test")[0] == 250
        assert sandbox.threat_defense_faults.faults == ()
    finally:
        other.stop()
