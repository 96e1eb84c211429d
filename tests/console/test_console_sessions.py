"""The console's sessions without HTTP (console/sessions.py): who may log in, new ids, bounds, expiry."""

from __future__ import annotations

import time

import pytest

from simulator.console import sessions
from simulator.console.sessions import MOST_ANONYMOUS, Sessions

PASSWORD, TOKEN = "console-password", "api-token"


@pytest.mark.parametrize(("user", "password"), [("admin", PASSWORD), ("admin", TOKEN), ("", TOKEN)])
def test_admin_logs_in_with_the_password_or_the_token(user: str, password: str) -> None:
    table = Sessions(PASSWORD, TOKEN)
    old_id, _ = table.anonymous()
    found = table.log_in(old_id, user, password)
    assert found is not None and found[1].logged_in and found[0] != old_id
    assert table.find(old_id) is None and table.find(found[0]) is found[1]  # the old id is gone


@pytest.mark.parametrize(("user", "password"), [("root", PASSWORD), ("admin", ""), ("admin", "\udcff"),
                                                ("admin", PASSWORD + " ")])
def test_anything_else_is_refused(user: str, password: str) -> None:
    assert Sessions(PASSWORD, TOKEN).log_in(None, user, password) is None


def test_anonymous_sessions_are_bounded_the_oldest_dropped_first() -> None:
    table = Sessions(PASSWORD, TOKEN)
    first, _ = table.anonymous()
    logged_in = table.log_in(None, "admin", PASSWORD)
    for _ in range(MOST_ANONYMOUS):
        table.anonymous()
    assert table.find(first) is None
    assert logged_in is not None and table.find(logged_in[0]) is logged_in[1]  # a flood logs nobody out


def test_an_idle_session_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    table = Sessions(PASSWORD, TOKEN)
    found = table.log_in(None, "admin", PASSWORD)
    assert found is not None
    later = time.monotonic() + sessions.IDLE_LIMIT + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)  # the clock sessions.py reads
    assert table.find(found[0]) is None


def test_a_notice_is_shown_once() -> None:
    _, session = Sessions(PASSWORD, TOKEN).anonymous()
    session.notice = "Changes committed: now"
    assert (session.take_notice(), session.take_notice()) == ("Changes committed: now", "")
