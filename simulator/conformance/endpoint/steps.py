"""The step definitions of `features/endpoint.feature`: thin and synchronous.

Design rule: a When step gathers evidence (a probe or the connector), prints its transcript and
keeps it among the run's artifacts; a Then step judges that evidence and nothing else, failing with
an `AssertionError` that quotes the transcript. Steps take the target from the `endpoint_target`
fixture and write to `conform_artifacts`; evidence passes between steps through target fixtures.
A check with nothing to judge raises `NothingToJudge` (not run), never passes. One module over 250
lines: the kit loads one step library per direction, and these steps share their evidence types.
"""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import given, parsers, then, when

from simulator.conformance.endpoint.connector import Delivery, JournalHistory, deliver
from simulator.conformance.endpoint.journals import journals_for
from simulator.conformance.endpoint.probes import (
    Evidence,
    greet,
    handshake_at,
    mail_before_starttls,
    unknown_recipient,
    verified_handshake,
)
from simulator.conformance.endpoint.target import EndpointTarget
from simulator.conformance.endpoint.transcript import failure
from simulator.conformance.outcomes import HookMissing


class NothingToJudge(HookMissing):
    """The endpoint gave the check nothing to judge (e.g. no 4xx answer at all): not run."""

    def __init__(self, why: str) -> None:
        Exception.__init__(self, f"not run: {why}")
        self.hook = "evidence"


def shown(evidence: Evidence, artifacts: Path) -> Evidence:
    """`evidence`, its transcript printed and kept among the check's artifacts."""
    evidence.transcript.show(artifacts)
    return evidence


def print_verdict(verdict: str) -> None:
    """Print what a passing check saw (the kit keeps it with the transcript)."""
    print(f"-- judged: {verdict}")


def _broken(evidence: Evidence, doing: str) -> None:
    assert not evidence.broken, failure(f"the kit could not {doing}: {evidence.broken}", evidence.transcript)


@given("the intake endpoint under test")
def endpoint_under_test(endpoint_target: EndpointTarget) -> None:
    trust = "the CA given" if endpoint_target.ca_pem else "the system trust store"
    print(f"-- endpoint under test {endpoint_target.address}, certificate verified for "
          f"{endpoint_target.server_name} against {trust}; intake address {endpoint_target.intake_address}, "
          f"unknown address {endpoint_target.unknown_address}")


# --- STARTTLS -------------------------------------------------------------------------------------


@when("the kit greets the endpoint under test with EHLO", target_fixture="endpoint_evidence")
def kit_greets(endpoint_target: EndpointTarget, conform_artifacts: Path) -> Evidence:
    return shown(greet(endpoint_target), conform_artifacts)


@then("the endpoint under test lists STARTTLS among its EHLO keywords")
def starttls_listed(endpoint_evidence: Evidence) -> None:
    _broken(endpoint_evidence, "get an answer to EHLO")
    keywords = endpoint_evidence.replies["EHLO"].keywords()
    assert "STARTTLS" in keywords, failure(
        f"STARTTLS is not among the EHLO keywords ({', '.join(sorted(keywords))})",
        endpoint_evidence.transcript)
    print_verdict("EHLO lists STARTTLS")


@when("the kit sends MAIL FROM to the endpoint under test before STARTTLS",
      target_fixture="endpoint_evidence")
def mail_in_plaintext(endpoint_target: EndpointTarget, conform_artifacts: Path) -> Evidence:
    return shown(mail_before_starttls(endpoint_target), conform_artifacts)


@then("the endpoint under test refuses that MAIL command with a 5xx answer")
def mail_refused(endpoint_evidence: Evidence) -> None:
    _broken(endpoint_evidence, "get an answer to MAIL in plaintext")
    reply = endpoint_evidence.replies["MAIL"]
    assert 500 <= reply.code < 600, failure(
        f"MAIL before STARTTLS was answered {reply.line}: it must be refused with a 5xx answer (530 5.7.0)",
        endpoint_evidence.transcript)
    print_verdict(f"MAIL before STARTTLS was refused: {reply.line}")


# --- TLS versions and the certificate ---------------------------------------------------------------


@when(parsers.parse("the kit starts TLS with the endpoint under test offering only TLS {version}"),
      target_fixture="endpoint_evidence")
