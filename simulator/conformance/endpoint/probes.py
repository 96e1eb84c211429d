"""The protocol-level probes of the endpoint under test: each opens its own connection(s), does one
thing the rules of BEHAVIOUR.md §8 speak of, and returns the evidence with its transcript.

Design rule: a probe gathers, it does not judge (the steps do); a broken session is evidence too
(`Evidence.broken`). A 4xx answer to a probe's MAIL is temporary (§8.9): the probe tries again on a
new connection, up to the target's attempts, as the connector would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.conformance.endpoint.smtp_probe import (
    SYSTEM_ADDRESS,
    Handshake,
    ProbeBroken,
    ProbeClient,
    Reply,
)
from simulator.conformance.endpoint.target import EndpointTarget
from simulator.conformance.endpoint.tls_versions import any_version, one_version, require_offerable
from simulator.conformance.endpoint.transcript import Transcript


@dataclass
class Evidence:
    """What a probe saw: replies by name, the TLS handshake, and why it stopped early if it did."""

    transcript: Transcript
    replies: dict[str, Reply] = field(default_factory=dict)
    handshake: Handshake | None = None
    broken: str = ""


def _probe(title: str, steps: Callable[[ProbeClient, Evidence], None], target: EndpointTarget) -> Evidence:
    """Run `steps` on a new connection; a 4xx answer to MAIL is tried again on another one."""
    evidence = Evidence(Transcript(title))
    for attempt in range(1, target.attempts + 1):
        evidence.replies, evidence.handshake, evidence.broken = {}, None, ""
        try:
            with ProbeClient(target, evidence.transcript) as client:
                steps(client, evidence)
        except ProbeBroken as error:
            evidence.broken = str(error)
        mail = evidence.replies.get("MAIL")
        if mail is None or not 400 <= mail.code < 500 or attempt == target.attempts:
            return evidence
        evidence.transcript.note(f"{mail.code} is temporary: trying again on a new connection "
                                 f"in {target.retry_wait:g} s (attempt {attempt + 1} of {target.attempts})")
        time.sleep(target.retry_wait)
    return evidence  # pragma: no cover - the loop returns on its last attempt


def greet(target: EndpointTarget) -> Evidence:
    """Connect and say EHLO."""
    def steps(client: ProbeClient, evidence: Evidence) -> None:
        evidence.replies["EHLO"] = client.ehlo()

    return _probe("EHLO: does the endpoint offer STARTTLS?", steps, target)


def mail_before_starttls(target: EndpointTarget) -> Evidence:
    """EHLO, then MAIL FROM in plaintext."""
    def steps(client: ProbeClient, evidence: Evidence) -> None:
        client.ehlo()
        evidence.replies["MAIL"] = client.command(f"MAIL FROM:<{SYSTEM_ADDRESS}>")

    return _probe("MAIL before STARTTLS", steps, target)


def handshake_at(target: EndpointTarget, version: str) -> Evidence:
    """STARTTLS offering TLS `version` only, and EHLO again if a session was established."""
    require_offerable(version)

    def steps(client: ProbeClient, evidence: Evidence) -> None:
        client.ehlo()
        evidence.handshake = client.starttls(one_version(version))
        if evidence.handshake.established:
            evidence.replies["EHLO after TLS"] = client.ehlo()

    return _probe(f"STARTTLS offering TLS {version} only", steps, target)


def verified_handshake(target: EndpointTarget) -> Evidence:
    """STARTTLS as the connector does it: TLS 1.2 or better, the certificate verified by name."""
    def steps(client: ProbeClient, evidence: Evidence) -> None:
        client.ehlo()
        evidence.handshake = client.starttls(target.connector_context())

    trust = "the CA given" if target.ca_pem else "the system trust store"
    return _probe(f"STARTTLS verifying the certificate for {target.server_name} against {trust}",
                  steps, target)


def unknown_recipient(target: EndpointTarget) -> Evidence:
    """In TLS (any version, unverified), RCPT TO the unknown address, then the intake address."""
    def steps(client: ProbeClient, evidence: Evidence) -> None:
        if "STARTTLS" in client.ehlo().keywords():
            evidence.handshake = client.starttls(any_version())
            if not evidence.handshake.established:
                client.give_up(f"no TLS session: {evidence.handshake.error}")
            client.ehlo()
        evidence.replies["MAIL"] = mail = client.command(f"MAIL FROM:<{SYSTEM_ADDRESS}>")
        if mail.code != 250:
            client.give_up(f"MAIL answered {mail.line}: RCPT cannot be tried")
        evidence.replies["RCPT unknown"] = client.command(f"RCPT TO:<{target.unknown_address}>")
        evidence.replies["RCPT intake"] = client.command(f"RCPT TO:<{target.intake_address}>")
        client.command("RSET")

    return _probe(f"RCPT TO an unknown intake address ({target.unknown_address})", steps, target)
