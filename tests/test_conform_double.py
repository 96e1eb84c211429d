"""The kit's gateway checks against a deliberately non-conforming gateway (fixtures/gateway_double.py):
the well-behaved double passes every rule, and each misbehaviour makes exactly the rules `BREAKS`
names fail -- judged by the real kit run (`tdcsim conform gateway`), read from its results.json
(its checks' pytest in this process, fixtures/kit_in_process.py: only the verdicts matter here).

Misbehaviours whose rules do not overlap share a run (four runs in all), so each assertion stays
exact; every run also shows the driver's `finish` called once, after the last check, while the kit's
counterparts still listen (and one whose `finish` raises: reported, no rule changed). The double
runs in this process behind the driver's HTTP form: its listeners and its driver bind port 0 here,
and the configuration names the ports they got. (A Python driver is built inside the kit's own
pytest subprocess, which would leave the double's listeners, which the configuration must name
before that, on ports chosen in advance.)
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from fixtures import gateway_double_journals as journals
from fixtures.gateway_double import BREAKS, NEEDS_HOOK, DoublePolicies, Misbehaviours
from fixtures.gateway_double_http import running_double
from fixtures.kit_in_process import kit_checks_in_process
from simulator.cli.main import main
from simulator.conformance.expected import kit_rules
from simulator.core.mail.journal import JournalSource
from simulator.core.mail.journal_check import KnownOriginal, check_journal

ALICE, BOB, CAROL = "alice@corp.double.test", "bob@corp.double.test", "carol@branch.double.test"
POLICIES = DoublePolicies(own_policy=(CAROL,))  # a message to Alice and Carol splits in two
#: The kit runs: misbehaviours in one run break disjoint sets of rules.
RUNS = {
    "well-behaved": Misbehaviours(),
    "copies-too-much": Misbehaviours(
        copy_per_recipient=True, copies_outgoing=True, copies_dropped=True, copies_quarantined=True,
        mangled_journal=True, bounces_to_sender=True, raising_hook="disable_connector",
        missing_hook="read_log_lines"),
    "transport-and-settings": Misbehaviours(
        copy_per_message=True, original_as_text=True, plaintext_fallback=True, accepts_tls11=True,
        eleven_per_connection=True, no_retry_after_4xx=True, no_retry_after_bad_certificate=True,
        ignores_disable=True, ignores_intake_address=True),
    "bcc-copy": Misbehaviours(bcc_copy=True, raising_hook="finish"),
}
#: Kit rules no misbehaviour can break alone, and why.
UNBREAKABLE = {
    "3-envelope-intake-address": "the kit's Threat Defense refuses any other RCPT TO (550, BEHAVIOUR.md "
                                 "§8.2): such a copy never arrives, and every check that needs one fails",
}
CONFIG = """\
[kit]
connect_timeout = 5.0
run_timeout = 300.0

[gateway]
incoming = "{incoming}"
outgoing = "{outgoing}"
recipients = ["{alice}", "{bob}"]
split_recipients = ["{alice}", "{carol}"]
dropped_sample = "{dropped}"
quarantined_sample = "{quarantined}"

[gateway.driver]
url = "{url}"

# The double sends before it answers 250: what it sends is there when the kit looks, so these waits
# only bound what never comes (a wrong double's missing copy, retry or log line).
[gateway.waits]
arrival = 0.25
quiet = 0.0
retry = 0.25
smtp = 10.0
"""


def flags_of(misbehaviours: Misbehaviours) -> list[str]:
    """The names of the flags set."""
    return [flag.name for flag in fields(misbehaviours) if getattr(misbehaviours, flag.name) is True]


def expected_outcomes(misbehaviours: Misbehaviours) -> dict[str, str]:
    """Each gateway rule's outcome for a double with `misbehaviours`, from `BREAKS` and `NEEDS_HOOK`."""
    outcomes = dict.fromkeys(kit_rules("gateway"), "passed")
    for flag in flags_of(misbehaviours):
        outcomes.update(dict.fromkeys(BREAKS[flag], "failed"))
    outcomes.update(dict.fromkeys(NEEDS_HOOK.get(misbehaviours.missing_hook, ()), "not-run"))
    outcomes.update(dict.fromkeys(NEEDS_HOOK.get(misbehaviours.raising_hook, ()), "error"))
    return outcomes


