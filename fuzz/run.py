"""`make fuzz`: N seeded SMTP sessions against a `tdcsim sandbox` child; exit 1 on any failure.

Design rule: the run is a pure function of `--seed` (sessions) plus the sandbox's behaviour, so a
failure printed with `--seed S --only K` replays alone; the criteria are `judge` and `legit`'s, never
loosened by an option. Exit status: 0 clean, 1 a failure (or a sandbox that would not start),
2 a bad option. Options after `--` go to `tdcsim sandbox` (e.g. `-- --mailbox-fault down`).
Run: `python -m fuzz.run [--sessions N] [--seed S] [--only K] [--legit-every N] [--settle S] [--keep]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from fuzz.campaign import Campaign
from fuzz.child import Child
from fuzz.report import session_text, summary, transcript_text
from fuzz.wire import Transcript

PROGRESS_EVERY = 1000


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def _index(text: str) -> int:
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"not a session number (0, 1, ...): {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=_positive, default=1000, metavar="N",
                        help="sessions to run (1000)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="the run's seed (1)")
    parser.add_argument("--only", type=_index, action="append", metavar="K",
                        help="run session K of the seed alone and print it (repeatable); --sessions "
                             "is then ignored")
    parser.add_argument("--legit-every", type=_positive, default=10, metavar="N",
                        help="a legitimate message after every N sessions, and after the last (10)")
    parser.add_argument("--settle", type=float, default=30.0, metavar="S",
                        help="at most S seconds for the legitimate messages to arrive after the run (30)")
    parser.add_argument("--reply-timeout", type=float, default=10.0, metavar="S",
                        help="a reply not come within S seconds ends its session as (timeout) (10)")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox's data dir")
    return parser


def print_transcript(transcript: Transcript) -> None:
    print("\n".join(session_text(transcript.session) + transcript_text(transcript)), flush=True)


def print_progress(transcript: Transcript) -> None:
    if (transcript.session.index + 1) % PROGRESS_EVERY == 0:
        print(f"... {transcript.session.index + 1:,} sessions", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    sandbox_options = args[args.index("--") + 1:] if "--" in args else []
    options = build_parser().parse_args(args[: args.index("--")] if "--" in args else args)
    root = Path(tempfile.mkdtemp(prefix="tdcsim-fuzz-"))
    child = Child(root / "data", sandbox_options)
    try:
        child.start()
    except AssertionError as error:
        print(f"FAILED: the sandbox did not start: {error}", file=sys.stderr)
        return 1
    try:
        campaign = Campaign(child, options.seed, options.legit_every, options.reply_timeout, options.settle,
                            watch=print_transcript if options.only else print_progress)
        outcome = campaign.run(options.only or list(range(options.sessions)))
    finally:
        child.kill()
    print(summary(outcome), flush=True)
    if outcome.failures or options.keep:
        print(f"sandbox data kept in {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
