"""Figures into words: percentiles, the machine, each figure with its unit and target, the table, the JSON.

Design rule: `FIGURES` is the one place that says what a run measures: a figure's name, label, unit,
where its phase puts it in the results, and its target (issues 5 and 13). The terminal table, the
`figures` and `targets` of `latest.json` and the README's table (`bench/readme.py`) are all read off
it, so a new phase's figures appear everywhere by adding their rows here. A figure whose phase did
not run is *not measured*, never guessed. The journal latency's hops (`bench/hops.py`) are not rows:
each carries its label in the results, and the table and the README show them under the rows, as
measured (a run from before they were measured shows none). Pure functions over plain dicts; only
`write_json` touches the disk.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Figures = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent
SCHEMA = 2  # of latest.json: 2 adds `schema`, `figures`, the machine's memory and load


@dataclass(frozen=True)
class Target:
    """A target as the issue writes it: `relation bound`, e.g. `≥ 0.30` or `< 50 ms`."""

    relation: str  # "≥", "<" or "="
    bound: float
    shown: str  # the bound as written, with its unit

    @property
    def text(self) -> str:
        return f"{self.relation} {self.shown}"

    def met(self, value: float) -> bool:
        checks = {"≥": value >= self.bound, "<": value < self.bound, "=": value == self.bound}
        return checks[self.relation]


@dataclass(frozen=True)
class Figure:
    """One figure: `name` is its key in latest.json's `figures`; `path` where its phase puts it."""

    name: str
    label: str
    unit: str
    path: tuple[str, ...]
    target: Target | None = None

    def measured(self, results: Figures) -> bool:
        """Whether the phase that produces this figure ran (its value may still be None)."""
        return results.get(self.path[0]) is not None

    def value(self, results: Figures) -> Any:
        found: Any = results
        for key in self.path:
            found = found.get(key) if isinstance(found, dict) else None
        return found


ZERO = Target("=", 0, "0")
FIGURES: tuple[Figure, ...] = (
    Figure("baseline_msgs_per_s", "baseline: bare aiosmtpd sink", "msg/s", ("baseline", "msgs_per_s")),
    Figure("sandbox_msgs_per_s", "sandbox end to end", "msg/s", ("sandbox", "msgs_per_s")),
    Figure("accepted_msgs_per_s", "sandbox: accepted at the listener", "msg/s",
           ("sandbox", "accepted_msgs_per_s")),
    Figure("ratio", "ratio sandbox / baseline", "", ("ratio",), Target("≥", 0.30, "0.30")),
    Figure("latency_rate", "journal latency: paced at half the sandbox's rate", "msg/s", ("latency", "rate")),
    Figure("journal_p50_ms", "journal latency p50", "ms", ("latency", "journal_ms", "p50")),
    Figure("journal_p95_ms", "journal latency p95", "ms", ("latency", "journal_ms", "p95")),
    Figure("journal_p99_ms", "journal latency p99", "ms", ("latency", "journal_ms", "p99"),
           Target("<", 50, "50 ms")),
    Figure("td_sink_msgs_per_s", "STARTTLS sink, journals (10 per connection)", "msg/s",
           ("td_alone", "sink_msgs_per_s")),
    Figure("td_msgs_per_s", "Threat Defense alone, same journals and client", "msg/s",
           ("td_alone", "td_msgs_per_s")),
    Figure("td_ratio", "ratio Threat Defense / STARTTLS sink", "", ("td_alone", "ratio"),
           Target("≥", 0.6, "0.6")),
    Figure("td_cpu_ratio", "CPU per journal: STARTTLS sink / Threat Defense", "", ("td_alone", "cpu_ratio")),
    Figure("machines_1_msgs_per_s", "end to end, `--machines 1` (the sandbox phase)", "msg/s",
           ("scale", "machines_1", "msgs_per_s")),
    Figure("machines_2_msgs_per_s", "end to end, `--machines 2` (two client streams)", "msg/s",
           ("scale", "machines_2", "msgs_per_s")),
    Figure("rss_per_machine_mib", "memory per machine process", "MiB", ("scale", "rss_per_machine_mib")),
    Figure("sandbox_start_p50_ms", "start-up of `tdcsim sandbox` (spawn to sandbox.json), p50", "ms",
           ("startup", "sandbox_ms", "p50")),
    Figure("fixture_start_p50_ms", "start-up of a fixture sandbox (in process), p50", "ms",
           ("startup", "fixture_ms", "p50")),
    Figure("soak_messages", "soak: messages", "", ("soak", "messages")),
    Figure("growth_mib_per_100k", "soak: memory growth per 100k messages", "MiB",
           ("soak", "growth_mib_per_100k"), Target("<", 50, "50 MiB")),
    Figure("rss_start_mib", "soak: RSS at the start", "MiB", ("soak", "rss_start_mib")),
    Figure("rss_end_mib", "soak: RSS at the end", "MiB", ("soak", "rss_end_mib")),
    Figure("lost", "lost (all phases)", "", ("lost",), ZERO),
    Figure("duplicated", "duplicated (all phases)", "", ("duplicated",), ZERO),
)


