"""`delivernow` (AsyncOS: "reschedule messages in the delivery queue for immediate delivery"): what
waits for a retry, in every queue or in one, is tried at once, on every machine, without the clock
moving; each entry keeps its retry count, so the bounce profile's limits (BEHAVIOUR.md §4.4) still
hold. Through the gateway's queues, the admin API (`POST /delivernow`), `tdcsim delivernow` and the
conformance kit's sandbox driver."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.batches import CLOCK, ENTRY, LOCAL
from simulator.cli.main import main as tdcsim_main
from simulator.conformance.expected import kit_rules
from simulator.conformance.gateway.sandbox_driver import SandboxDriver
from simulator.core.config.values import DEFAULT_POLICY, GatewayConfig, MailPolicy, NextHop
from simulator.core.errors import DeliveryError, Refused, RetriesExhausted, TransientDeliveryError
from simulator.core.mail.lifecycle import MessageState
from simulator.core.mail.messages import TDC_QUEUE
from simulator.core.mail.retry import FIRST_RETRY, MAX_RETRIES
from simulator.core.mail.samples import MessageFactory
from simulator.gateway.delivery import Destination
from simulator.gateway.outbound import OutboundSession
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

NOW = CLOCK.now()
#: ENTRY after one failed attempt: waiting FIRST_RETRY for its retry.
WAITING = dataclasses.replace(ENTRY, schedule=ENTRY.schedule.after_failure(NOW), state=MessageState.DEFERRED)
#: ENTRY waiting after its last allowed retry: the next failure bounces it.
WORN = dataclasses.replace(WAITING, schedule=dataclasses.replace(WAITING.schedule, failures=MAX_RETRIES))


def deferred_copy(sandbox: SandboxFacade, messages: MessageFactory) -> int:
    """Send a message while Threat Defense is down: its copy waits in the.tdc.queue; the copy's MID."""
    sandbox.set_faults("threat_defense", "down")
    sandbox.send_accepted(messages.message())
    sandbox.settle()
    (copy,) = sandbox.queued(TDC_QUEUE)
    assert copy.state is MessageState.DEFERRED and copy.schedule.failures == 1
    return copy.mid


# --- the queue ----------------------------------------------------------------------------------------

def test_a_waiting_entry_becomes_due_with_its_retry_count_and_queued_time_kept() -> None:
    queue = Destination(LOCAL, NOW)
    fresh = dataclasses.replace(ENTRY, mid=4)  # due already: nothing to reschedule
    queue.entries = [WAITING, fresh]
    assert not WAITING.schedule.is_due(NOW + FIRST_RETRY / 2)
    assert queue.deliver_now(NOW + FIRST_RETRY / 2) == 1
    rescheduled, untouched = queue.entries
    assert rescheduled.schedule.is_due(NOW) and untouched == fresh
    assert (rescheduled.schedule.failures, rescheduled.schedule.queued_at) == (1, ENTRY.schedule.queued_at)
    assert rescheduled.state is MessageState.DEFERRED and rescheduled.key == WAITING.key
    assert queue.deliver_now(NOW) == 0, "what is due already is not rescheduled again"


def test_the_retry_limit_still_holds_after_delivernow() -> None:
    queue = Destination(LOCAL, NOW)
    queue.entries = [WORN]
    assert queue.deliver_now(NOW) == 1
    (rescheduled,) = queue.entries
    assert rescheduled.schedule.failures == MAX_RETRIES
    with pytest.raises(RetriesExhausted):
        rescheduled.schedule.after_failure(NOW)  # the next failure bounces it, as before


# --- the running gateway, through the admin API -------------------------------------------------------

