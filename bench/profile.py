"""Profile the sandbox under load with py-spy, and boil the samples down to the top entries.

Design rule: a separate phase with its own sandbox, because a sampling profiler slows what it
watches; the measured phases run without it. py-spy attaches to the sandbox's pid and, with
`--subprocesses`, to every part's process, and writes raw (collapsed) stacks. A sample counts
when its stack runs the sandbox's code (the supervisor's or a part's: multiprocessing's fork
server and resource tracker are left out), with its `process ...` frame dropped, so the parts'
samples are summed (the idle share is their event loops' together); "self" counts
the innermost frame at each line, "inclusive" counts each function once per sample in which it is
anywhere on the stack.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.drive import Load
from bench.phases import Figures, Rig, run_load
from bench.processes import STOP_TIMEOUT

_FRAME_RE = re.compile(r"^(?P<function>.*) \((?P<file>.*):(?P<line>\d+)\)$")
_IDLE = "EpollSelector.select ("  # the event loop waiting for I/O: the sandbox has nothing to do
#: A worker thread waiting for work (its queue's get is C, so this line is the innermost frame): not
#: time spent, only a thread that exists; left out of every count, as a profile of one thread would.
_PROCESS = re.compile(r'^(?:process \d+:"[^"]*";)+')  # py-spy's frames of the process tree
_OURS = "simulator/"
_MULTIPROCESSING = ("multiprocessing/forkserver.py", "multiprocessing/resource_tracker.py")
_WAITING_WORKER = re.compile(r"^_worker \(.*concurrent/futures/thread\.py:\d+\)$")
_PLUMBING = {"asyncio/base_events.py", "asyncio/runners.py", "asyncio/events.py", "<frozen runpy>",
             "simulator/cli/main.py"}  # on every stack; they say nothing about where the time goes


def py_spy() -> str | None:
    """py-spy from the venv, else from PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile(rig: Rig, count: int, output: Path, top: int = 10) -> Figures:
    """Record the sandbox while `count` messages go through as fast as they can; top entries."""
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy not found: install it with `.venv/bin/pip install py-spy`")
    output.parent.mkdir(parents=True, exist_ok=True)
    with rig.sandbox("profile") as sandbox:
        command = [tool, "record", "--pid", str(sandbox.process.pid), "--format", "raw",
                   "--output", str(output), "--rate", "100", "--idle", "--nonblocking", "--subprocesses"]
        recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _, _, outcome, cpu = run_load(rig, sandbox, Load("profile", range(count)))
        finally:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
            _, error = recorder.communicate(timeout=STOP_TIMEOUT)
    if not output.exists():
        raise RuntimeError(f"py-spy wrote no profile: {error.decode(errors='replace').strip()[-300:]}")
    return {"raw": str(output), **summarise(output.read_text().splitlines(), top), **cpu,
            "outcome": outcome.as_dict()}


def summarise(lines: list[str], top: int) -> Figures:
    """The `top` entries by self and by inclusive samples, with shares of all samples (but those of
    worker threads waiting for work)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = waiting = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdecimal():
            continue
        stack = _PROCESS.sub("", stack)
        if _OURS not in stack and any(own in stack for own in _MULTIPROCESSING):
            continue  # a process of multiprocessing's own, waiting
        count, frames = int(count_text), stack.split(";")
        if _WAITING_WORKER.match(frames[-1]):
            waiting += count
            continue
        total += count
        own[frames[-1]] += count
        for function in {_function(frame) for frame in frames} - {""}:
            inclusive[function] += count
    idle = sum(n for entry, n in own.items() if entry.startswith(_IDLE))

    def rows(counter: Counter[str]) -> list[Figures]:
        ranked = counter.most_common(top)
        return [{"entry": entry, "samples": n, "share": round(n / total, 3)} for entry, n in ranked]

    return {"samples": total, "waiting_worker_samples": waiting,
            "idle_share": round(idle / max(total, 1), 3), "self": rows(own),
            "inclusive": rows(inclusive)}


def _function(frame: str) -> str:
    """`function (file)`, or "" for the event loop's and the command's own plumbing."""
    found = _FRAME_RE.match(frame)
    if found is None:
        return frame
    return "" if found["file"] in _PLUMBING else f"{found['function']} ({found['file']})"