def percentiles(values: list[float]) -> Figures:
    """p50/p90/p95/p99/max in the values' unit (None each when there are fewer than two)."""
    if len(values) < 2:
        return {"count": len(values), "p50": None, "p90": None, "p95": None, "p99": None, "max": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"count": len(values), "p50": round(cuts[49], 2), "p90": round(cuts[89], 2),
            "p95": round(cuts[94], 2), "p99": round(cuts[98], 2), "max": round(max(values), 2)}


def machine() -> Figures:
    """Where and when the figures were measured, from which commit, and how busy the machine was."""
    cpuinfo = _read("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    memory = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal:")), None)
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": model,
            "memory_mib": None if memory is None else round(memory / 1024),
            "load_1min": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "kernel": platform.release(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes": bool(_git("status", "--porcelain")),
            "file_create_us": file_creation_us()}


def file_creation_us(count: int = 2000) -> float:
    """CPU microseconds to create, write (3 KB) and close one file in a new temporary folder, as the
    sandbox's stores do several times a message. On one VM this moved from 57 to 700 µs within hours
    (the kernel's filesystem state, not our code), and the sandbox's figures moved with it; a run's
    figures are read beside it."""
    data = bytes(3000)
    with tempfile.TemporaryDirectory() as folder:
        start = time.process_time()
        for number in range(count):
            Path(folder, f"{number}.eml").write_bytes(data)
        return round(1e6 * (time.process_time() - start) / count, 1)


def _read(path: str) -> str:
    return Path(path).read_text() if Path(path).exists() else ""


def _git(*arguments: str) -> str | None:
    try:
        done = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine_label(host: Figures) -> str:
    """"measured on <cpu>, <cores> cores, <date>, commit <sha>" and the rest of the machine."""
    memory = f", {host['memory_mib'] / 1024:.1f} GiB RAM" if host.get("memory_mib") else ""
    dirty = " with uncommitted changes" if host.get("uncommitted_changes") else ""
    load = f", load average {host['load_1min']} as the run began" if host.get("load_1min") is not None else ""
    files = (f", creating a file {host['file_create_us']} µs of CPU" if host.get("file_create_us") is not None
             else "")
    return (f"measured on {host.get('cpu_model', 'unknown')}, {host.get('nproc', '?')} cores{memory}, "
            f"{str(host.get('date', '?'))[:10]}, commit {host.get('commit') or 'unknown'}{dirty} "
            f"(Linux {host.get('kernel', '?')}, Python {host.get('python', '?')}{load}{files})")


def figures(results: Figures) -> Figures:
    """Every figure of `FIGURES` with its label, unit, value and target, as latest.json keeps them."""
    return {figure.name: {"label": figure.label, "unit": figure.unit, "measured": figure.measured(results),
                          "value": figure.value(results), "target": figure.target and figure.target.text,
                          "met": verdict(figure, results)} for figure in FIGURES}