def start_tls_at(endpoint_target: EndpointTarget, conform_artifacts: Path,
                 version: str) -> Evidence:
    return shown(handshake_at(endpoint_target, version), conform_artifacts)


@then(parsers.parse("the endpoint under test establishes no TLS {version} session"))
def no_session(endpoint_evidence: Evidence, version: str) -> None:
    _broken(endpoint_evidence, "reach STARTTLS")
    handshake = endpoint_evidence.handshake
    assert handshake is not None and not handshake.established, failure(
        f"a client offering only TLS {version} got a TLS session "
        f"({handshake.version if handshake else '?'}, {handshake.cipher if handshake else '?'}): "
        "TLS below 1.2 must be refused in the handshake", endpoint_evidence.transcript)
    print_verdict(f"no TLS {version} session: {handshake.error}")


@then(parsers.parse("the endpoint under test establishes a TLS {version} session and answers EHLO in it"))
def session_established(endpoint_evidence: Evidence, version: str) -> None:
    handshake = endpoint_evidence.handshake
    assert handshake is not None and handshake.established, failure(
        f"a client offering only TLS {version} got no TLS session: "
        f"{handshake.error if handshake else endpoint_evidence.broken}", endpoint_evidence.transcript)
    _broken(endpoint_evidence, f"say EHLO in the TLS {version} session")
    expected = "TLSv1" if version == "1.0" else f"TLSv{version}"
    assert handshake.version == expected, failure(
        f"the session is {handshake.version}, not TLS {version}", endpoint_evidence.transcript)
    print_verdict(f"a {handshake.version} session ({handshake.cipher}) answered EHLO")


@when("the kit starts TLS with the endpoint under test as the connector does, verifying the certificate",
      target_fixture="endpoint_evidence")
def start_tls_verified(endpoint_target: EndpointTarget, conform_artifacts: Path) -> Evidence:
    return shown(verified_handshake(endpoint_target), conform_artifacts)


@then("the endpoint under test presents a certificate the connector trusts for the endpoint's name")
def certificate_trusted(endpoint_evidence: Evidence, endpoint_target: EndpointTarget) -> None:
    _broken(endpoint_evidence, "reach STARTTLS")
    handshake = endpoint_evidence.handshake
    assert handshake is not None and handshake.established, failure(
        f"the connector does not accept the endpoint's TLS for {endpoint_target.server_name}: "
        f"{handshake.error if handshake else '?'}", endpoint_evidence.transcript)
    names = ", ".join(handshake.names)
    print_verdict(f"the certificate is trusted for {endpoint_target.server_name} ({names})")


# --- intake addresses -------------------------------------------------------------------------------


@when("the kit gives the endpoint under test an unknown intake address at RCPT, then its own",
      target_fixture="endpoint_evidence")
def unknown_then_own(endpoint_target: EndpointTarget, conform_artifacts: Path) -> Evidence:
    return shown(unknown_recipient(endpoint_target), conform_artifacts)


@then("the endpoint under test refuses the unknown intake address with a 5xx answer")
def unknown_refused(endpoint_evidence: Evidence, endpoint_target: EndpointTarget) -> None:
    reply = endpoint_evidence.replies.get("RCPT unknown")
    assert reply is not None, failure(f"the kit could not reach RCPT: {endpoint_evidence.broken}",
                                      endpoint_evidence.transcript)
    assert 500 <= reply.code < 600, failure(
        f"RCPT TO:<{endpoint_target.unknown_address}> was answered {reply.line}: an unknown intake address "
        "must be refused with a 5xx answer (550 5.1.1), or the connector retries it for days",
        endpoint_evidence.transcript)
    print_verdict(f"the unknown intake address was refused: {reply.line}")


@then("the endpoint under test accepts its own intake address in the same transaction")
def own_accepted(endpoint_evidence: Evidence, endpoint_target: EndpointTarget) -> None:
    reply = endpoint_evidence.replies.get("RCPT intake")
    assert reply is not None and reply.code == 250, failure(
        f"RCPT TO:<{endpoint_target.intake_address}> was answered {reply.line if reply else 'nothing'}: "
        "the endpoint must take its own intake address, so that the 5xx is about the unknown one",
        endpoint_evidence.transcript)
    print_verdict(f"its own intake address was accepted: {reply.line}")


