"""Message tracking (BEHAVIOUR.md §7.3): one message's history in the seed's form, from the mail log."""

from __future__ import annotations

import dataclasses
import re
import smtplib
from datetime import UTC, datetime, timedelta

import pytest

from simulator.core.config.values import MailPolicy, NextHop, SmtpRoute
from simulator.core.errors import UnknownMessage
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.logformat import Level, LogLine, format_line
from simulator.core.reports.tracking import about, parse_line, render, stamp, track, track_text
from simulator.gateway.rolled import track_log
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

AT = datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC)
SEED_STAMP = "17 Aug 2022 05:52:04 (GMT +00:00)"
TD = "Cisco Secure Email Threat Defense"
INTAKE = "tenant@intake.threatdefense.test"


def history(texts: list[str], mid: int) -> list[str]:
    """The history read from text lines of mail.current and from LogLines in memory: both must agree."""
    from_memory = track([LogLine(AT, Level.INFO, text) for text in texts], mid)
    from_file = track_text([format_line(AT, Level.INFO, text) for text in texts], mid)
    assert from_memory == from_file
    return from_memory


def events(texts: list[str], mid: int) -> list[str]:
    """The history without its time stamps."""
    return [line.removeprefix(f"{SEED_STAMP} ") for line in history(texts, mid)]


def arrival(mid: int, icid: int, *recipients: str) -> list[str]:
    """The lines the listener and the pipeline write for an incoming message."""
    return [
        f"New SMTP ICID {icid} interface Incoming (192.0.2.7) address 192.0.2.7 reverse dns host unknown "
        "verified no",
        f"ICID {icid} ACCEPT SG UNKNOWNLIST match ALL SBRS None",
        f"Start MID {mid} ICID {icid}",
        f"MID {mid} ICID {icid} From: <sender@outside.test>",
        *(f"MID {mid} ICID {icid} RID {rid} To: <{address}>" for rid, address in enumerate(recipients)),
        f"MID {mid} Message-ID '<{mid}@outside.test>'",
        f"MID {mid} Subject 'Quarterly report'",
        f"MID {mid} ready 420 bytes from <sender@outside.test>",
    ]


def queued(mid: int, copy: int) -> list[str]:
    return [
        f"MID {mid} matched all recipients for per-recipient policy DEFAULT in the inbound table",
        f"MID {mid} using engine: CASE spam negative",
        f"MID {mid} antivirus negative",
        f"MID {mid} queued for delivery",
        f"TDC: Message {copy} created from message {mid} for {INTAKE}.",
        f"TDC: Message {copy} queued for delivery to {TD}.",
    ]


def delivered(dcid: int, mid: int, rids: str, response: str) -> list[str]:
    return [
        f"New SMTP DCID {dcid} interface 127.0.0.1 address 127.0.0.1 port 2525",
        f"DCID {dcid} TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384",
        f"Delivery start DCID {dcid} MID {mid} to RID {rids}",
        f"Message done DCID {dcid} MID {mid} to RID {rids}",
        f"MID {mid} RID {rids} Response {response!r}",
        f"Message finished MID {mid} done",
        f"DCID {dcid} close",
    ]


def arrived_events(mid: int, icid: int, recipient: str) -> list[str]:
    return [
        f"Start message {mid} on incoming connection (ICID {icid}).",
        f"Message {mid} enqueued on incoming connection (ICID {icid}) from sender@outside.test.",
        f"Message {mid} on incoming connection (ICID {icid}) added recipient ({recipient}).",
        f"Message {mid} Message-ID '<{mid}@outside.test>'.",
        f"Message {mid} Subject 'Quarterly report'.",
        f"Message {mid} ready 420 bytes from <sender@outside.test>.",
        f"Message {mid} matched all recipients for per-recipient policy DEFAULT in the inbound table.",
        f"Message {mid} using engine: CASE spam negative.",
        f"Message {mid} antivirus negative.",
        f"Message {mid} queued for delivery.",
    ]