def verdict(figure: Figure, results: Figures) -> bool | None:
    """Whether the figure meets its target (None: no target, or no value)."""
    value = figure.value(results)
    return None if figure.target is None or value is None else figure.target.met(value)


def targets(results: Figures) -> Figures:
    """Each figure with a target: the measured value, the target and whether it is met."""
    return {figure.name: {"measured": figure.value(results), "target": figure.target.text,
                          "met": verdict(figure, results)} for figure in FIGURES if figure.target}


def value_text(figure: Figure, results: Figures, run: str = " in this run") -> str:
    """The value with its unit; "not measured" when its phase did not run, "not computed" when it ran
    without it (too few samples)."""
    value = figure.value(results)
    if value is None:
        return ("not computed" if figure.measured(results) else "not measured") + run
    number = f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    return f"{number} {figure.unit}".rstrip()


def table(results: Figures) -> str:
    """The terminal's table, one figure a line, then the machine and the profile's top entries."""
    lines = [f"{'figure':<52}{'measured':>16}  target", "-" * 84]
    for figure in FIGURES:
        met, aim = verdict(figure, results), ""
        if met is not None and figure.target:
            aim = f"{figure.target.text:>8}  {'met' if met else 'MISSED'}"
        lines.append(f"{figure.label:<52}{value_text(figure, results, ''):>16}  {aim}".rstrip())
    lines.append(f"({machine_label(results['machine'])})")
    return "\n".join(lines + hop_lines(results) + _profile_lines(results.get("profile")))


CUTS = ("p50", "p90", "p99", "max")


def hops_table(results: Figures) -> tuple[str, list[tuple[str, Figures]]] | None:
    """The journal latency's hops (`bench/hops.py`): a heading saying how many connections carried
    the journals, and each hop's label and percentiles; None when the latency phase did not split its
    figures (it did not run, or it ran before hops were measured)."""
    found = (results.get("latency") or {}).get("hops") or {}
    rows = [(figures["label"], figures) for figures in found.values() if isinstance(figures, dict)]
    if not rows:
        return None
    heading = (f"journal latency by hop, ms ({found.get('connections')} connections to Threat Defense, "
               f"{found.get('journals_per_connection')} journals each on average; a file's mtime comes "
               "from the kernel's coarse clock, a few ms early, so a hop that ends at one can read below 0)")
    return heading, rows


def hop_lines(results: Figures) -> list[str]:
    """The hops as the terminal shows them: a line each, with n and p50/p90/p99/max in ms."""
    if (table := hops_table(results)) is None:
        return []
    heading, rows = table
    lines = ["", heading, f"{'':<72}{'n':>5}" + "".join(f"{cut:>8}" for cut in CUTS)]
    for label, figures in rows:
        cells = "".join(f"{ms_text(figures.get(cut)):>8}" for cut in CUTS)
        lines.append(f"{label:<72}{figures.get('count', 0):>5}{cells}")
    return lines


def ms_text(value: float | None) -> str:
    """A hop's percentile to 0.1 ms, "-" when there were too few journals for it."""
    return "-" if value is None else f"{value:.1f}"


def _profile_lines(profile: Figures | None) -> list[str]:
    """The profile's top entries by self samples (the innermost frame, with its line)."""
    if not profile:
        return []
    lines = ["", f"profile: {profile['samples']} samples, event loop idle {profile['idle_share']:.1%}; "
                 f"top by self (raw stacks: {profile['raw']})"]
    return lines + [f"{row['share']:>7.1%}  {row['entry']}" for row in profile["self"]]


def write_json(results: Figures, path: Path) -> None:
    """The results plus `schema` and `figures` (each with unit and target), written whole, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    document = {"schema": SCHEMA, **results, "figures": figures(results)}
    partial.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)
