"""The soak: many messages through one sandbox with its resident memory sampled.

Design rule: the senders keep at most `window` messages sent but not yet complete, so memory
measures what the sandbox *retains* per message, not a backlog that grows because the client
outruns it. Growth per 100k messages is the slope of RSS over completed messages (least squares,
after the first tenth, which holds one-time start-up allocations), scaled to 100,000.
"""

from __future__ import annotations

import statistics

from bench.drive import Load
from bench.phases import Figures, Rig, run_load, warnings_in_log
from bench.processes import total_rss_kib

SAMPLES_KEPT = 50  # in latest.json, evenly spaced


def soak(rig: Rig, count: int, window: int) -> Figures:
    """`count` messages; RSS sampled at every poll; growth per 100k and the run's outcome."""
    samples: list[tuple[int, int]] = []  # (messages completed, RSS KiB)
    with rig.sandbox("soak") as sandbox:
        pids = sandbox.pids  # the supervisor and every part: the sandbox's memory is theirs together
        start = total_rss_kib(pids) or 0

        def sample(completed: int) -> None:
            if (rss := total_rss_kib(pids)) is not None:
                samples.append((completed, rss))

        poll = 0.2 if count <= 5000 else 1.0
        load = Load("soak", range(count), window=window, poll=poll,
                    progress_every=2.0 if count <= 5000 else 10.0, on_poll=sample)
        client, tracker, outcome, cpu = run_load(rig, sandbox, load)
        end = total_rss_kib(pids) or 0
    seconds = (max(tracker.completed_ns.values(), default=0) - client.log.started_ns) / 1e9
    return {
        "messages": count, "window": window, "msgs_per_s": round(outcome.completed / max(seconds, 1e-9), 1),
        "rss_start_mib": _mib(start), "rss_end_mib": _mib(end),
        "rss_peak_mib": _mib(max((rss for _, rss in samples), default=end)),
        "growth_mib_per_100k": growth_per_100k(samples, count),
        "samples": [{"completed": c, "rss_mib": _mib(r)} for c, r in _spread(samples)],
        **cpu, "log_warnings": warnings_in_log(sandbox.data_dir), "outcome": outcome.as_dict(),
    }


#: Below this the sandbox is still filling the recent records it keeps in memory (2000 of each):
#: a slope over so few messages is warm-up, not growth, and is not reported.
MIN_MESSAGES_FOR_GROWTH = 5_000


def growth_per_100k(samples: list[tuple[int, int]], count: int) -> float | None:
    """MiB per 100,000 completed messages, fitted after the first tenth (None: too few messages)."""
    if count < MIN_MESSAGES_FOR_GROWTH:
        return None
    steady = [(completed, rss) for completed, rss in samples if completed >= count // 10]
    if len({completed for completed, _ in steady}) < 2:
        return None
    slope, _ = statistics.linear_regression([c for c, _ in steady], [r for _, r in steady])
    return round(slope * 100_000 / 1024, 1)


def _spread(samples: list[tuple[int, int]]) -> list[tuple[int, int]]:
    step = max(1, len(samples) // SAMPLES_KEPT)
    return samples[::step]


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)