# --- journals from the connector ----------------------------------------------------------------------


@when(parsers.re(r"the connector sends (?P<count>\d+) journals? (?:on one connection )?"
                 r"to the endpoint under test"), target_fixture="endpoint_delivery")
def connector_sends(endpoint_target: EndpointTarget, conform_artifacts: Path,
                    count: str) -> Delivery:
    journals = journals_for(endpoint_target.intake_address, int(count))
    delivery = deliver(endpoint_target, journals, f"the connector sends {count} journal(s) on one connection")
    delivery.transcript.lines += ["", "What became of each journal:", *delivery.summary().splitlines()]
    delivery.transcript.show(conform_artifacts)
    for journal in journals:
        (conform_artifacts / f"journal-{journal.number}.eml").write_bytes(journal.data)
    return delivery


def _delivery_failure(message: str, delivery: Delivery) -> str:
    return failure(message, delivery.transcript)


@then("the endpoint under test accepts every journal with a 250 answer")
def every_journal_accepted(endpoint_delivery: Delivery) -> None:
    lost = [history for history in endpoint_delivery.histories if not history.accepted]
    assert not lost, _delivery_failure(
        f"{len(lost)} of {len(endpoint_delivery.histories)} journal(s) were not accepted: "
        + "; ".join(history.answers[-1].text for history in lost if history.answers), endpoint_delivery)
    print_verdict(f"{len(endpoint_delivery.histories)} journal(s) accepted")


@then("the endpoint under test accepts the 11th journal on that connection or answers it with 421")
def eleventh_answered(endpoint_delivery: Delivery) -> None:
    eleventh = endpoint_delivery.histories[10].answers[0]
    assert eleventh.connection == 1 and eleventh.position == 11, _delivery_failure(
        f"the 11th journal could not be sent as the 11th transaction of the first connection "
        f"({eleventh.text}): the endpoint must take 10 journals on one connection", endpoint_delivery)
    assert eleventh.code in (250, 421), _delivery_failure(
        f"the 11th journal on one connection was answered {eleventh.text}: it must be accepted, "
        "or answered 421 (and the connection closed)", endpoint_delivery)
    print_verdict(f"the 11th journal on one connection was answered {eleventh.text}")


@then("the endpoint under test refuses no journal with a 5xx answer")
def no_permanent_refusal(endpoint_delivery: Delivery) -> None:
    refused = [history for history in endpoint_delivery.histories if history.refused]
    assert not refused, _delivery_failure(
        "journal(s) " + ", ".join(str(history.journal.number) for history in refused)
        + " were refused with a 5xx answer: the connector gives them up", endpoint_delivery)
    print_verdict("no journal was refused with a 5xx answer")


@then("every journal is accepted, at the latest when the connector sends it again on a new connection")
def none_lost(endpoint_delivery: Delivery) -> None:
    every_journal_accepted(endpoint_delivery)


def _accepted_after_4xx(history: JournalHistory) -> bool:
    first = next(index for index, answer in enumerate(history.answers) if answer.temporary)
    return any(answer.code == 250 for answer in history.answers[first + 1:])


@then("every journal the endpoint under test answered with a 4xx is accepted "
      "when the connector sends it again")
def temporary_is_temporary(endpoint_delivery: Delivery) -> None:
    assert endpoint_delivery.sessions, _delivery_failure(
        "the connector could not open a single session, so no 4xx could be judged: "
        + endpoint_delivery.histories[0].answers[-1].text, endpoint_delivery)
    temporary = [history for history in endpoint_delivery.histories
                 if any(answer.temporary for answer in history.answers)]
    if not temporary:
        raise NothingToJudge("the endpoint answered no 4xx during this check, so whether its 4xx answers "
                             "are temporary could not be judged")
    lost = [history for history in temporary if not _accepted_after_4xx(history)]
    assert not lost, _delivery_failure(
        "journal(s) " + ", ".join(str(history.journal.number) for history in lost)
        + " answered with a 4xx were not accepted when sent again: a 4xx answer must be temporary",
        endpoint_delivery)
    print_verdict(f"{len(temporary)} journal(s) answered with a 4xx; each was accepted when sent again")