def kit_run(misbehaviours: Misbehaviours, folder: Path) -> tuple[int, dict[str, Any], list[str], list[bool]]:
    """`tdcsim conform gateway` against a double: the exit status, results.json, the double's log and
    its `finish` calls (each: did the kit's mailbox host still listen then?)."""
    with running_double(misbehaviours, POLICIES) as running, kit_checks_in_process():
        config = folder / "conform.toml"
        config.write_text(CONFIG.format(
            incoming=running.double.address("incoming"), outgoing=running.double.address("outgoing"),
            alice=ALICE, bob=BOB, carol=CAROL, dropped=POLICIES.dropped_sample,
            quarantined=POLICIES.quarantined_sample, url=running.url), encoding="utf-8")
        status = main(["conform", "gateway", "--config", str(config), "--output", str(folder / "bundle")])
        log, finishes = list(running.double.log_lines), list(running.double.finishes)
    results = json.loads((folder / "bundle" / "results.json").read_text(encoding="utf-8"))
    return status, results, log, finishes


def differences(results: list[dict[str, Any]], expected: dict[str, str], log: list[str]) -> str:
    """Each rule whose outcome is not the expected one, with the kit's detail; then the double's log."""
    lines = [f"{result['rule']}: {result['outcome']}, expected {expected.get(result['rule'])}\n"
             f"    {str(result.get('detail') or '')[:1500]}"
             for result in results if result["outcome"] != expected.get(result["rule"])]
    return "\n".join([*lines, "The double's mail log:", *log[-60:]])


@pytest.mark.parametrize("run", RUNS)
def test_the_kit_fails_exactly_the_rules_each_misbehaviour_breaks(run: str, tmp_path: Path) -> None:
    misbehaviours = RUNS[run]
    status, document, log, finishes = kit_run(misbehaviours, tmp_path)
    results = document["rules"]
    expected = expected_outcomes(misbehaviours)
    outcomes = {result["rule"]: result["outcome"] for result in results}
    assert outcomes == expected, differences(results, expected, log)
    assert status == (0 if run == "well-behaved" else 1)
    details = {result["rule"]: str(result.get("detail") or "") for result in results}
    for rule in NEEDS_HOOK.get(misbehaviours.raising_hook, ()):
        assert f"driver hook {misbehaviours.raising_hook!r} raised" in details[rule]
    for rule in NEEDS_HOOK.get(misbehaviours.missing_hook, ()):
        assert f"no {misbehaviours.missing_hook!r} hook" in details[rule]
    # `finish`: once, after the last check (the double took no mail after it), counterparts still up
    assert finishes == [True] and log[-1].endswith("the driver's finish: the run is over")
    if outcomes["4.3-ten-per-connection"] == "passed":  # what the busiest connection carried
        assert "to the kit's Threat Defense carried 10 message(s)" in details["4.3-ten-per-connection"]
    raised = ["driver hook 'finish' raised RuntimeError: HTTP 500 Internal Server Error"]
    assert document["problems"] == (raised if misbehaviours.raising_hook == "finish" else [])
    if run == "bcc-copy":  # what the kit knows of the original it injected, said in the failure
        assert "the kit injected the original from kit-sender@outside.kit.test" in details["3-wrapper-from"]
        assert "needs a Message-ID of its own" in details["3-wrapper-message-id"]
        assert "embeds no original (no message/rfc822 part) to compare with" in details["3-wrapper-subject"]


