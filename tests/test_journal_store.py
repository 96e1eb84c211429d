"""Threat Defense's store makes an intake address's folder when its first journal needs it, not once per
journal, and still stores a journal whose folder was removed while it ran: `<n>.eml` and `<n>.json`
as before; `<n>.json` byte for byte as `json.dumps(indent=2, sort_keys=True)` writes it; the
worker thread takes what queued while it was busy as one batch, answering each caller."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import threading
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.core.mail.body import InMemoryBody
from simulator.endpoints.common import Batches
from simulator.endpoints.kept import LARGEST_KEPT, StoredFile, kept_body
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


def test_a_stored_json_record_has_every_field_but_the_body(tmp_path: Path) -> None:
    def numbered_utf8(number: int) -> JournalRecord:
        return JournalRecord(number, INTAKE, "j\u00f6rg@esa1.test", (INTAKE, "b@x.test"), "TLSv1.3", "c",
                             3, 4, ("3.1", "3.4"), InMemoryBody(b"x" * 10), "Phishing", "192.0.2.1",
                             "quarantine", datetime(2022, 8, 17, 5, 52, 4, tzinfo=UTC))

    record = JournalStore(tmp_path).save_next(INTAKE, numbered_utf8)
    written = (tmp_path / INTAKE / "1.json").read_text(encoding="utf-8")
    summary = record.summary()
    assert written == json.dumps(summary, indent=2, sort_keys=True) + "\n"
    assert set(summary) == {each.name for each in fields(JournalRecord)} - {"body"} | {
        "broken_rules_described", "check", "size"}
    assert (summary["rcpt_tos"], summary["check"], summary["size"]) == ([INTAKE, "b@x.test"], "invalid", 10)
    assert summary["received_at"] == "2022-08-17T05:52:04+00:00"


def test_a_small_journal_keeps_its_body_and_a_large_one_is_read_from_its_file(tmp_path: Path) -> None:
    small, large = InMemoryBody(b"s" * LARGEST_KEPT), InMemoryBody(b"l" * (LARGEST_KEPT + 1))
    assert kept_body(small, tmp_path / "1.eml") is small and kept_body(large, None) is large
    (tmp_path / "2.eml").write_bytes(large.content)
    stored = kept_body(large, tmp_path / "2.eml")
    assert stored == StoredFile(tmp_path / "2.eml", LARGEST_KEPT + 1) and stored.read() == large.content


def test_batches_answer_every_caller_with_its_own_outcome_on_one_thread() -> None:
    batches: Batches[int] = Batches("batch-test")
    threads: set[str] = set()

    def square(number: int) -> int:
        threads.add(threading.current_thread().name)
        if number == 3:
            raise ValueError("three")
        return number * number

    async def run_all() -> list[int | BaseException]:
        calls = [batches.run(functools.partial(square, number)) for number in range(8)]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(run_all())
    assert [o if isinstance(o, int) else str(o) for o in outcomes] == [0, 1, 4, "three", 16, 25, 36, 49]
    assert len(threads) == 1 and threads.pop().startswith("batch-test")


def test_work_queued_while_the_worker_is_busy_is_one_batch_and_one_answer() -> None:
    batches: Batches[str] = Batches("batch-test")
    started, release, order = threading.Event(), threading.Event(), []

    def first() -> str:
        started.set()
        release.wait(10)
        order.append("first")
        return "first"

    def later(name: str) -> str:
        order.append(name)
        return name

    async def run_all() -> tuple[list[str], int]:
        loop, answers = asyncio.get_running_loop(), []
        real = loop.call_soon_threadsafe

        def counted(*args: Any, **kwargs: Any) -> Any:
            answers.append(args[0])
            return real(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign, assignment]
        busy = asyncio.ensure_future(batches.run(first))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        queued = [asyncio.ensure_future(batches.run(functools.partial(later, name))) for name in "abc"]
        gone = asyncio.ensure_future(batches.run(functools.partial(later, "gone")))
        await asyncio.sleep(0)  # every call queued behind the busy worker
        gone.cancel()
        release.set()
        results = await asyncio.gather(busy, *queued)
        return results, len([each for each in answers if getattr(each, "__name__", "") == "_settle"])

    results, settled = asyncio.run(run_all())
    assert results == ["first", "a", "b", "c"] and order == ["first", "a", "b", "c"]  # "gone" not run
    assert settled == 2  # the first call's batch, then the four queued behind it


def test_a_disk_that_takes_part_of_a_journal_and_then_nothing_leaves_no_file_and_gives_the_number_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that takes nothing (a full disk) is storage trouble, never a worker writing forever."""
    import os

    from simulator.endpoints import threat_defense

    class HalfThenFull:
        """The os module, whose write takes half of the first journal's bytes and then none."""

        def __init__(self) -> None:
            self.calls = 0

        def write(self, descriptor: int, data: bytes | memoryview) -> int:
            self.calls += 1
            return os.write(descriptor, bytes(data)[: len(data) // 2]) if self.calls == 1 else 0

        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

    store = JournalStore(tmp_path / "td")
    monkeypatch.setattr(threat_defense, "os", HalfThenFull())
    with pytest.raises(OSError, match="took none"):
        store.save_next(INTAKE, numbered)
    assert list((tmp_path / "td" / INTAKE).iterdir()) == []
    monkeypatch.undo()
    assert store.save_next(INTAKE, numbered).number == 1
