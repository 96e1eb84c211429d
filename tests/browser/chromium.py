"""Which Chromium the browser tests launch, and how: the distribution's, never one Playwright downloads.

Design rule: `$TDC_CHROMIUM`, else the first of `chromium-headless-shell`, `chromium` or `chromium-browser` on
PATH (what `make chromium` provides); missing, it is a test failure (`pytest.fail`, never a skip) with the
one line the Makefile prints too. The headless shell comes first: it is the same Blink as Chromium without
the desktop browser around it (Playwright's own choice for headless runs), and drives the same pages with
less than half the CPU (tests/browser measured on one worker: 20 s of Chromium CPU against 46 s).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

import pytest

CHROMIUM_HINT = ("the browser tests need Chromium: install it (Debian/Ubuntu: apt-get install chromium) "
                 "or set TDC_CHROMIUM=/path/to/chromium")
CHROMIUM_NAMES = ("chromium-headless-shell", "chromium", "chromium-browser")
#: Quiet, headless and offline: the machine's network is closed, so no background traffic to refuse.
CHROMIUM_ARGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-quic", "--disable-dev-shm-usage"]


def chromium_executable(environ: Mapping[str, str] = os.environ) -> str:
    """Chromium's path: `$TDC_CHROMIUM`, else the first of CHROMIUM_NAMES on PATH; fails with the hint."""
    chosen = environ.get("TDC_CHROMIUM", "")
    if chosen:
        if not (os.path.isfile(chosen) and os.access(chosen, os.X_OK)):
            pytest.fail(f"TDC_CHROMIUM={chosen} is not an executable file; {CHROMIUM_HINT}", pytrace=False)
        return chosen
    path = environ.get("PATH", os.defpath)
    found = next((where for name in CHROMIUM_NAMES if (where := shutil.which(name, path=path))), None)
    if found is None:
        pytest.fail(CHROMIUM_HINT, pytrace=False)
    return found


def chromium_args() -> list[str]:
    """Chromium's sandbox refuses to run as root (as in a container or CI): switch it off only then."""
    return [*CHROMIUM_ARGS, "--no-sandbox"] if os.geteuid() == 0 else list(CHROMIUM_ARGS)
