"""The README's performance figures are generated, never typed (issue 13 point 5): the committed
README.md is exactly what `python -m bench.readme` makes of the committed `bench/results/latest.json`,
which is a full run that names its machine and commit; and the rendering, from hand-made results:
missing phases, the machine's label, targets met and missed, the markers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import readme, report

ROOT = Path(__file__).resolve().parent.parent
LATEST = ROOT / "bench" / "results" / "latest.json"
HOST = {"nproc": 2, "cpu_model": "AMD EPYC", "memory_mib": 7936, "load_1min": 1.5, "python": "3.11.7",
        "kernel": "6.18.44", "date": "2026-11-30T12:25:04+00:00", "commit": "68cfafe",
        "uncommitted_changes": False}


def results(**phases: Any) -> dict[str, Any]:
    """A full run's results with only the baseline and the sandbox, plus `phases`."""
    made = {"machine": dict(HOST), "options": {"smoke": False, "messages": 2000, "soak": None, "seed": 5,
                                               "profile": False, "output": "/x/latest.json"},
            "baseline": {"msgs_per_s": 1249.0}, "sandbox": {"msgs_per_s": 72.8, "accepted_msgs_per_s": 90.1},
            "ratio": 0.058, "lost": 0, "duplicated": 0, "ok": True, "problems": [], "seconds": 95.2,
            "message_size": 2048}
    return made | phases


