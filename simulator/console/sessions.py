"""Who is logged in to the console: sessions in memory, the login check and the CSRF token.

Design rule: the console's only state. A visitor gets an anonymous session (and its CSRF token) on
the login page; a good login replaces it with a new, logged-in one (never the id the browser came
with). Secrets are compared in constant time. Both kinds are bounded, the oldest dropped first, so
nobody fills the memory by asking for the login page; an idle session expires.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

USER = "admin"
COOKIE = "tdc_console_session"
MOST_ANONYMOUS, MOST_LOGGED_IN = 256, 64
IDLE_LIMIT = 12 * 3600.0  # seconds without a request before a session is forgotten


def same_secret(given: str, expected: str) -> bool:
    """`given == expected`, in constant time (and False for text that is not UTF-8 encodable)."""
    try:
        return secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
    except UnicodeEncodeError:
        return False


@dataclass
class Session:
    """One browser's session: its CSRF token, whether it logged in, and a notice for the next page."""

    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    logged_in: bool = False
    notice: str = ""
    seen: float = field(default_factory=time.monotonic)

    def take_notice(self) -> str:
        """The notice left by the last action (shown once)."""
        notice, self.notice = self.notice, ""
        return notice


class Sessions:
    """The sessions by id, and the secrets a login may use."""

    def __init__(self, password: str, token: str) -> None:
        self.password, self._token = password, token
        self._anonymous: OrderedDict[str, Session] = OrderedDict()
        self._logged_in: OrderedDict[str, Session] = OrderedDict()

    def find(self, session_id: str | None) -> Session | None:
        """The live session called `session_id`, if any."""
        for table in (self._logged_in, self._anonymous):
            session = table.get(session_id or "")
            if session is not None and time.monotonic() - session.seen > IDLE_LIMIT:
                del table[session_id or ""]
            elif session is not None:
                session.seen = time.monotonic()
                table.move_to_end(session_id or "")
                return session
        return None

    def logged_in(self, session_id: str | None) -> bool:
        """Is `session_id` still a live, logged-in session? (Asking does not keep it alive: a page left
        open, like a live tail, must not outlive its logout or its idle limit.)"""
        session = self._logged_in.get(session_id or "")
        return session is not None and time.monotonic() - session.seen <= IDLE_LIMIT

    def anonymous(self) -> tuple[str, Session]:
        """A new session for a visitor who has not logged in."""
        return self._add(self._anonymous, Session(), MOST_ANONYMOUS)

    def log_in(self, old_id: str | None, user: str, password: str) -> tuple[str, Session] | None:
        """A new logged-in session if `user`/`password` are right (the old one ends); else None."""
        if user.strip() not in (USER, "") or not self.accepts(password):
            return None
        self.end(old_id)
        return self._add(self._logged_in, Session(logged_in=True), MOST_LOGGED_IN)

    def accepts(self, password: str) -> bool:
        """The console's password or the admin API's token (both checked, in constant time)."""
        checks = [same_secret(password, self.password), same_secret(password, self._token)]
        return any(checks)

    def end(self, session_id: str | None) -> None:
        self._anonymous.pop(session_id or "", None)
        self._logged_in.pop(session_id or "", None)

    @staticmethod
    def _add(table: OrderedDict[str, Session], session: Session, most: int) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        table[session_id] = session
        while len(table) > most:
            table.popitem(last=False)
        return session_id, session
