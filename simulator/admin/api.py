"""The admin HTTP API's application: aiohttp on the sandbox's event loop, JSON in and out, a bearer token
(`server.py` serves it, importing this module when the first client connects).

Design rule: HTTP only; the operations are `actions.py`, `tables.py` and `monitor.py`, the
handlers and their table `handlers.py`. Every path, `/openapi.json` included, needs
`Authorization: Bearer <token>` (compared in constant time); errors become JSON `{"message": ...}`
in one middleware: BadRequest 400, a missing or wrong token 401, NotFound 404, aiohttp's own
404/405 as they are, a body over 64 KiB 413, a compressed one 415, ConfigError 422. Anything else is
a bug: the last-resort middleware logs its traceback and answers `500 {"message": "internal error"}`,
never its text.
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler

from simulator.admin.bounds import LARGEST_BODY, TOO_LARGE
from simulator.admin.handlers import OPERATIONS, ROUTES, Operations
from simulator.admin.operated import RunningSandbox
from simulator.core.errors import BadRequest, ConfigError, CorruptEntry, NotFound, PartUnavailable

TOKEN = web.AppKey("token", str)
LOG = logging.getLogger(__name__)
HTTP_LOG = logging.getLogger("simulator.admin.http")  # aiohttp's server log, for this API


def client_fault(error: BaseException | None) -> bool:
    """Is `error`, or an exception it came from, malformed HTTP from the client?"""
    for _ in range(8):  # a chain of causes, never a loop
        if error is None or isinstance(error, HttpProcessingError):
            return error is not None
        error = error.__cause__ or error.__context__
    return False


class ClientFaultsAtDebug(logging.Filter):
    """aiohttp logs a client's malformed HTTP (answered 400 already, or a corrupt body nobody reads)
    as an error with a traceback: the client's fault, not a bug of ours, so DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and client_fault(record.exc_info[1]):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


HTTP_LOG.addFilter(ClientFaultsAtDebug())


def refusal(status: int, message: str) -> web.Response:
    """A JSON error answer."""
    headers = {"WWW-Authenticate": 'Bearer realm="tdcsim"'} if status == 401 else None
    return web.json_response({"message": message}, status=status, headers=headers)


@web.middleware
async def last_resort(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer an exception nothing expected with a fixed 500; its traceback goes to the log only."""
    try:
        return await handler(request)
    except (web.HTTPException, ConnectionError):  # aiohttp's answers; a client gone (nobody to answer)
        raise
    except Exception:
        LOG.exception("admin API: internal error answering %s %s", request.method, request.path)
        return refusal(500, "internal error")


@web.middleware
async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn the operations' exceptions into status codes with a JSON message."""
    try:
        return await handler(request)
    except BadRequest as error:
        return refusal(400, str(error))
    except NotFound as error:
        return refusal(404, str(error))
    except ConfigError as error:
        return refusal(422, str(error))
    except CorruptEntry as error:  # stored bytes that cannot be read back: the operation did nothing
        return refusal(503, f"{error}; nothing changed")
    except PartUnavailable as error:  # a part's process ended: the sandbox is stopping
        return refusal(503, str(error))
    except web.HTTPRequestEntityTooLarge:  # aiohttp's, reading a body past client_max_size
        return refusal(413, TOO_LARGE)
    except web.HTTPException as error:  # aiohttp's own: unknown path, wrong method
        if error.status < 400:
            raise
        return refusal(error.status, f"{error.reason}: {request.method} {request.path}")


@web.middleware
async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 401 unless the request carries the sandbox's bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return refusal(401, "authorization required: send 'Authorization: Bearer <token>' "
                            "(the token is in DATA/sandbox.json under admin.token)")
    given = token.strip().encode("utf-8", "surrogateescape")  # aiohttp reads non-UTF-8 bytes as surrogates
    if not secrets.compare_digest(given, request.app[TOKEN].encode()):
        return refusal(401, "the bearer token is wrong")
    return await handler(request)


@web.middleware
async def plain_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse, unread, a declared body over LARGEST_BODY (413; a chunked one when read) and a
    compressed one (415: aiohttp would inflate it, and a truncated gzip inflates to nothing)."""
    if (request.content_length or 0) > LARGEST_BODY:
        return unread(refusal(413, TOO_LARGE))
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        return unread(refusal(415, "the API reads a body as sent: no Content-Encoding (gzip, deflate, ...)"))
    return await handler(request)


def unread(response: web.Response) -> web.Response:
    """`response`, then the connection closes: the refused body is never parsed as a next request
    (aiohttp discards what arrives of it for a while, so that the client reads the answer)."""
    response.force_close()
    return response


def build_app(sandbox: RunningSandbox, token: str) -> web.Application:
    """The API's application: its routes, the token check, the body bound and the error answers."""
    app = web.Application(middlewares=[last_resort, answer_errors, require_token, plain_body],
                          client_max_size=LARGEST_BODY)
    app[TOKEN] = token
    app[OPERATIONS] = Operations.over(sandbox)
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app
