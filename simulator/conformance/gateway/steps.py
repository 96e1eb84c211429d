"""The gateway direction's step definitions: thin, each a sentence of `features/gateway.feature`.

Design rule: a step only names what to do; `GatewayCheck` does it (injects, waits, switches faults
and driver states, builds the failure) and `judge.py` decides. Step texts speak of "the gateway
under test" and "the kit's Threat Defense / mailbox host", never colliding with the step library.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from simulator.conformance.gateway import judge
from simulator.conformance.gateway.check import GatewayCheck
from simulator.conformance.gateway.target import GatewayTarget
from simulator.conformance.outcomes import NOTE

#: The kit's Threat Defense faults (simulator/endpoints/faults.py) by the words of the feature.
TD_FAULTS = {
    "offers no STARTTLS": "no-starttls",
    "speaks TLS 1.1 at most": "tls1.1-only",
    "presents an untrusted certificate": "untrusted-cert",
    "is down": "down",
    "answers the next copy with 451": "fail-next:1",
    "refuses every copy with 554": "reply:MAIL=554",
}


@pytest.fixture
def gateway_check(
    gateway_target: GatewayTarget, conform_artifacts: Path, request: pytest.FixtureRequest,
) -> Iterator[GatewayCheck]:
    """This scenario's check; what it switched is put back after it, and what it saw is kept."""
    check = GatewayCheck(gateway_target, request.node.name)
    try:
        yield check
    finally:
        request.node.user_properties += [(NOTE, text) for text in check.notes]  # the collector's detail
        try:
            check.undo()
        finally:
            check.keep(conform_artifacts)


@given("the kit's Threat Defense behaves")
@when("the kit's Threat Defense behaves again")
def behaves(gateway_check: GatewayCheck) -> None:
    gateway_check.td_faults()


@given(parsers.re(r"the kit's Threat Defense (?P<fault>" + "|".join(TD_FAULTS).replace(".", r"\.") + ")"))
def td_fault(gateway_check: GatewayCheck, fault: str) -> None:
    gateway_check.td_faults(TD_FAULTS[fault])


@given("the gateway under test's connector is disabled")
def connector_disabled(gateway_check: GatewayCheck) -> None:
    judge.disable_connector(gateway_check)


@given("the gateway under test's intake address is the kit's second intake address")
def second_intake(gateway_check: GatewayCheck) -> None:
    judge.use_second_intake(gateway_check)


@given("the kit has read the gateway under test's mail log")
def log_read(gateway_check: GatewayCheck) -> None:
    judge.read_log_baseline(gateway_check)


@when(parsers.re(r"the kit injects (?:a message|(?P<count>\d+) messages) into the gateway under test's "
                 r"(?P<direction>incoming|outgoing) listener"))
def inject(gateway_check: GatewayCheck, direction: str, count: str | None) -> None:
    judge.inject_plain(gateway_check, direction, int(count or 1))


@when(parsers.re(r"the kit injects the sample the gateway under test (?P<verb>drops|quarantines)"))
def inject_sample(gateway_check: GatewayCheck, verb: str) -> None:
    judge.inject_sample(gateway_check, "dropped_sample" if verb == "drops" else "quarantined_sample")


@when("the kit injects a message for the two split recipients")
def inject_split(gateway_check: GatewayCheck) -> None:
    judge.inject_split(gateway_check)


@when("the gateway under test retries")
def retries(gateway_check: GatewayCheck) -> None:
    gateway_check.let_retries_run()


@then("the kit's mailbox host receives the original")
def original_delivered(gateway_check: GatewayCheck) -> None:
    gateway_check.wait_delivered(gateway_check.it)


@then("the kit's mailbox host receives nothing of it")
def nothing_delivered(gateway_check: GatewayCheck) -> None:
    judge.nothing_delivered(gateway_check)


@then("the kit's Threat Defense receives exactly one copy of it")
def one_copy(gateway_check: GatewayCheck) -> None:
    judge.exactly_one_copy(gateway_check, [gateway_check.it])


@then("the kit's Threat Defense receives exactly one copy of each")
def one_copy_each(gateway_check: GatewayCheck) -> None:
    judge.exactly_one_copy(gateway_check, gateway_check.mails)


@then("the kit's Threat Defense receives exactly one copy of it, at the second intake address")
def one_copy_second(gateway_check: GatewayCheck) -> None:
    judge.exactly_one_copy(gateway_check, [gateway_check.it], second_intake=True)


@then("the kit's Threat Defense receives no copy of it")
def no_copy(gateway_check: GatewayCheck) -> None:
    judge.no_copy(gateway_check)


@then("the kit's Threat Defense receives one copy per splinter, naming that splinter's recipient")
def one_per_splinter(gateway_check: GatewayCheck) -> None:
    judge.one_copy_per_splinter(gateway_check)


@then(parsers.parse('the copy keeps the journal rule "{rule}"'))
def keeps_rule(gateway_check: GatewayCheck, rule: str) -> None:
    judge.keeps_journal_rule(gateway_check, rule)


@then("the copy embeds the original byte for byte as the kit's mailbox host received it")
def byte_identical(gateway_check: GatewayCheck) -> None:
    judge.embeds_original_exactly(gateway_check)


@then("the gateway under test tries the kit's Threat Defense")
def tries(gateway_check: GatewayCheck) -> None:
    judge.tried(gateway_check)


@then("the gateway under test is refused by the kit's Threat Defense")
def refused(gateway_check: GatewayCheck) -> None:
    judge.refused(gateway_check)


@then(parsers.re(r"no copy of it reaches the kit's Threat Defense(?P<how> in plaintext| below TLS 1\.2|)"))
def no_copy_reaches(gateway_check: GatewayCheck, how: str) -> None:
    judge.nothing_reached(gateway_check, how.strip())


@then("every copy of it came over TLS 1.2 or better")
def over_good_tls(gateway_check: GatewayCheck) -> None:
    judge.over_good_tls(gateway_check)


@then("no connection to the kit's Threat Defense carried more than 10 messages")
def ten_per_connection(gateway_check: GatewayCheck) -> None:
    judge.at_most_ten_per_connection(gateway_check)


@then("no bounce reaches the original sender")
def no_bounce(gateway_check: GatewayCheck) -> None:
    judge.no_bounce_to_sender(gateway_check)


@then("the gateway under test's mail log gains the seed's TLS Error line")
def tls_error_logged(gateway_check: GatewayCheck) -> None:
    judge.tls_error_logged(gateway_check)