def test_an_incoming_message_delivered_with_its_copy_delivered() -> None:
    log = [*arrival(1, 1, "alice@example.com"), *queued(1, 2), "ICID 1 close",
           *delivered(1, 1, "[0]", "2.0.0 Ok: delivered to mailbox"),
           *delivered(2, 2, "[0]", "2.0.0 Ok: journal 1 received")]
    log.insert(-2, f"TDC: Message 2 delivered to {TD}.")  # as the gateway orders it
    assert events(log, 1) == [
        *arrived_events(1, 1, "alice@example.com"),
        f"TDC: Message 2 created from message 1 for {INTAKE}.",
        f"TDC: Message 2 queued for delivery to {TD}.",
        "(DCID 1) Delivery started for message 1 to alice@example.com.",
        "(CID 1) Delivery details: Message 1 sent to alice@example.com",
        'Message 1 to alice@example.com received remote SMTP response "2.0.0 Ok: delivered to mailbox"',
        "Message 1 finished: done.",
        f"TDC: Message 2 delivered to {TD}.",
    ]
    assert events(log, 2) == [
        f"TDC: Message 2 created from message 1 for {INTAKE}.",
        f"TDC: Message 2 queued for delivery to {TD}.",
        f"(DCID 2) Delivery started for message 2 to {INTAKE}.",
        f"(CID 2) Delivery details: Message 2 sent to {INTAKE}",
        f'Message 2 to {INTAKE} received remote SMTP response "2.0.0 Ok: journal 1 received"',
        f"TDC: Message 2 delivered to {TD}.",
        "Message 2 finished: done.",
    ]


SEED = [
    f"{SEED_STAMP} Message 3 queued for delivery.",
    f"{SEED_STAMP} (DCID 0) Delivery started for message 3 to astra_victim@astra-cs.com.",
    f"{SEED_STAMP} (CID 0) Delivery details: Message 3 sent to astra_victim@astra-cs.com",
    f"{SEED_STAMP} Incoming connection (ICID 3) lost.",
    f'{SEED_STAMP} Message 3 to astra_victim@astra-cs.com received remote SMTP response "/dev/null"',
    f"{SEED_STAMP} TDC: Message 4 delivery failed to {TD}: TLS Error.",
]


def test_the_seed_example_word_for_word() -> None:
    # The seed's connection drops between "delivery details" and the response; a hand-built log
    # may put it there, though the gateway writes those two lines back to back.
    log = [*arrival(3, 3, "astra_victim@astra-cs.com"), *queued(3, 4),
           *delivered(0, 3, "[0]", "/dev/null")]
    log.insert(log.index("MID 3 RID [0] Response '/dev/null'"), "Incoming connection (ICID 3) lost.")
    log += ["New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 2526",
            "DCID 1 TLS failed: certificate verification failed",
            f"TDC: Message 4 delivery failed to {TD}: TLS Error.", "DCID 1 close"]
    tracked = history(log, 3)
    assert [line for line in tracked if line in SEED] == SEED
    assert tracked[tracked.index(SEED[0]):] == [
        SEED[0],
        f"{SEED_STAMP} TDC: Message 4 created from message 3 for {INTAKE}.",
        f"{SEED_STAMP} TDC: Message 4 queued for delivery to {TD}.",
        *SEED[1:5],
        f"{SEED_STAMP} Message 3 finished: done.",
        SEED[5],
    ]


def test_a_split_message_and_its_splinter_name_their_own_recipients() -> None:
    log = [*arrival(7, 5, "ceo@example.com", "bob@example.com", "cfo@example.com"),
           "MID 7 matched all recipients for per-recipient policy EXECUTIVES in the inbound table",
           "MID 7 queued for delivery",
           f"TDC: Message 8 created from message 7 for {INTAKE}.",
           "MID 7 was split creating MID 9 due to a per-recipient policy DEFAULT in the inbound table",
           "MID 9 matched all recipients for per-recipient policy DEFAULT in the inbound table",
           "MID 9 queued for delivery",
           f"TDC: Message 10 created from message 9 for {INTAKE}.",
           "Incoming connection (ICID 5) lost.",
           "Delivery start DCID 3 MID 7 to RID [0, 2]", "Delivery start DCID 4 MID 9 to RID [1]",
           "Message done DCID 4 MID 9 to RID [1]", f"TDC: Message 8 delivery failed to {TD}: TLS Error."]
    assert events(log, 9) == [
        "Message 7 was split creating MID 9 due to a per-recipient policy DEFAULT in the inbound table.",
        "Message 9 matched all recipients for per-recipient policy DEFAULT in the inbound table.",
        "Message 9 queued for delivery.",
        f"TDC: Message 10 created from message 9 for {INTAKE}.",
        "Incoming connection (ICID 5) lost.",
        "(DCID 4) Delivery started for message 9 to bob@example.com.",
        "(CID 4) Delivery details: Message 9 sent to bob@example.com",
    ]
    original = events(log, 7)
    assert original[-5:] == [
        "Message 7 was split creating MID 9 due to a per-recipient policy DEFAULT in the inbound table.",
        "Incoming connection (ICID 5) lost.",
        "(DCID 3) Delivery started for message 7 to ceo@example.com.",
        "(DCID 3) Delivery started for message 7 to cfo@example.com.",
        f"TDC: Message 8 delivery failed to {TD}: TLS Error.",
    ]
    assert not [line for line in original if "message 9" in line or "Message 10" in line]


