"""The console's middlewares: security headers, plain error pages, sessions, CSRF and the login.

Design rule: every POST carries its session's CSRF token in a hidden field, compared in constant
time; without it, or with a wrong one, the answer is 403 and no handler runs. Every page but the
login page and the static files needs a logged-in session. No CORS header is ever sent; every page
forbids framing and other origins' content and is never cached. Errors are a plain page with a
one-line reason: a traceback goes to the log only, never to the browser.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from simulator.admin.bounds import LONGEST_TEXT, bounded
from simulator.console.render import SESSION, console, error_page, session
from simulator.console.sessions import COOKIE, same_secret
from simulator.core.errors import BadRequest, ConfigError, CorruptEntry, NotFound, PartUnavailable

LOG = logging.getLogger(__name__)
LOGIN_PATH, STATIC_PREFIX = "/login", "/static/"
CSP = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
BAD_TOKEN = ("The form's security token is missing or wrong: nothing was changed. "
             "Reload the page and try again.")


def see_other(location: str) -> web.Response:
    """A 303 redirect (a returned response, so that every middleware adds its headers)."""
    return web.Response(status=303, headers={"Location": location})


def see_other_with_notice(request: web.Request, location: str, notice: str) -> web.Response:
    """A 303 to `location`, whose page shows `notice` once (what the POST just did)."""
    visitor = session(request)
    if visitor is not None:
        visitor.notice = notice
    return see_other(location)


def with_cookie(response: web.Response, session_id: str) -> web.Response:
    response.set_cookie(COOKIE, session_id, httponly=True, samesite="Strict", path="/")
    return response


async def form_field(request: web.Request, name: str, longest: int = LONGEST_TEXT, called: str = "") -> str:
    """A text field of the posted form ('' when absent), within its bound (BadRequest past it, naming
    the field as `called`: the API's name for it)."""
    value = (await request.post()).get(name, "")
    return bounded(value, called or name, longest) if isinstance(value, str) else ""


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:  # aiohttp's own answers that no middleware turned into a page
        error.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    static = request.path.startswith(STATIC_PREFIX) and response.status == 200
    response.headers["Cache-Control"] = "no-cache" if static else "no-store"
    return response


@web.middleware
async def plain_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into the plain error page."""
    try:
        return await handler(request)
    except BadRequest as error:
        return error_page(request, 400, str(error))
    except NotFound as error:
        return error_page(request, 404, str(error))
    except ConfigError as error:
        return error_page(request, 422, str(error))
    except CorruptEntry as error:
        return error_page(request, 503, f"{error}; nothing changed")
    except PartUnavailable as error:
        return error_page(request, 503, str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_page(request, error.status, f"{error.reason}: {request.method} {request.path}")
    except ConnectionError:  # the browser went away: nobody to answer
        raise
    except Exception:
        LOG.exception("console: internal error answering %s %s", request.method, request.path)
        return error_page(request, 500, "Internal error: the console could not show this page.")


@web.middleware
async def find_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    found = console(request).sessions.find(request.cookies.get(COOKIE))
    if found is not None:
        request[SESSION] = found
    return await handler(request)


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    """403 for a POST without its session's CSRF token; the login page for a visitor not logged in."""
    if request.path.startswith(STATIC_PREFIX):
        return await handler(request)
    visitor = session(request)
    if request.method == "POST":
        token = await form_field(request, "csrf_token")
        if visitor is None or not token or not same_secret(token, visitor.csrf_token):
            return error_page(request, 403, BAD_TOKEN)
    if request.path != LOGIN_PATH and (visitor is None or not visitor.logged_in):
        back = request.path_qs if request.method == "GET" else request.path
        return see_other(f"{LOGIN_PATH}?next={quote(back, safe='/')}")
    return await handler(request)


MIDDLEWARES = (security_headers, plain_errors, find_session, require_login)
