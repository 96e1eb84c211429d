"""Logging in and out, the home page and the static files.

Design rule: a wrong login is the login page again with one message that says nothing of which part
was wrong. After a login the browser goes back to the page it asked for, if that is a path of this
console (never another site: `//host` and the like go home). Static files are read once, from the
package, and served from memory by name: no path from the request ever reaches the file system.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from simulator.admin.bounds import LONGEST_TEXT
from simulator.console.guard import LOGIN_PATH, see_other, with_cookie
from simulator.console.render import CONNECTOR_PATH, SESSION, console, page, session
from simulator.console.sessions import COOKIE, USER

WRONG_LOGIN = "Login failed: the user name or the password is not right."
#: The static files' types, by suffix (a file of another suffix in the folder is not served).
STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".js": "text/javascript"}
STATIC = web.AppKey("static", dict)


def suffix(name: str) -> str:
    return name[name.rfind("."):] if "." in name else ""


def static_files() -> dict[str, bytes]:
    """Every static file the console serves (the package's `static/` folder), by name."""
    folder = resources.files("simulator.console").joinpath("static")
    return {each.name: each.read_bytes() for each in folder.iterdir()
            if each.is_file() and suffix(each.name) in STATIC_TYPES}


def safe_next(target: str) -> str:
    """`target` if it is a path of this console, else the home page."""
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if local and target.isprintable() and len(target) < 2000 else "/"


async def home(request: web.Request) -> web.Response:
    return see_other(CONNECTOR_PATH)


async def login_page(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next", "/"))
    visitor = session(request)
    if visitor is not None and visitor.logged_in:
        return see_other(target)
    if visitor is not None:
        return login_form(request, target)
    session_id, request[SESSION] = console(request).sessions.anonymous()  # its CSRF token is the form's
    return with_cookie(login_form(request, target), session_id)


def login_form(request: web.Request, target: str, failed: str = "", user: str = USER) -> web.Response:
    return page(request, "login.html", title="Log In", next=target, failed=failed, user=user)


async def log_in(request: web.Request) -> web.Response:
    form = await request.post()
    user, password, target = (str(form.get(name, "")) for name in ("username", "password", "next"))
    target, user = safe_next(target), user[:LONGEST_TEXT]
    found = console(request).sessions.log_in(request.cookies.get(COOKIE), user, password)
    if found is None:
        return login_form(request, target, WRONG_LOGIN, user)
    return with_cookie(see_other(target), found[0])


async def log_out(request: web.Request) -> web.Response:
    console(request).sessions.end(request.cookies.get(COOKIE))
    response = see_other(LOGIN_PATH)
    response.del_cookie(COOKIE, path="/")
    return response


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    files = request.app[STATIC]
    if name not in files:
        raise web.HTTPNotFound()
    return web.Response(body=files[name], content_type=STATIC_TYPES[suffix(name)])


ROUTES = (
    ("GET", "/", home),
    ("GET", LOGIN_PATH, login_page),
    ("POST", LOGIN_PATH, log_in),
    ("POST", "/logout", log_out),
    ("GET", "/static/{name}", static),
)
