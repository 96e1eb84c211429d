"""`make bench`: one run, one table, `bench/results/latest.json` (issue 5).

Design rule: the same pre-generated messages and the same client for every phase; the baseline, the
STARTTLS sink, Threat Defense alone and the sandbox each run in their own process, the client in
this one. A run that loses, duplicates or fails to send a message is a failure (exit 1), however
fast it was; a bad option exits 2 with usage.
Run: `python -m bench.run [--smoke] [--messages N] [--latency-messages N] [--soak [N]] [--profile]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import phases, report, startup
from bench.corpus import Corpus
from bench.processes import ROOT, ServiceError, sandbox_port_options
from bench.profile import profile
from bench.soak import soak

RESULTS = ROOT / "bench" / "results"
FULL = {"messages": 2000, "latency_messages": 500, "soak": None, "window": 200, "senders": 4, "starts": 20}
SMOKE = {"messages": 200, "latency_messages": 50, "soak": 300, "window": 50, "senders": 4, "starts": 3}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help=f"seconds, not minutes, for CI: {SMOKE}")
    counts = {"--messages": "messages for the baseline and the sandbox (2000)",
              "--latency-messages": "messages paced at half the sandbox's rate (500)",
              "--window": "soak: at most N messages sent but not yet complete (200)",
              "--senders": "concurrent connections, each reused (4)",
              "--starts": "start-up: starts of `tdcsim sandbox` and of a fixture sandbox, each (20)"}
    for flag, text in counts.items():
        parser.add_argument(flag, type=_positive, metavar="N", help=text)
    parser.add_argument("--soak", type=_positive, nargs="?", const=100_000, metavar="N",
                        help="soak with N messages (100000 if N is left out)")
    parser.add_argument("--seed", type=int, metavar="N", default=5, help="faker seed of the messages (5)")
    parser.add_argument("--profile", action="store_true",
                        help="then profile the sandbox with py-spy under --messages messages "
                             "(raw stacks in bench/results/profile.txt)")
    parser.add_argument("--output", type=Path, metavar="PATH",
                        help="where the JSON goes (bench/results/latest.json; with --smoke smoke.json, "
                             "so a smoke run never overwrites the committed figures)")
    parser.add_argument("--keep", action="store_true", help="keep the sandboxes' data dirs")
    return parser


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def settle_options(options: argparse.Namespace) -> argparse.Namespace:
    """Fill in the defaults, the smoke ones when `--smoke` and the option was not given."""
    defaults = SMOKE if options.smoke else FULL
    for name, value in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.output is None:
        options.output = RESULTS / ("smoke.json" if options.smoke else "latest.json")
    return options


def measure(options: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Every phase in order, the figures as one dict; a phase that loses messages ends the run."""
    results: dict[str, Any] = {"machine": report.machine(), "options": _options_of(options)}
    started = time.monotonic()
    print(f"pre-generating messages (seed {options.seed}) ...", flush=True)
    corpus = Corpus.generate(options.seed, min(options.messages, 500), "example.com")
    results["message_size"] = round(corpus.mean_size)
    rig = phases.Rig(corpus, options.senders, sandbox_port_options(), root)
    n = options.messages
    _phase(results, "baseline", f"{n} messages into a bare aiosmtpd sink",
           lambda: phases.baseline(corpus, n, options.senders))
    _phase(results, "td_alone", f"{n} journals (STARTTLS): a STARTTLS sink, then Threat Defense",
           lambda: phases.td_alone(corpus, n, options.senders, root))
    if _phase(results, "sandbox", f"{n} messages end to end", lambda: phases.throughput(rig, n)):
        results["ratio"] = round(results["sandbox"]["msgs_per_s"] / results["baseline"]["msgs_per_s"], 3)
        ok = _phase(results, "scale", f"{n} messages end to end through 2 machines, a client stream each",
                    lambda: scale(rig, n, results["sandbox"]))
        rate, count = results["sandbox"]["msgs_per_s"] / 2, options.latency_messages
        ok = _phase(results, "latency", f"{count} messages at {rate:.1f} msg/s",
                    lambda: phases.latency(rig, count, rate))
        if ok:
            _phase(results, "startup", f"{options.starts} starts of tdcsim sandbox and of a fixture sandbox",
                   lambda: startup.measure(options.starts))
        if ok and options.soak:
            ok = _phase(results, "soak", f"{options.soak} messages, at most {options.window} in flight",
                        lambda: soak(rig, options.soak, options.window))
        if ok and options.profile:
            _phase(results, "profile", f"py-spy on the sandbox under {n} messages",
                   lambda: profile(rig, n, options.output.parent / "profile.txt"))
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def scale(rig: phases.Rig, count: int, one_machine: dict[str, Any]) -> dict[str, Any]:
    """End to end with `--machines 1` (the sandbox phase) and `--machines 2`; memory per machine process:
    the largest machine's RSS in the two-machine run, after it."""
    two = phases.throughput(rig, count, machines=2)
    per_machine = [mib for mib in two["rss_per_machine_mib"] if mib is not None]
    return {"machines_1": {key: one_machine.get(key) for key in ("msgs_per_s", "rss_mib")},
            "machines_2": two, "rss_per_machine_mib": max(per_machine, default=None),
            "outcome": two["outcome"]}


def _phase(results: dict[str, Any], name: str, what: str, run: Callable[[], dict[str, Any]]) -> bool:
    """Run one phase into `results[name]`; False if it lost, duplicated or failed to send messages."""
    print(f"{name}: {what} ...", flush=True)
    results[name] = figures = run()
    return bool(figures.get("outcome", {}).get("ok", True)) and not figures.get("refused")


def _options_of(options: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()}


def judge(results: dict[str, Any]) -> list[str]:
    """Sum up losses and duplicates over the phases; what makes this run a failure."""
    refused = results["baseline"]["refused"]
    problems = [f"baseline: {refused} refused"] if refused else []
    results["lost"] = results["duplicated"] = 0
    alone = (results.get("td_alone") or {}).get("outcome")
    if alone:
        results["lost"] += alone["lost"]
        results["duplicated"] += alone["duplicated"]
        problems += [f"td_alone: {problem}" for problem in alone["problems"]]
    for phase in ("sandbox", "scale", "latency", "soak", "profile"):
        outcome = (results.get(phase) or {}).get("outcome")
        if outcome:
            results["lost"] += max(outcome["missing_mailbox"], outcome["missing_journal"])
            results["duplicated"] += outcome["duplicates_mailbox"] + outcome["duplicates_journal"]
            problems += [f"{phase}: {problem}" for problem in outcome["problems"]]
    return problems


def main(argv: list[str] | None = None) -> int:
    options = settle_options(build_parser().parse_args(argv))
    root = Path(tempfile.mkdtemp(prefix="tdcsim-bench-"))
    problems: list[str] = []
    try:
        results = measure(options, root)
        problems = judge(results)
        results.update(targets=report.targets(results), ok=not problems, problems=problems)
        report.write_json(results, options.output)
        print(report.table(results))
        print(f"wrote {options.output}")
    except (ServiceError, RuntimeError, OSError) as error:
        problems = [f"benchmark could not run: {error}"]
    finally:
        if problems or options.keep:
            print(f"sandbox data kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
