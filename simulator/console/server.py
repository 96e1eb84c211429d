"""The console's server, as the sandbox holds it: importing this module imports no aiohttp.

Design rule: it listens from the sandbox's start and builds the console (`app.py`: aiohttp, every
page, the templates) when its first client connects (`transport.http_server`): a sandbox nobody
browses, in one process or under the supervisor, never pays for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from simulator.admin.operated import RunningSandbox
from simulator.transport.http_server import ServedOnFirstConnection

if TYPE_CHECKING:
    from aiohttp import web


class ConsoleServer(ServedOnFirstConnection):
    """Serves the console on `host:port` (0: the OS chooses) until stopped; `token` (the admin API's)
    logs in too, as does `password`."""

    serves = "console"

    def __init__(self, sandbox: RunningSandbox, host: str, port: int, token: str, password: str) -> None:
        super().__init__(host, port)
        self.password = password
        self._sandbox, self._token = sandbox, token

    @property
    def url(self) -> str:
        return f"{super().url}/"

    def _application(self) -> tuple[web.Application, logging.Logger]:
        from simulator.console import app  # aiohttp, the pages and their templates: for the first client

        return app.build_app(self._sandbox, self._token, self.password), app.HTTP_LOG
