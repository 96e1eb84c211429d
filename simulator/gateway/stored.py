"""The one on-disk form of what the gateway keeps (spool units and their state): a JSON header
line, a newline, then the bytes it carries; and the file operations that keep such files whole.

Design rule: `pack` adds the format version, size and sha256 that `unpack` checks; whatever cannot
be read back raises `CorruptEntry` saying why, and is the caller's to move aside or report. A file
is written beside its final name and renamed (or linked) there, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from simulator.core.errors import CorruptEntry

FORMAT_VERSION = 1


def pack(header: dict[str, Any], body: bytes) -> bytes:
    """`header` and `body` as stored, with what `unpack` needs to check them."""
    checked = {"v": FORMAT_VERSION, **header, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    return json.dumps(checked, separators=(",", ":")).encode() + b"\n" + body


def unpack(stored: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and body `pack` stored; raises `CorruptEntry` if they are not whole."""
    head, newline, body = stored.partition(b"\n")
    try:
        header: dict[str, Any] = json.loads(head)
        if not newline or not isinstance(header, dict) or header.get("v") != FORMAT_VERSION:
            raise CorruptEntry("unknown format")
        if len(body) != header["size"] or hashlib.sha256(body).hexdigest() != header["sha256"]:
            raise CorruptEntry(f"message bytes damaged ({len(body)} of {header['size']} bytes)")
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptEntry(str(error) or type(error).__name__) from error
    return header, body


def write_staged(staged: Path, data: bytes, flush: bool = True) -> None:
    """Write `data` to `staged`, flushed to disk if asked (not yet visible where it belongs)."""
    with staged.open("wb") as stream:
        stream.write(data)
        if flush:
            stream.flush()
            os.fsync(stream.fileno())


def write_file(staged: Path, final: Path, data: bytes, flush: bool = True) -> None:
    """Write `data` to `staged`, flushed to disk if asked, then rename it to `final`."""
    write_staged(staged, data, flush)
    os.replace(staged, final)


def link_new(staged: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Make `staged` visible in `folder` as `<stem><suffix>`, never over an existing file: a name
    taken gets `.1`, `.2`, ... after the stem. Returns the new path (`staged` stays; unlink it)."""
    number = 0
    while True:
        final = folder / (f"{stem}{suffix}" if number == 0 else f"{stem}.{number}{suffix}")
        try:
            os.link(staged, final)
        except FileExistsError:
            number += 1
            continue
        return final


def sync_folder(folder: Path) -> None:
    """Flush `folder`'s entries (names created, renamed or removed in it) to disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
