"""File work the event loop hands off: done on a thread of its own, one job after another, in order.

Design rule: jobs on the same files must not overtake one another (a unit's newer state file must
never be replaced by an older one, nor a removed unit's state written again), so they run on one
thread, first in first out. Each job names what it keeps (its unit): a newer job for the same unit
that is still waiting replaces the older one, so a busy spool writes each unit's state once per turn,
not once per entry; a unit's files are always what some prefix of its jobs left. Handing a job over
costs a list append; the thread is woken for what gathered over `GATHER` seconds, and the loop hears
back only of trouble (`Trouble`, called on the loop). A job not yet done at a crash is as if the
crash came before it: a delivered entry is delivered again after the restart, as one in flight at a
crash always could be (nothing acknowledged depends on these files). Where no event loop runs
(start-up, tools, tests calling the spool directly) there is nothing to keep free: a job runs at
once, raising its error to the caller. `settled` waits for every job handed in so far (the test
facade's settle does), `drain` too and ends the thread (a clean stop does).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

Job = Callable[[], None]
Trouble = Callable[[Exception], None]
#: Seconds the jobs handed in gather before the thread is woken for all of them: one hand-over
#: (and one state file per unit) for what a busy gateway finishes meanwhile, not one per entry.
GATHER = 0.05


class InOrder:
    """Runs file jobs off the event loop, in the order they are handed in."""

    def __init__(self, name: str, gather: float = GATHER) -> None:
        self._name, self._gather = name, gather
        self._executor: ThreadPoolExecutor | None = None
        self._timer: asyncio.TimerHandle | None = None  # the thread is woken when it fires
        self._loop: asyncio.AbstractEventLoop | None = None  # where trouble is told
        self._lock = threading.Lock()  # guards `_waiting` and `_scheduled` (loop and thread)
        self._waiting: dict[str, tuple[Job, list[Trouble]]] = {}  # by what each keeps, in order
        self._scheduled = False  # the thread has been asked to run what waits

    def run(self, key: str, job: Job, trouble: Trouble | None = None) -> None:
        """Do `job` (it keeps `key`'s files) after every job handed in before; `trouble` hears of
        its error on the event loop. Without a running loop it is done now (its error raised)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            job()
            return
        with self._lock:
            troubles = self._waiting.pop(key, (job, []))[1]  # an older waiting job: superseded
            self._waiting[key] = (job, [*troubles, *([trouble] if trouble else [])])
            if self._scheduled:
                return
            self._scheduled = True
        self._loop, self._timer = loop, loop.call_later(self._gather, self._hand_over, loop)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the thread for what waits (once per `gather` seconds at most)."""
        self._timer = None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        self._executor.submit(self._run_waiting, loop)

    async def settled(self) -> None:
        """Return once every job handed in so far is done (whatever its outcome), at once."""
        if self._timer is not None:
            self._timer.cancel()
            self._hand_over(asyncio.get_running_loop())
        if self._executor is not None:
            await asyncio.wrap_future(self._executor.submit(lambda: None))

    def drain(self) -> None:
        """Return once every job handed in so far is done (the thread ends; a later job starts
        another)."""
        if self._timer is not None and self._loop is not None:
            self._timer.cancel()
            self._hand_over(self._loop)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _run_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the thread: the waiting jobs, in order, until none waits."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._scheduled = False
                    return
                turn, self._waiting = list(self._waiting.values()), {}
            for job, troubles in turn:
                try:
                    job()
                except Exception as error:  # told on the loop; the next jobs still run
                    with suppress(RuntimeError):  # the loop is closed: nobody left to tell
                        for trouble in troubles:
                            loop.call_soon_threadsafe(trouble, error)