def test_a_deferred_copy_is_delivered_after_delivernow_without_the_clock_moving(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mid = deferred_copy(tdc_sandbox, tdc_messages)
    before = tdc_sandbox.clock.now()
    tdc_sandbox.set_faults("threat_defense")
    answer = tdc_sandbox.admin_client().deliver_now()
    assert answer == {"message": "Rescheduled 1 message for immediate delivery.", "rescheduled": 1,
                      "machines": {"esa1": 1}}
    tdc_sandbox.settle()
    assert tdc_sandbox.clock.now() == before
    assert len(tdc_sandbox.journals()) == 1 and tdc_sandbox.queued(TDC_QUEUE) == []
    assert any(f"TDC: Message {mid} delivered to" in str(line) for line in tdc_sandbox.mail_log.lines())


def test_a_copy_that_fails_again_after_delivernow_keeps_counting_its_retries(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    deferred_copy(tdc_sandbox, tdc_messages)  # still down
    assert tdc_sandbox.admin_client().deliver_now(TDC_QUEUE)["rescheduled"] == 1
    tdc_sandbox.settle()
    (copy,) = tdc_sandbox.queued(TDC_QUEUE)
    assert copy.schedule.failures == 2, "the retry count goes on from where it was"
    assert tdc_sandbox.until_next_retry() == 2 * FIRST_RETRY, "and so does the backoff"
    assert journals_after_recovery(tdc_sandbox) == 1


def journals_after_recovery(sandbox: SandboxFacade) -> int:
    sandbox.set_faults("threat_defense")
    sandbox.admin_client().deliver_now()
    sandbox.settle()
    return len(sandbox.journals())


#: Threat Defense's delay of the held copy's MAIL reply: longer than any test, so the gateway's own
#: command timeout (`outbound.TIMEOUT_SECONDS`, 30 s) is the only bound; the test ends the hold itself.
HOLD = "delay:3600"


def test_a_copy_out_in_a_batch_at_delivernow_is_retried_at_once_if_its_attempt_fails(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    """The kit asks for a retry while a copy is out, and that attempt then fails: the copy must not
    then wait for its first retry. Threat Defense holds the copy's MAIL until the test takes it down,
    which ends the held connection: the attempt fails when the test says, never in a timing window.
    Still down, the retry at once is refused too, so the copy has failed twice with the clock still."""
    tdc_sandbox.set_faults("threat_defense", HOLD)
    before = tdc_sandbox.clock.now()
    tdc_sandbox.send_accepted(tdc_messages.message())
    (queued,) = tdc_sandbox.mail_log.wait_for(r"TDC: Message \d+ queued for delivery")
    mid = int(re.findall(r"Message (\d+)", queued.text)[0])
    tdc_sandbox.mail_log.wait_for(rf"Delivery start DCID \d+ MID {mid} to")  # its MAIL is held
    assert tdc_sandbox.admin_client().deliver_now(TDC_QUEUE)["rescheduled"] == 0, "out, not waiting"
    tdc_sandbox.set_faults("threat_defense", "down")  # ends the held connection: the attempt fails
    tdc_sandbox.settle()
    (copy,) = tdc_sandbox.queued(TDC_QUEUE)
    assert copy.schedule.failures == 2, "retried at once (refused: down), not after its first wait"
    assert tdc_sandbox.clock.now() == before
    assert journals_after_recovery(tdc_sandbox) == 1 and tdc_sandbox.clock.now() == before


def test_one_destination_only_and_its_name_in_any_case(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    tdc_sandbox.set_faults("mailbox", "down")
    deferred_copy(tdc_sandbox, tdc_messages)
    (original,) = tdc_sandbox.queued(LOCAL)
    tdc_sandbox.set_faults("threat_defense")
    tdc_sandbox.set_faults("mailbox")
    client = tdc_sandbox.admin_client()
    assert client.deliver_now(TDC_QUEUE)["rescheduled"] == 1
    tdc_sandbox.settle()
    assert len(tdc_sandbox.journals()) == 1 and tdc_sandbox.mailbox() == []
    assert tdc_sandbox.queued(LOCAL) == [original], "the other queue waits for its retry, untouched"
    assert client.deliver_now(LOCAL.upper())["rescheduled"] == 1
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox()) == 1 and tdc_sandbox.queued(LOCAL) == []


def test_nothing_waiting_is_zero_and_the_tdc_queue_is_always_known(tdc_sandbox: SandboxFacade) -> None:
    client = tdc_sandbox.admin_client()
    assert client.deliver_now(TDC_QUEUE)["message"] == "Rescheduled 0 messages for immediate delivery."
    assert client.call("POST", "/delivernow")["rescheduled"] == 0  # no body: every destination
    assert client.call("POST", "/delivernow", {"destination": ""})["rescheduled"] == 0


@pytest.mark.bad_input
@pytest.mark.parametrize(("body", "status", "named"), [
    ({"destination": "nowhere.test"}, 404, "no delivery queue for 'nowhere.test' on any machine"),
    ({"destination": 7}, 400, "'destination' must be a string"),
    ({"destination": "d" * 254}, 400, "destination: at most 253 characters"),
    (["the.tdc.queue"], 400, "the body must be a JSON object"),
])
def test_a_bad_destination_is_refused_naming_it(
    tdc_sandbox: SandboxFacade, body: object, status: int, named: str
) -> None:
    with pytest.raises(Refused) as refused:
        tdc_sandbox.admin_client().call("POST", "/delivernow", body)
    assert refused.value.status == status and named in str(refused.value)


@pytest.fixture
def two_machines(
    tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tdc_sandbox_settings: SandboxSettings
) -> SandboxFacade:
    return tdc_start_sandbox(dataclasses.replace(tdc_sandbox_settings, machines=2))


def test_every_machine_of_the_cluster_is_rescheduled(
    two_machines: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    two_machines.set_faults("threat_defense", "down")
    for machine in ("esa1", "esa2"):
        assert send(*two_machines.listener_address("inbound", machine), tdc_messages.message()).accepted
    two_machines.settle()
    two_machines.set_faults("threat_defense")
    answer = two_machines.admin_client().deliver_now(TDC_QUEUE)
    assert (answer["rescheduled"], answer["machines"]) == (2, {"esa1": 1, "esa2": 1})
    two_machines.settle()
    assert len(two_machines.journals()) == 2


def test_a_next_hop_that_closes_right_after_its_greeting_is_a_connection_failure_not_a_bug() -> None:
    """Found by the kit's run with delivernow (its counterparts stopping while a retry connected):
    the connection's address was read outside the connection's error handling."""
    async def greet_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 closing at once\r\n")
        await writer.drain()
        writer.close()

    async def attempt() -> DeliveryError:
        server = await asyncio.start_server(greet_and_close, "127.0.0.1", 0)
        hop = NextHop("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            with pytest.raises(DeliveryError) as failed:
                async with OutboundSession(hop, ssl.create_default_context(), True, "esa1.sandbox.test"):
                    pass
            return failed.value
        finally:
            server.close()

    failure = asyncio.run(attempt())
    assert isinstance(failure, TransientDeliveryError)
    assert (failure.detail, failure.enhanced) == ("Connection closed by remote host", "4.4.0")


# --- the command line ---------------------------------------------------------------------------------

def test_tdcsim_delivernow_prints_the_one_line_and_delivers(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    deferred_copy(tdc_sandbox, tdc_messages)
    tdc_sandbox.set_faults("threat_defense")
    run = tdc_sandbox.tdcsim("delivernow")
    assert (run.status, run.stdout, run.stderr) == (0, "Rescheduled 1 message for immediate delivery.\n", "")
    tdc_sandbox.settle()
    assert len(tdc_sandbox.journals()) == 1
    run = tdc_sandbox.tdcsim("delivernow", TDC_QUEUE)
    assert (run.status, run.stdout) == (0, "Rescheduled 0 messages for immediate delivery.\n")


@pytest.mark.bad_input
def test_tdcsim_delivernow_of_an_unknown_destination_exits_2_with_one_line(
    tdc_sandbox: SandboxFacade,
) -> None:
    run = tdc_sandbox.tdcsim("delivernow", "nowhere.test")
    assert run.status == 2 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("tdcsim: destination: no delivery queue for 'nowhere.test'"), line


@pytest.mark.bad_input
def test_tdcsim_delivernow_takes_one_destination_at_most(tdc_sandbox: SandboxFacade) -> None:
    run = tdc_sandbox.tdcsim("delivernow", TDC_QUEUE, LOCAL)
    assert run.status == 2 and len(run.stderr.splitlines()) == 1 and "unrecognized" in run.stderr


# --- the conformance kit's driver ---------------------------------------------------------------------

def test_the_sandbox_driver_lets_retries_run_through_delivernow(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    deferred_copy(tdc_sandbox, tdc_messages)
    tdc_sandbox.set_faults("threat_defense")
    before = tdc_sandbox.clock.now()
    SandboxDriver(data_dir=tdc_sandbox.data_dir).let_retries_run()
    tdc_sandbox.settle()
    assert len(tdc_sandbox.journals()) == 1 and tdc_sandbox.clock.now() == before


BOB = "bob@example.com"


@pytest.fixture
def bob_apart(tdc_start_sandbox: Callable[[SandboxSettings], SandboxFacade], tmp_path: Path) -> SandboxFacade:
    """Bob has an incoming policy of his own, so that the kit's split check has its two policies."""
    policies = (MailPolicy("BOB", recipients=(BOB,)), DEFAULT_POLICY)
    return tdc_start_sandbox(SandboxSettings(
        data_dir=tmp_path / "data", inbound_port=0, relay_port=0, threat_defense_port=0, mailbox_port=0,
        gateway=GatewayConfig(incoming_policies=policies)))


def test_tdcsim_conform_gateway_passes_the_sandbox_driver_on_a_clock_that_never_moves(
    bob_apart: SandboxFacade, tmp_path: Path
) -> None:
    """The kit as a vendor runs it (`tdcsim conform gateway`, its checks in the kit's own pytest
    subprocess, the Python driver built there from the configuration) with the plain `SandboxDriver`:
    the sandbox's manual clock never moves, so every retry the kit asks for is delivernow's. The
    suite's one whole gateway run against the sandbox (tests/test_conform_gateway.py binds each
    scenario in this process): every rule passes, and the bundle keeps each check's evidence."""
    bob_apart.expect_warning(r"TDC: Message \d+ (?:delivery failed|hard bounced)")
    data, start = bob_apart.data_dir, bob_apart.clock.now()
    inbound, relay = ("{}:{}".format(*bob_apart.listener_address(name)) for name in ("inbound", "relay"))
    (tmp_path / "conform.toml").write_text(f"""
[gateway]
incoming = "{inbound}"
outgoing = "{relay}"
recipients = ["alice@example.com", "carol@example.com"]
split_recipients = ["alice@example.com", "{BOB}"]
dropped_sample = "EICAR"
quarantined_sample = "GTUBE"
ca_cert = "{data / 'ca.pem'}"
ca_key = "{data / 'ca-key.pem'}"
waits = {{ arrival = 30, quiet = 0, retry = 30 }}

[gateway.driver]
python = "simulator.conformance.gateway.sandbox_driver:SandboxDriver"
options = {{ data_dir = "{data}" }}
""", encoding="utf-8")
    status = tdcsim_main(["conform", "gateway", "--config", str(tmp_path / "conform.toml"),
                          "--output", str(tmp_path / "bundle")])
    results = json.loads((tmp_path / "bundle" / "results.json").read_text(encoding="utf-8"))
    outcomes = {rule["rule"]: rule["outcome"] for rule in results["rules"]}
    assert outcomes == dict.fromkeys(kit_rules("gateway"), "passed"), results
    assert status == 0 and bob_apart.clock.now() == start
    # the eleven copies held back by the outage go at once after delivernow: 10 on one connection
    ten = {rule["rule"]: rule["detail"] for rule in results["rules"]}["4.3-ten-per-connection"]
    assert "to the kit's Threat Defense carried 10 message(s)" in ten, ten
    transcript = tmp_path / "bundle" / "artifacts" / "4.3-ten-per-connection" / "transcript.txt"
    assert "carried 10 message(s)" in transcript.read_text(encoding="utf-8")
