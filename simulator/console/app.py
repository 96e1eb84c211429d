"""The console's application: aiohttp on the sandbox's event loop, on its own port, beside the admin API
(`server.py` serves it, importing this module when the first client connects).

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