def row(text: str, label: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {label} |")]
    return line


def test_the_committed_readme_is_what_the_committed_results_generate() -> None:
    assert readme.main(["--check"]) == 0


def test_the_committed_results_are_a_full_run_that_names_machine_and_commit() -> None:
    latest = json.loads(LATEST.read_text(encoding="utf-8"))
    assert latest["options"]["smoke"] is False and latest["schema"] == report.SCHEMA
    assert {"cpu_model", "nproc", "memory_mib", "kernel", "python", "date", "commit",
            "uncommitted_changes"} <= set(latest["machine"])
    assert set(latest["figures"]) == {figure.name for figure in report.FIGURES}
    assert latest["figures"]["ratio"]["unit"] == "" and latest["figures"]["ratio"]["target"] == "≥ 0.30"


def test_latest_json_is_tracked_and_the_rest_of_results_ignored() -> None:
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0

    assert not ignored("bench/results/latest.json")
    assert ignored("bench/results/smoke.json") and ignored("bench/results/profile.txt")


def test_a_phase_not_run_is_not_measured_and_one_without_its_figure_not_computed() -> None:
    text = readme.block(results(soak={"messages": 300, "growth_mib_per_100k": None, "rss_start_mib": 61.3}))
    assert "| not measured in this run |" in row(text, "ratio Threat Defense / STARTTLS sink")
    assert "| not measured in this run |" in row(text, "journal latency p99")
    start_up = "start-up of `tdcsim sandbox` (spawn to sandbox.json), p50"
    assert "| not measured in this run |" in row(text, start_up)
    assert row(text, "soak: memory growth per 100k messages") == (
        "| soak: memory growth per 100k messages | not computed in this run | < 50 MiB |")
    assert row(text, "soak: RSS at the start") == "| soak: RSS at the start | 61.3 MiB |  |"
    assert "Profile: not measured in this run" in text


def test_targets_met_and_missed_with_their_units() -> None:
    text = readme.block(results(td_alone={"sink_msgs_per_s": 759.0, "td_msgs_per_s": 600.0, "ratio": 0.79},
                                latency={"rate": 36.4, "journal_ms": {"p50": 9.0, "p99": 71.0}}))
    assert row(text, "ratio sandbox / baseline").endswith("| 0.058 | ≥ 0.30: **missed** |")
    assert row(text, "ratio Threat Defense / STARTTLS sink").endswith("| 0.79 | ≥ 0.6: met |")
    assert row(text, "journal latency p99").endswith("| 71.0 ms | < 50 ms: **missed** |")
    assert row(text, "baseline: bare aiosmtpd sink").endswith("| 1,249.0 msg/s |  |")
    assert row(text, "lost (all phases)").endswith("| 0 | = 0: met |")


def test_the_label_names_machine_date_commit_and_options() -> None:
    dirty = results()
    dirty["machine"]["uncommitted_changes"] = True
    label = " ".join(readme.block(dirty).split())
    assert ("measured on AMD EPYC, 2 cores, 7.8 GiB RAM, 2026-11-30, commit 68cfafe with uncommitted changes "
            "(Linux 6.18.44, Python 3.11.7, load average 1.5 as the run began)") in label
    assert "options `--messages 2000 --seed 5`, messages of 2,048 bytes, 95.2 s in all." in label
    assert "/x/latest.json" not in label
    failed = readme.block(results(ok=False, problems=["sandbox: 3 lost"]))
    assert "**This run failed:** sandbox: 3 lost." in " ".join(failed.split())


def test_the_profile_s_top_entries_are_quoted_from_the_results() -> None:
    rows = [{"share": 0.45 - n / 100, "entry": f"f{n} (x.py:{n})"} for n in range(10)]
    text = " ".join(readme.block(results(profile={"samples": 900, "idle_share": 0.02, "self": rows})).split())
    assert "(py-spy, 900 samples, event loop idle 2.0%)" in text
    assert "45.0% `f0 (x.py:0)`; 44.0% `f1 (x.py:1)`;" in text and "f8 (" not in text


def test_only_the_text_between_the_markers_is_rewritten_and_check_says_when_it_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made, page = tmp_path / "latest.json", tmp_path / "README.md"
    made.write_text(json.dumps(results()), encoding="utf-8")
    page.write_text(f"# Title\n\ntyped 2243 msg/s\n{readme.BEGIN}\n| typed | 2243 |\n{readme.END}\nafter\n")
    paths = ["--results", str(made), "--readme", str(page)]
    assert readme.main(["--check", *paths]) == 1
    assert "run `make bench-readme`" in capsys.readouterr().err
    assert readme.main(paths) == 0
    text = page.read_text()
    assert text.startswith("# Title\n\ntyped 2243 msg/s\n") and text.endswith(f"{readme.END}\nafter\n")
    assert "| typed |" not in text and readme.block(results()) in text
    assert readme.main(["--check", *paths]) == 0


def test_no_markers_a_smoke_run_or_no_results_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made, page = tmp_path / "latest.json", tmp_path / "README.md"
    page.write_text(f"{readme.BEGIN}\n{readme.END}\n{readme.BEGIN}\n")
    made.write_text(json.dumps(results()), encoding="utf-8")
    assert readme.main(["--results", str(made), "--readme", str(page)]) == 2
    assert "once each" in capsys.readouterr().err
    page.write_text(f"{readme.BEGIN}\n{readme.END}\n")
    made.write_text(json.dumps(results(options={"smoke": True})), encoding="utf-8")
    assert readme.main(["--results", str(made), "--readme", str(page)]) == 2
    assert "--smoke run" in capsys.readouterr().err
    assert readme.main(["--results", str(tmp_path / "none.json"), "--readme", str(page)]) == 2
    assert "run `make bench` first" in capsys.readouterr().err


def test_latest_json_keeps_every_figure_with_unit_target_and_verdict(tmp_path: Path) -> None:
    made = results(td_alone={"sink_msgs_per_s": 759.0, "td_msgs_per_s": 176.0, "ratio": 0.23})
    report.write_json(made | {"targets": report.targets(made)}, tmp_path / "latest.json")
    written = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert written["figures"]["td_ratio"] == {
        "label": "ratio Threat Defense / STARTTLS sink", "unit": "", "measured": True, "value": 0.23,
        "target": "≥ 0.6", "met": False}
    assert written["figures"]["rss_per_machine_mib"] | {"label": ""} == {
        "label": "", "unit": "MiB", "measured": False, "value": None, "target": None, "met": None}
    assert written["targets"]["ratio"] == {"measured": 0.058, "target": "≥ 0.30", "met": False}
    assert len({figure.name for figure in report.FIGURES}) == len(report.FIGURES)


def test_a_smoke_run_never_overwrites_latest_json() -> None:
    from bench.run import build_parser, settle_options
    assert settle_options(build_parser().parse_args(["--smoke"])).output.name == "smoke.json"
    assert settle_options(build_parser().parse_args([])).output == LATEST


def test_the_label_gives_the_cost_of_creating_a_file_when_the_run_measured_it() -> None:
    measured = results()
    measured["machine"]["file_create_us"] = 57.3
    label = " ".join(readme.block(measured).split())
    assert "load average 1.5 as the run began, creating a file 57.3 µs of CPU)" in label
    assert "creating a file" not in " ".join(readme.block(results()).split())
    assert report.file_creation_us(count=20) > 0