def test_two_recipients_in_one_delivery_get_one_event_each() -> None:
    log = [*arrival(5, 2, "alice@example.com", "carol@example.com"), "MID 5 queued for delivery",
           *delivered(6, 5, "[0, 1]", "2.0.0 Ok")]
    assert events(log, 5)[-7:] == [
        "(DCID 6) Delivery started for message 5 to alice@example.com.",
        "(DCID 6) Delivery started for message 5 to carol@example.com.",
        "(CID 6) Delivery details: Message 5 sent to alice@example.com",
        "(CID 6) Delivery details: Message 5 sent to carol@example.com",
        'Message 5 to alice@example.com received remote SMTP response "2.0.0 Ok"',
        'Message 5 to carol@example.com received remote SMTP response "2.0.0 Ok"',
        "Message 5 finished: done.",
    ]


def test_mid_3_never_picks_up_mid_33_nor_text_that_says_mid_3() -> None:
    log = [*arrival(3, 3, "a@example.com"), *queued(3, 4), *arrival(33, 33, "b@example.com"),
           "MID 33 Subject 'Re: MID 3 and TDC: Message 4'", *queued(33, 34),
           "Incoming connection (ICID 33) lost.", *delivered(1, 33, "[0]", "MID 3 queued as MID 3"),
           f"TDC: Message 34 delivery failed to {TD}: TLS Error.",
           "Bounced: DCID 2 MID 33 to RID [0] - 5.1.1 - MID 3 unknown"]
    assert not [line for line in events(log, 3) if re.search(r"\b(33|34)\b", line)]
    assert "Incoming connection (ICID 33) lost." in events(log, 33)
    assert not [line for line in events(log, 33) if re.search(r"[Mm]essage 3\b", line)]


def test_delays_bounces_and_the_dsn_name_their_recipients() -> None:
    log = [*arrival(12, 7, "gone@example.com"), "MID 12 queued for delivery",
           "Delayed: DCID 1 MID 12 to RID [0] - 4.4.0 - Connection refused",
           "Bounced: DCID 2 MID 12 to RID [0] - 5.1.1 - User unknown.", "Message finished MID 12 done",
           "MID 13 was generated based on MID 12 by bounce profile 'Default'",
           "Delivery start DCID 3 MID 13 to RID [0]"]
    assert events(log, 12)[-4:] == [
        "(DCID 1) Delayed delivery of message 12 to gone@example.com: 4.4.0 - Connection refused.",
        "(DCID 2) Bounced delivery of message 12 to gone@example.com: 5.1.1 - User unknown.",
        "Message 12 finished: done.",
        "Message 13 was generated based on MID 12 by bounce profile 'Default'.",
    ]
    assert events(log, 13)[-1] == "(DCID 3) Delivery started for message 13 to sender@outside.test."


def test_the_vendors_delayed_and_bounced_forms_name_their_recipients() -> None:
    log = [*arrival(12, 7, "gone@example.com", "also@example.com"), "MID 12 queued for delivery",
           "Delayed: DCID 1 MID 12 to RID 1 - 4.0.0 - Unknown address error ('451', ['4.3.0 Try later']) []",
           "Bounced: DCID 2 MID 12 to RID 0 - 5.1.0 - Unknown address error "
           "('550', ['5.1.1 <gone@example.com>... User unknown']) []"]
    assert events(log, 12)[-2:] == [
        "(DCID 1) Delayed delivery of message 12 to also@example.com: 4.0.0 - Unknown address error "
        "('451', ['4.3.0 Try later']) [].",
        "(DCID 2) Bounced delivery of message 12 to gone@example.com: 5.1.0 - Unknown address error "
        "('550', ['5.1.1 <gone@example.com>... User unknown']) [].",
    ]


