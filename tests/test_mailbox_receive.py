"""The mock mailbox's files are written off the event loop (`MailboxStore.receive`), and nothing
changes for the tests that look at them: exactly the bytes, in each recipient's `new/`, recorded;
a remediation that comes in while the original is being written still moves it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from simulator.core.clock import ManualClock
from simulator.endpoints.mailbox import MailboxStore, Remediation, folder_name

DATA = b"Message-ID: <m1@outside.test>\r\nSubject: hi\r\n\r\nhello\r\n"
BOB, CAROL = "bob@example.com", "carol@example.com"


def test_receive_stores_what_save_stores(tmp_path: Path) -> None:
    store = MailboxStore(tmp_path, ManualClock())
    deliveries = asyncio.run(store.receive([BOB, CAROL], "alice@outside.test", DATA))
    assert [d.recipient for d in deliveries] == [BOB, CAROL]
    for delivery in deliveries:
        assert delivery.path is not None and delivery.path.parent.name == "new"
        assert delivery.path.read_bytes() == DATA and delivery.data == DATA
    assert store.deliveries.snapshot() == deliveries and store.remediations.snapshot() == []


def test_without_a_root_receive_keeps_the_message_in_memory_only() -> None:
    store = MailboxStore(None, ManualClock())
    (delivery,) = asyncio.run(store.receive([BOB], "alice@outside.test", DATA))
    assert delivery.path is None and delivery.data == DATA


def test_a_remediation_that_comes_in_while_the_original_is_written_still_moves_it(tmp_path: Path) -> None:
    store = MailboxStore(tmp_path, ManualClock())
    write = store._files

    def written_then_remediated(
        recipients: Sequence[str], folders: Sequence[str], data: bytes
    ) -> list[Path | None]:
        paths = write(recipients, folders, data)
        store.remediate(BOB, "<m1@outside.test>", ".Junk")  # finds nothing recorded yet
        return paths

    store._files = written_then_remediated  # type: ignore[method-assign]
    (delivery,) = asyncio.run(store.receive([BOB], "alice@outside.test", DATA))
    assert delivery.path is not None and delivery.path.read_bytes() == DATA
    assert delivery.path.parent == tmp_path / folder_name(BOB) / ".Junk" / "new"
    assert list((tmp_path / folder_name(BOB) / "new").iterdir()) == []
    assert store.remediations.snapshot() == [Remediation(BOB, "<m1@outside.test>", ".Junk", delivery.path)]


def test_a_remediation_that_overtook_its_original_is_forgotten_once_the_original_arrived(
    tmp_path: Path,
) -> None:
    store = MailboxStore(tmp_path, ManualClock())
    store.remediate(BOB, "<m1@outside.test>", ".Trash")  # the copy overtook the original
    (delivery,) = asyncio.run(store.receive([BOB], "alice@outside.test", DATA))
    assert delivery.path is not None and delivery.path.parent.parent.name == ".Trash"
    assert store._pending == {}  # nothing kept per message once it is done
    inbox = tmp_path / folder_name(BOB)  # a Maildir++ folder lives in a Maildir: the inbox exists, empty
    assert [list((inbox / sub).iterdir()) for sub in ("tmp", "new", "cur")] == [[], [], []]
