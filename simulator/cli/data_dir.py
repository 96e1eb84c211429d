"""The data dir of a running `tdcsim sandbox`: private to the user, and owned by one sandbox.

Design rule: before the sandbox writes anything it takes an exclusive `flock` on `DATA/sandbox.lock`
and writes its PID there; a second sandbox finds the lock taken, reads the PID and stops having
written nothing. The kernel drops the lock when its holder dies, even by `kill -9`, so a lock is
never stale. Everything is made under `umask 077` (as Postfix does) and the data dir is 0700.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_FILE = "sandbox.lock"


class DataDirInUse(Exception):
    """Another running sandbox holds the data dir; the text names its PID."""


class DataDirLock:
    """This process's hold on a data dir, until `release` (or the process ends)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._descriptor, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(self._descriptor)
            raise DataDirInUse(f"data dir {data_dir} is in use by the sandbox with PID {holder}") from None
        os.ftruncate(self._descriptor, 0)
        os.pwrite(self._descriptor, f"{os.getpid()}\n".encode("ascii"), 0)

    def release(self) -> None:
        os.close(self._descriptor)

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def claim(data_dir: Path) -> DataDirLock:
    """Make `data_dir` private (0700, and every file the process makes from now on 0600) and lock
    it for this process; `DataDirInUse` if another sandbox holds it (nothing changed then)."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = DataDirLock(data_dir)
    try:
        data_dir.chmod(0o700)
    except OSError:
        lock.release()
        raise
    return lock
