"""Figures into words: percentiles, the machine, the targets of issue 5, the table and latest.json.

Design rule: pure functions over plain dicts (the phases' figures), so the table and the JSON say
the same thing; only `write_json` touches the disk.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Figures = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET, P99_TARGET_MS, GROWTH_TARGET_MIB = 0.30, 50.0, 50.0


def percentiles(values: list[float]) -> Figures:
    """p50/p95/p99/max in the values' unit (None each when there are fewer than two)."""
    if len(values) < 2:
        return {"count": len(values), "p50": None, "p95": None, "p99": None, "max": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"count": len(values), "p50": round(cuts[49], 2), "p95": round(cuts[94], 2),
            "p99": round(cuts[98], 2), "max": round(max(values), 2)}


def machine() -> Figures:
    """Where the figures were measured."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": model, "python": platform.python_version(),
            "kernel": platform.release(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes": bool(_git("status", "--porcelain"))}


def _git(*arguments: str) -> str | None:
    try:
        done = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def targets(results: Figures) -> Figures:
    """Each target of issue 5 with the measured value and whether it is met (None: not measured)."""
    p99 = (results.get("latency") or {}).get("journal_ms", {}).get("p99")
    growth = (results.get("soak") or {}).get("growth_mib_per_100k")
    rows: dict[str, tuple[float | None, str, Callable[[float], bool]]] = {
        "ratio": (results.get("ratio"), f">= {RATIO_TARGET}", lambda v: v >= RATIO_TARGET),
        "journal_p99_ms": (p99, f"< {P99_TARGET_MS:.0f} ms", lambda v: v < P99_TARGET_MS),
        "growth_mib_per_100k": (growth, f"< {GROWTH_TARGET_MIB:.0f} MiB", lambda v: v < GROWTH_TARGET_MIB),
    }
    return {name: {"measured": value, "target": text, "met": None if value is None else check(value)}
            for name, (value, text, check) in rows.items()}


def table(results: Figures) -> str:
    """The final table, one figure a line."""
    base, box = results["baseline"], results.get("sandbox") or {}
    lat, soak, aims = results.get("latency") or {}, results.get("soak") or {}, results["targets"]
    journal = lat.get("journal_ms") or {}

    def aim(name: str) -> str:
        row = aims[name]
        return "" if row["met"] is None else f"{row['target']:>10}  {'met' if row['met'] else 'MISSED'}"

    rows = [
        ("baseline: bare aiosmtpd, msg/s", base.get("msgs_per_s"), ""),
        ("sandbox end to end, msg/s", box.get("msgs_per_s"), ""),
        ("  accepted at the listener, msg/s", box.get("accepted_msgs_per_s"), ""),
        ("ratio sandbox / baseline", results.get("ratio"), aim("ratio")),
        (f"journal latency p50 @ {lat['rate']} msg/s, ms" if lat else "journal latency p50, ms",
         journal.get("p50"), ""),
        ("journal latency p95, ms", journal.get("p95"), ""),
        ("journal latency p99, ms", journal.get("p99"), aim("journal_p99_ms")),
        (f"soak {soak['messages']}: RSS growth, MiB/100k" if soak else "soak: not run (--soak N)",
         soak.get("growth_mib_per_100k"), aim("growth_mib_per_100k")),
        ("soak: RSS start -> end, MiB", _span(soak), ""),
        ("lost / duplicated (all phases)", f"{results['lost']} / {results['duplicated']}", ""),
    ]
    lines = [f"{'figure':<46}{'measured':>14}  target", "-" * 78]
    lines += [f"{label:<46}{_cell(value):>14}  {note}".rstrip() for label, value, note in rows]
    host = results["machine"]
    lines.append(f"({host['nproc']} cores, {host['cpu_model']}, Python {host['python']}, {host['date']})")
    return "\n".join(lines + _profile_lines(results.get("profile")))


def _profile_lines(profile: Figures | None) -> list[str]:
    """The profile's top entries by self samples (the innermost frame, with its line)."""
    if not profile:
        return []
    lines = ["", f"profile: {profile['samples']} samples, event loop idle {profile['idle_share']:.1%}; "
                 f"top by self (raw stacks: {profile['raw']})"]
    return lines + [f"{row['share']:>7.1%}  {row['entry']}" for row in profile["self"]]


def _span(soak: Figures) -> str | None:
    if not soak:
        return None
    return f"{soak['rss_start_mib']} -> {soak['rss_end_mib']}"


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def write_json(results: Figures, path: Path) -> None:
    """`latest.json` (the directory is made if needed; written whole, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
