"""What every console page shares: the templates, the vendor's menus, the pending-changes banner, the
form fields (CSRF token, configuration version) and the plain error page.

Design rule: `MENUS` is the vendor's menu tree with every page's path; a menu entry is shown only
when the console serves its path (no dead links), so a page module adds itself by its routes. The
configuration version names the committed state and the pending change, so a form
loaded before someone else committed, abandoned or submitted is known to be stale. The templates
are one Environment per process, shared by every console it starts (a test run starts hundreds):
each template is compiled once, not once per console.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import jinja2
from aiohttp import web

from simulator.admin.actions import ConfigAdmin
from simulator.admin.handlers import Operations
from simulator.admin.history import differences
from simulator.admin.operated import RunningSandbox
from simulator.console.sessions import Session, Sessions

CONNECTOR_PATH = "/security-services/threat-defense-connector"
EDIT_CONNECTOR_PATH = f"{CONNECTOR_PATH}/edit"
COMMIT_PATH = "/commit"
DELIVERY_STATUS_PATH = "/monitor/delivery-status"
TRACKING_PATH = "/monitor/message-tracking"
POLICIES_PATH = "/mail-policies/incoming-mail-policies"
ROUTES_PATH = "/network/smtp-routes"
MAIL_LOG_PATH = "/system/mail-log"
PORTAL_PATH = "/threat-defense"
TRAFFIC_PATH = "/training/traffic-generator"
FAULTS_PATH = "/training/faults"
LABS_PATH = "/training/labs"


@dataclass(frozen=True)
class MenuPage:
    label: str
    path: str


@dataclass(frozen=True)
class Menu:
    label: str
    pages: tuple[MenuPage, ...]


#: The vendor's menus (the gateway's, then the Threat Defense portal's and the sandbox's training
#: pages); `served_menus` keeps the pages the console serves.
MENUS: tuple[Menu, ...] = (
    Menu("Monitor", (MenuPage("Delivery Status", DELIVERY_STATUS_PATH),
                     MenuPage("Message Tracking", TRACKING_PATH))),
    Menu("Mail Policies", (MenuPage("Incoming Mail Policies", POLICIES_PATH),)),
    Menu("Security Services", (MenuPage("Threat Defense Connector", CONNECTOR_PATH),)),
    Menu("Network", (MenuPage("SMTP Routes", ROUTES_PATH),)),
    Menu("System", (MenuPage("Mail Log", MAIL_LOG_PATH),)),
    Menu("Threat Defense", (MenuPage("Threat Defense Portal", PORTAL_PATH),)),
    Menu("Training", (MenuPage("Labs", LABS_PATH), MenuPage("Traffic Generator", TRAFFIC_PATH),
                      MenuPage("Faults", FAULTS_PATH))),
)


def served_menus(paths: set[str]) -> tuple[Menu, ...]:
    """`MENUS` with only the pages whose path is in `paths` (a menu left with none is not shown)."""
    menus = (Menu(menu.label, tuple(entry for entry in menu.pages if entry.path in paths)) for menu in MENUS)
    return tuple(menu for menu in menus if menu.pages)


@dataclass(frozen=True)
class Console:
    """What the handlers work with: the admin operations (the API's), the running sandbox, the
    sessions, the templates and the menus of the pages served."""

    ops: Operations
    sandbox: RunningSandbox
    sessions: Sessions
    templates: jinja2.Environment
    menus: tuple[Menu, ...] = ()

    @property
    def config(self) -> ConfigAdmin:
        return self.ops.config


CONSOLE = web.AppKey("console", Console)
SESSION = web.RequestKey("session", Session)  # the request's session (set by the session middleware)


@functools.cache
def templates() -> jinja2.Environment:
    """The console's templates, HTML-escaped unless marked safe; the same Environment every call."""
    return jinja2.Environment(loader=jinja2.PackageLoader("simulator.console", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def console(request: web.Request) -> Console:
    return request.app[CONSOLE]


def session(request: web.Request) -> Session | None:
    return request.get(SESSION)


def config_version(config: ConfigAdmin) -> str:
    """Changes with every commit and every change to what is pending."""
    store = config.store
    diff = json.dumps(differences(store.committed, store.pending), sort_keys=True, default=str)
    return f"{len(store.commits())}-{hashlib.sha256(diff.encode()).hexdigest()[:16]}"


def active_menu(menus: tuple[Menu, ...], path: str) -> Menu | None:
    return next((menu for menu in menus if any(path.startswith(page.path) for page in menu.pages)), None)


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render `template` with what every page shows; HTML, never cached."""
    current = console(request)
    visitor = session(request)
    logged_in = visitor is not None and visitor.logged_in
    shared = {
        "menus": current.menus if logged_in else (), "active": active_menu(current.menus, request.path),
        "path": request.path,
        "logged_in": logged_in, "csrf_token": visitor.csrf_token if visitor else "",
        "notice": visitor.take_notice() if visitor else "",
        "uncommitted": logged_in and current.config.store.pending is not None,
        "version": config_version(current.config), "commit_path": COMMIT_PATH,
    }
    html = current.templates.get_template(template).render(**shared, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def error_page(request: web.Request, status: int, reason: str) -> web.Response:
    """The plain error page: the status and a one-line reason."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return page(request, "error.html", status=status, title=f"{status} {phrase}", reason=reason)