def test_the_runs_use_every_misbehaviour_and_keep_each_assertion_exact() -> None:
    """Every flag is in a run, and no two flags of one run break the same rule."""
    used = [flag for misbehaviours in RUNS.values() for flag in flags_of(misbehaviours)]
    assert sorted(used) == sorted(BREAKS)
    for misbehaviours in RUNS.values():
        broken = [rule for flag in flags_of(misbehaviours) for rule in BREAKS[flag]]
        for hook in (misbehaviours.raising_hook, misbehaviours.missing_hook):
            broken += NEEDS_HOOK.get(hook, ())
        assert len(broken) == len(set(broken)), misbehaviours


def test_every_gateway_rule_is_shown_failing_but_the_unbreakable() -> None:
    """The rules named are the kit's, and each one but `UNBREAKABLE`'s fails in some run."""
    rules = set(kit_rules("gateway"))
    named = {rule for broken in (*BREAKS.values(), *NEEDS_HOOK.values()) for rule in broken}
    assert named <= rules, named - rules
    shown = {rule for misbehaviours in RUNS.values()
             for rule, outcome in expected_outcomes(misbehaviours).items() if outcome != "passed"}
    assert rules - shown == set(UNBREAKABLE)


@pytest.mark.parametrize(("form", "flag"), [
    (journals.original_as_text, "original_as_text"), (journals.mangled, "mangled_journal"),
    (journals.bcc, "bcc_copy")])
def test_each_broken_journal_form_breaks_the_journal_rules_its_flag_names(form: Any, flag: str) -> None:
    """Checked without the kit: `journal_check`, knowing the original as the kit does, names exactly the
    3-* rules `BREAKS` gives the form."""
    delivered = (b"X-IronPort-RemoteIP: 192.0.2.7\r\nFrom: kit-sender@outside.kit.test\r\nSubject: hello\r\n"
                 b"Message-ID: <m1@corp.double.test>\r\n\r\nbody\r\n")
    source = JournalSource(7, "kit-sender@outside.kit.test", (ALICE,), "hello", "<m1@corp.double.test>",
                           delivered)
    intakes = ("kit-tenant@intake.test", "kit-second-tenant@intake.test")
    envelope = intakes if flag == "mangled_journal" else intakes[:1]  # the mangled copy goes to both
    mail_from = source.envelope_sender if flag == "bcc_copy" else journals.SYSTEM_ADDRESS
    known = KnownOriginal(source.envelope_sender, source.message_id)
    broken = check_journal(form(source, intakes[0], 8), mail_from, envelope, intakes, known)
    journal_rules = {f"3-{rule.replace('.', '-')}" for rule in broken}
    wanted = {rule for rule in BREAKS[flag] if rule.startswith("3-")} - {"3-rfc822-byte-identical"}
    assert journal_rules == wanted


def test_the_well_behaved_form_breaks_no_journal_rule() -> None:
    delivered = b"X-IronPort-RemoteIP: 192.0.2.7\r\nSubject: hello\r\nMessage-ID: <m1@x.test>\r\n\r\nbody\r\n"
    source = JournalSource(7, "kit-sender@outside.kit.test", (ALICE, BOB), "hello", "<m1@x.test>", delivered)
    journal = journals.well_behaved(source, "kit-tenant@intake.test", 8)
    assert check_journal(journal, journals.SYSTEM_ADDRESS, ["kit-tenant@intake.test"],
                         {"kit-tenant@intake.test"}) == []


def test_the_double_splits_by_policy_and_scans_for_its_samples() -> None:
    assert list(POLICIES.splinters((ALICE, CAROL.upper(), BOB))) == [(CAROL.upper(),), (ALICE, BOB)]
    assert POLICIES.fate(f"x {POLICIES.dropped_sample} y".encode()) == "drop"
    assert POLICIES.fate(POLICIES.quarantined_sample.encode()) == "quarantine"
    assert POLICIES.fate(b"hello") == "deliver"
