"""Threat Defense's store makes an intake address's folder when its first journal needs it, not once per
journal, and still stores a journal whose folder was removed while it ran: `<n>.eml` and `<n>.json`
as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from simulator.core.mail.body import InMemoryBody
from simulator.endpoints.threat_defense import JournalRecord, JournalStore

INTAKE = "sandbox-tenant@intake.threatdefense.test"


def numbered(number: int) -> JournalRecord:
    return JournalRecord(number, INTAKE, "tdc@esa1.test", (INTAKE,), "TLSv1.3", "c", 1, number, (),
                         InMemoryBody(f"Subject: journal {number}\r\n\r\nbody\r\n".encode()))


def test_only_the_first_journal_of_an_address_makes_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Path] = []
    mkdir = Path.mkdir

    def counted(path: Path, *args: object, **kwargs: object) -> None:
        made.append(path)
        mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", counted)
    store = JournalStore(tmp_path / "td")
    records = [store.save_next(INTAKE, numbered)]
    folder = tmp_path / "td" / INTAKE
    assert folder in made
    made.clear()
    records += [store.save_next(INTAKE, numbered) for _ in range(2)]
    assert made == []
    assert sorted(path.name for path in folder.iterdir()) == [
        "1.eml", "1.json", "2.eml", "2.json", "3.eml", "3.json"]
    for record in records:
        assert (folder / f"{record.number}.eml").read_bytes() == record.data
        assert json.loads((folder / f"{record.number}.json").read_text()) == json.loads(
            json.dumps(record.summary()))


def test_a_folder_removed_while_running_is_made_again(tmp_path: Path) -> None:
    store = JournalStore(tmp_path / "td")
    store.save_next(INTAKE, numbered)
    shutil.rmtree(tmp_path / "td")
    record = store.save_next(INTAKE, numbered)
    assert record.number == 2
    assert (tmp_path / "td" / INTAKE / "2.eml").read_bytes() == record.data
    assert (tmp_path / "td" / INTAKE / "2.json").exists()
    assert [r.number for r in store.records.snapshot()] == [1, 2]