def test_an_unknown_mid_is_a_clear_error() -> None:
    log = [*arrival(4, 1, "a@example.com"), "MID 4 queued for delivery"]
    with pytest.raises(UnknownMessage, match=r"^no message 42$") as raised:
        history(log, 42)
    assert raised.value.mid == 42


def test_file_lines_read_back_and_stamps_are_the_seeds_form() -> None:
    line = parse_line("Sun Aug  7 05:02:04 2022 Warning: MID 3 queued for delivery\n")
    at = datetime(2022, 8, 7, 5, 2, 4, tzinfo=UTC)
    assert line == LogLine(at, Level.WARNING, "MID 3 queued for delivery")
    assert stamp(line.at) == "7 Aug 2022 05:02:04 (GMT +00:00)"
    assert parse_line("Sun Aug  7 05:02:04 2022 Inf") is None  # a torn last line
    assert parse_line("Sun Aug  7 05:02:04 2022 Chatter: MID 3") is None
    assert render(["a", "b"]) == "a\nb"


def test_a_real_sandbox_message_tracks_alike_from_memory_and_from_mail_current(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.message()
    outcome = send(*tdc_sandbox.listener_address("inbound"), mail)
    assert outcome.accepted and outcome.mid is not None
    tdc_sandbox.mail_log.wait_for(r"ICID \d+ close")
    tdc_sandbox.settle()
    tdc_sandbox.mail_log.wait_for(rf"TDC: Message \d+ delivered to {TD}\.")
    assert tdc_sandbox.mail_log.path is not None
    file_lines = tdc_sandbox.mail_log.path.read_text(encoding="utf-8").splitlines()
    tracked = track(tdc_sandbox.mail_log.lines(), outcome.mid)
    assert tracked == track_text(file_lines, outcome.mid)
    said = [re.sub(r"^\d{1,2} \w{3} \d{4} [\d:]{8} \(GMT \+00:00\) ", "", line) for line in tracked]
    mid, rcpt = outcome.mid, re.escape(mail.rcpt_tos[0])
    for form in (rf"Message {mid} queued for delivery\.",
                 rf"\(DCID \d+\) Delivery started for message {mid} to {rcpt}\.",
                 rf"\(CID \d+\) Delivery details: Message {mid} sent to {rcpt}",
                 rf'Message {mid} to {rcpt} received remote SMTP response "2\.0\.0 .*"',
                 rf"TDC: Message \d+ delivered to {TD}\."):
        assert [line for line in said if re.fullmatch(form, line)], form


def test_a_real_split_names_each_splinters_own_recipients(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    executives = MailPolicy("EXECUTIVES", recipients=("ceo@example.com",))
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(c, incoming_policies=(executives,
                                                                                *c.incoming_policies)))
    mail = tdc_messages.message(to=("bob@example.com", "ceo@example.com", "ann@example.com"))
    outcome = send(*tdc_sandbox.listener_address("inbound"), mail)
    assert outcome.accepted and outcome.mid is not None
    tdc_sandbox.settle()
    split = tdc_sandbox.mail_log.wait_for(rf"MID {outcome.mid} was split creating MID \d+")[0]
    splinter = int(split.text.split()[6])
    delivered_to = {
        mid: [line.rpartition(" to ")[2] for line in track(tdc_sandbox.mail_log.lines(), mid)
              if "Delivery started" in line]
        for mid in (outcome.mid, splinter)}
    assert delivered_to == {outcome.mid: ["bob@example.com.", "ann@example.com."],
                            splinter: ["ceo@example.com."]}


def test_only_the_lines_about_a_message_are_parsed_and_they_tell_the_same_history() -> None:
    texts = [text for mid in range(1, 60) for text in arrival(mid, mid, f"rcpt{mid}@example.com")]
    texts += ["MID 3 was split creating MID 70 due to a per-recipient policy SALES in the inbound table",
              "TDC: Message 71 created from message 70 for tenant@intake.threatdefense.test.",
              "TDC: Message 71 delivered to Cisco Secure Email Threat Defense.",
              "Incoming connection (ICID 3) lost."]
    at = datetime(2022, 8, 3, 5, 52, 4, tzinfo=UTC)  # the 3rd: a timestamp's numbers are no IDs
    lines = [format_line(at, Level.INFO, text) for text in texts]
    chosen = about(lines, 70)
    assert len(chosen) < len(lines) // 10
    assert chosen == [line for line in lines if re.search(r"\b(3|70|71)\b", line[24:])]
    everything = [LogLine(at, Level.INFO, text) for text in texts]
    for mid in (3, 70, 71, 30):
        assert track_text(lines, mid) == track(everything, mid)


def test_every_message_of_a_real_log_tracks_alike_from_memory_and_from_its_files(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    """Splits, copies, a DSN, a retry and a lost connection: the text search finds every line."""
    server = tdc_sandbox.sandbox.threat_defense_server
    bouncing = SmtpRoute("nobody.example.com", (NextHop(server.host, server.port),))
    executives = MailPolicy("EXECUTIVES", recipients=("ceo@example.com",))
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(
        c, incoming_policies=(executives, *c.incoming_policies), routes=(bouncing, *c.routes),
        local_domains=(*c.local_domains, "nobody.example.com")))
    tdc_sandbox.set_faults("mailbox", "fail-next:1")
    inbound = tdc_sandbox.listener_address("inbound")
    for to in (("bob@example.com", "ceo@example.com"), ("ghost@nobody.example.com",), ()):
        assert send(*inbound, tdc_messages.message(to=to)).accepted
    client = smtplib.SMTP(*inbound, timeout=10)
    client.ehlo("client.test")
    client.mail("alice@outside.test")
    client.rcpt("bob@example.com")
    client.close()  # no QUIT: a connection lost mid-transaction
    tdc_sandbox.mail_log.wait_for(r"Incoming connection \(ICID \d+\) lost\.")
    tdc_sandbox.advance(timedelta(minutes=2))
    memory, path = tdc_sandbox.mail_log.lines(), tdc_sandbox.mail_log.path
    assert path is not None
    mids = sorted({int(mid) for line in memory for mid in re.findall(r"\bMID (\d+)", line.text)})
    assert len(mids) >= 8
    for mid in mids:
        assert track_log(path, mid) == track(memory, mid), mid


def test_a_three_way_split_is_logged_before_any_splinter_is_processed_as_the_vendor_does(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    policies = (MailPolicy("EXECUTIVES", recipients=("ceo@example.com",)),
                MailPolicy("SALES", recipients=("amy@example.com",)))
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(c, incoming_policies=(*policies,
                                                                                *c.incoming_policies)))
    mail = tdc_messages.message(to=("bob@example.com", "ceo@example.com", "amy@example.com"))
    outcome = send(*tdc_sandbox.listener_address("inbound"), mail)
    assert outcome.accepted and outcome.mid is not None
    tdc_sandbox.settle()
    mid = outcome.mid
    texts = [line.text for line in tdc_sandbox.mail_log.lines()]
    splits = [i for i, text in enumerate(texts) if text.startswith(f"MID {mid} was split creating MID ")]
    splinters = [int(texts[i].split()[6]) for i in splits]
    assert len(splits) == 2
    arrival_forms = re.compile(rf"MID {mid} (?:ICID \d+ |Message-ID |Subject |ready |was split )")
    named = re.compile(rf"MID (?:{'|'.join(map(str, (mid, *splinters)))}) ")
    # per-splinter processing: the policy match, the engines' verdicts, queueing
    first_processing = min(i for i, text in enumerate(texts)
                           if named.match(text) and not arrival_forms.match(text))
    assert max(splits) < first_processing, texts
    events = [re.sub(r"^.*?\(GMT \+00:00\) ", "", e) for e in track(tdc_sandbox.mail_log.lines(), mid)]
    split_rows = [i for i, e in enumerate(events) if "was split creating" in e]
    matched = [i for i, e in enumerate(events) if "matched all recipients" in e or "queued for" in e]
    assert len(split_rows) == 2 and max(split_rows) < min(matched), events
