"""A small client of the admin HTTP API (stdlib urllib), for the CLI.

Design rule: finds the sandbox through `DATA/sandbox.json` (its `admin` url and token); raises
`NoSandbox` when nothing answers there and `Refused` with the server's message for a 4xx/5xx
answer, so the CLI can pick the exit status and print one line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from simulator import defaults
from simulator.core.errors import NoSandbox, Refused

TIMEOUT = 15.0
#: The sandbox is local: a proxy from the environment (http_proxy) must never see the token.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AdminClient:
    """Calls the admin API of one running sandbox."""

    def __init__(self, url: str, token: str, timeout: float = TIMEOUT) -> None:
        self.url, self._token, self._timeout = url.rstrip("/"), token, timeout

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> AdminClient:
        """The client of the sandbox that runs with `data_dir`; NoSandbox if none does."""
        state_file = defaults.state_file(data_dir)
        try:
            admin = json.loads(state_file.read_text(encoding="utf-8"))["admin"]
            return cls(str(admin["url"]), str(admin["token"]))
        except FileNotFoundError:
            raise NoSandbox(f"no sandbox is running with data dir {data_dir} (no {state_file})") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise NoSandbox(f"cannot read the admin API's address from {state_file}: {error}") from None

    def get(self, path: str, **query: str | int | None) -> Any:
        """GET `path` with the query parameters that are not None."""
        given = {name: str(value) for name, value in query.items() if value is not None}
        return self.call("GET", f"{path}?{urllib.parse.urlencode(given)}" if given else path)

    def deliver_now(self, destination: str | None = None) -> Any:
        """POST /delivernow: what waits for a retry (every destination, or one) is tried now."""
        return self.call("POST", "/delivernow", {} if destination is None else {"destination": destination})

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; the answer's JSON."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self._token}", "Content-Type": "application/json",
            "Accept": "application/json"})
        try:
            with DIRECT.open(request, timeout=self._timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise Refused(error.code, _message(error)) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise NoSandbox(f"no sandbox answers at {self.url}: {reason}") from None


def _message(error: urllib.error.HTTPError) -> str:
    """The server's `message`, else the status line."""
    try:
        message = json.loads(error.read()).get("message")
    except (ValueError, AttributeError, OSError):
        message = None
    return str(message) if message else f"HTTP {error.code} {error.reason}"
