"""The console's server: aiohttp on the sandbox's event loop, on its own port, beside the admin API.

Design rule: each page module has its routes in its `ROUTES` table (one page, one path, named as the
vendor's menus, `render.MENUS`), and `PAGES` lists the modules; the sandbox hands over the running
sandbox, the admin API's token (which logs in too) and the console's
password, generated at each start. Bodies are bounded as the API's are.
"""

from __future__ import annotations

import logging

from aiohttp import web

from simulator.admin.api import ClientFaultsAtDebug
from simulator.admin.bounds import LARGEST_BODY
from simulator.admin.handlers import Operations
from simulator.admin.operated import RunningSandbox
from simulator.console import (
    commit,
    connector,
    faults,
    labs,
    live_tail,
    login,
    maillog,
    monitor,
    policies,
    portal,
    smtp_routes,
    tracking,
    traffic,
)
from simulator.console.guard import MIDDLEWARES
from simulator.console.render import CONSOLE, Console, served_menus, templates
from simulator.console.sessions import Sessions
from simulator.core.errors import ServerStartError

HTTP_LOG = logging.getLogger("simulator.console.http")  # aiohttp's server log, for the console
HTTP_LOG.addFilter(ClientFaultsAtDebug())

#: The page modules, each with its `ROUTES`: (method, path, handler).
PAGES = (login, connector, commit, policies, smtp_routes, monitor, tracking, maillog, portal, traffic,
         faults, labs)
ROUTES = tuple(route for module in PAGES for route in module.ROUTES)


def build_app(sandbox: RunningSandbox, token: str, password: str) -> web.Application:
    """The console's application: its pages, sessions, CSRF checks and error pages."""
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=LARGEST_BODY)
    served = {path for method, path, _ in ROUTES if method == "GET"}
    app[CONSOLE] = Console(Operations.over(sandbox), sandbox, Sessions(password, token), templates(),
                           served_menus(served))
    app[login.STATIC] = login.static_files()
    live_tail.install(app)  # open live tails end at shutdown: an open Mail Log page never delays a stop
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


class ConsoleServer:
    """Serves the console on `host:port` (0: the OS chooses) until stopped."""

    def __init__(self, sandbox: RunningSandbox, host: str, port: int, token: str, password: str) -> None:
        self.host, self.port, self.password = host, port, password
        self._sandbox, self._token = sandbox, token
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Listen; raise `ServerStartError` if the address cannot be bound."""
        app = build_app(self._sandbox, self._token, self.password)
        runner = web.AppRunner(app, access_log=None, logger=HTTP_LOG)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as error:
            await runner.cleanup()
            raise ServerStartError("console", self.host, self.port, error.strerror or str(error)) from error
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
