"""The browser the tests drive: the distribution's Chromium, provided by `make chromium`, and one line
saying what to do (a failure, never a skip) where it is missing; the Makefile and the tests say the same."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .chromium import chromium_executable

ROOT = Path(__file__).resolve().parents[2]
HINT = ("the browser tests need Chromium: install it (Debian/Ubuntu: apt-get install chromium) "
        "or set TDC_CHROMIUM=/path/to/chromium")


def test_chromium_renders_a_page_at_1280_by_800(page: Page) -> None:
    page.set_content("<main><h1>Threat Defense Connector</h1></main>")
    assert page.evaluate("[innerWidth, innerHeight]") == [1280, 800]
    assert page.get_by_role("heading").inner_text() == "Threat Defense Connector"


def make_chromium(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """`make -s chromium` with a PATH that holds only `id`: no browser, no apt-get."""
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    make = shutil.which("make") or "make"
    return subprocess.run([make, "-s", "-C", str(ROOT), "chromium"], capture_output=True, text=True,
                          env={"PATH": str(bare), **environ}, timeout=30, check=False)


def test_make_chromium_says_in_one_line_what_to_install_when_it_cannot(tmp_path: Path) -> None:
    run = make_chromium(tmp_path)
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.splitlines()[0] == HINT


def test_make_chromium_names_a_wrong_tdc_chromium(tmp_path: Path) -> None:
    nowhere = tmp_path / "nowhere"
    run = make_chromium(tmp_path, TDC_CHROMIUM=str(nowhere))
    assert run.returncode != 0
    assert run.stderr.splitlines()[0] == f"TDC_CHROMIUM={nowhere} is not an executable file; {HINT}"


def test_make_chromium_accepts_an_executable_tdc_chromium(tmp_path: Path) -> None:
    run = make_chromium(tmp_path, TDC_CHROMIUM=sys.executable)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


def test_a_missing_chromium_fails_the_browser_tests_with_the_hint_never_skips(tmp_path: Path) -> None:
    wrong = f"TDC_CHROMIUM={tmp_path} is not an executable file; {HINT}"
    for environ, said in (({"PATH": str(tmp_path)}, HINT), ({"TDC_CHROMIUM": str(tmp_path)}, wrong)):
        with pytest.raises(pytest.fail.Exception) as failed:
            chromium_executable(environ)
        assert str(failed.value) == said and not isinstance(failed.value, pytest.skip.Exception)


def test_tdc_chromium_comes_first_then_path(tmp_path: Path) -> None:
    browser = tmp_path / "chromium-browser"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert chromium_executable({"PATH": f"/nowhere:{tmp_path}"}) == str(browser)
    assert chromium_executable({"PATH": str(tmp_path), "TDC_CHROMIUM": sys.executable}) == sys.executable


def test_the_headless_shell_comes_before_the_desktop_chromium(tmp_path: Path) -> None:
    desktop, shell = tmp_path / "desktop", tmp_path / "shell"
    for folder, name in ((desktop, "chromium"), (shell, "chromium-headless-shell")):
        folder.mkdir()
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    assert chromium_executable({"PATH": f"{desktop}:{shell}"}) == str(shell / "chromium-headless-shell")
