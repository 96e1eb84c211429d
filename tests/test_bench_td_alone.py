"""The `td_alone` bench phase's oracle: every journal Threat Defense stored is traced back to what
was sent by its Message-ID, so a lost or duplicated journal is counted (and the run refuses a ratio),
and the journals sent are valid §3 journals, so Threat Defense does all its work on each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run
from bench.corpus import Corpus
from bench.journals import Journals
from simulator.core.mail.journal_check import check_journal

INTAKE = "sandbox-tenant@intake.threatdefense.test"


@pytest.fixture(scope="module")
def journals() -> Journals:
    return Journals(Corpus.generate(5, 3, "example.com"), 6, INTAKE)


def store(folder: Path, number: int, data: bytes, check: str = "valid") -> None:
    """One journal as Threat Defense stores it: `<n>.eml` and its `<n>.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{number}.eml").write_bytes(data)
    (folder / f"{number}.json").write_text(json.dumps({"check": check}))


def test_the_journals_sent_are_valid_and_each_has_its_own_message_id(journals: Journals) -> None:
    for seq in range(journals.count):
        mail = journals.mail(seq)
        assert check_journal(mail.data, mail.mail_from, mail.rcpt_tos, (INTAKE,)) == []
        assert journals.corpus.sequences_in(mail.data) == {seq}


def test_every_journal_stored_once_is_a_clean_run(journals: Journals, tmp_path: Path) -> None:
    for seq in range(journals.count):
        store(tmp_path, seq + 1, journals.mail(seq).data)
    stored = journals.reconcile(tmp_path, journals.count, 0)
    assert stored.as_dict()["ok"] and stored.stored == journals.count


def test_lost_duplicated_foreign_and_invalid_journals_are_counted(journals: Journals, tmp_path: Path) -> None:
    for number, seq in enumerate([0, 1, 1, 2, 3], start=1):  # 1 twice; 4 and 5 never stored
        store(tmp_path, number, journals.mail(seq).data, check="invalid" if seq == 3 else "valid")
    store(tmp_path, 9, b"Subject: not of this run\r\n\r\n")
    stored = journals.reconcile(tmp_path, journals.count, 0)
    assert (stored.lost, stored.duplicated, stored.unmatched, stored.invalid) == (2, 1, 1, 1)
    assert not stored.as_dict()["ok"] and len(stored.problems) == 4


def test_a_run_that_lost_or_duplicated_journals_fails(journals: Journals) -> None:
    outcome = {"lost": 2, "duplicated": 1, "problems": ["2 of 6 lost (not stored)"], "ok": False}
    results = {"baseline": {"refused": 0}, "td_alone": {"ratio": None, "outcome": outcome}}
    assert run.judge(results) == ["td_alone: 2 of 6 lost (not stored)"]
    assert (results["lost"], results["duplicated"]) == (2, 1)


def test_the_profile_leaves_out_worker_threads_waiting_for_work() -> None:
    from bench.profile import summarise

    waiting = "<thread>;_bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:81)"
    working = "<loop>;run (x.py:1);write_file (simulator/gateway/stored.py:54)"
    idle = "<loop>;run (x.py:1);EpollSelector.select (selectors.py:468)"
    figures = summarise([f"{waiting} 90", f"{working} 8", f"{idle} 2"], top=5)
    assert (figures["samples"], figures["waiting_worker_samples"], figures["idle_share"]) == (10, 90, 0.2)
    assert figures["self"][0] == {"entry": "write_file (simulator/gateway/stored.py:54)", "samples": 8,
                                  "share": 0.8}


def test_the_profile_sums_the_parts_processes_and_leaves_out_multiprocessing_s_own() -> None:
    from bench.profile import summarise

    tree = 'process 1:"python -m simulator.cli sandbox";process 2:"python -c from x import main; main(3)";'
    part = f'{tree}process 3:"python -c from x import main; main(3)";<module> (simulator/sandbox/child.py:9)'
    esa1 = f"{part};write_file (simulator/gateway/stored.py:54)"
    threat_defense = f"{part};store (simulator/endpoints/threat_defense.py:7)"
    fork_server = f"{tree}main (multiprocessing/forkserver.py:1);EpollSelector.select (selectors.py:468)"
    figures = summarise([f"{esa1} 6", f"{threat_defense} 4", f"{fork_server} 50"], top=5)
    assert figures["samples"] == 10
    assert [row["entry"] for row in figures["self"]] == [
        "write_file (simulator/gateway/stored.py:54)", "store (simulator/endpoints/threat_defense.py:7)"]
    assert not any("process" in row["entry"] for row in figures["inclusive"])
