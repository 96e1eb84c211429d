"""The admin API's server, as the sandbox holds it: importing this module imports no aiohttp.

Design rule: it listens from the sandbox's start and builds the API (`api.py`, which imports
aiohttp and every handler) when its first client connects (`transport.http_server`): a sandbox
nobody asks over HTTP, in one process or under the supervisor, never pays for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from simulator.admin.operated import RunningSandbox
from simulator.transport.http_server import ServedOnFirstConnection

if TYPE_CHECKING:
    from aiohttp import web


class AdminServer(ServedOnFirstConnection):
    """Serves the admin API on `host:port` (0: the OS chooses) until stopped."""

    serves = "admin API"

    def __init__(self, sandbox: RunningSandbox, host: str, port: int, token: str) -> None:
        super().__init__(host, port)
        self.token = token
        self._sandbox = sandbox

    def _application(self) -> tuple[web.Application, logging.Logger]:
        from simulator.admin import api  # aiohttp and the handlers: for the first client only

        return api.build_app(self._sandbox, self.token), api.HTTP_LOG

    def served(self) -> set[tuple[str, str]]:
        """(method, path) of every route the running server answers (what /openapi.json must describe);
        the API is built once a client has connected."""
        assert self._runner is not None, "the admin API is not serving (no client has connected yet)"
        return {(route.method, route.resource.canonical) for route in self._runner.app.router.routes()
                if route.resource is not None}
