"""The admin HTTP API's server: aiohttp on the sandbox's event loop, JSON in and out, a bearer token.

Design rule: HTTP only; the operations are `actions.py`, `tables.py` and `monitor.py`, the
handlers and their table `handlers.py`. Every path, `/openapi.json` included, needs
`Authorization: Bearer <token>` (compared in constant time); errors become JSON `{"message": ...}`
in one middleware: BadRequest 400, a missing or wrong token 401, NotFound 404, aiohttp's own
404/405 as they are, a body over 1 MiB 413, ConfigError 422. Anything else is a bug: the last-resort
middleware logs its traceback and answers `500 {"message": "internal error"}`, never its text.
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from simulator.admin.bounds import LARGEST_BODY, TOO_LARGE
from simulator.admin.handlers import OPERATIONS, ROUTES, Operations
from simulator.admin.operated import RunningSandbox
from simulator.core.errors import BadRequest, ConfigError, NotFound, ServerStartError

TOKEN = web.AppKey("token", str)
LOG = logging.getLogger(__name__)


def refusal(status: int, message: str) -> web.Response:
    """A JSON error answer."""
    headers = {"WWW-Authenticate": 'Bearer realm="tdcsim"'} if status == 401 else None
    return web.json_response({"message": message}, status=status, headers=headers)


@web.middleware
async def last_resort(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer an exception nothing expected with a fixed 500; its traceback goes to the log only."""
    try:
        return await handler(request)
    except web.HTTPException:
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
async def limit_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 413 to a declared body over LARGEST_BODY without reading it (a chunked one: when read)."""
    if (request.content_length or 0) > LARGEST_BODY:
        return refusal(413, TOO_LARGE)
    return await handler(request)


def build_app(sandbox: RunningSandbox, token: str) -> web.Application:
    """The API's application: its routes, the token check, the body bound and the error answers."""
    app = web.Application(middlewares=[last_resort, answer_errors, require_token, limit_body],
                          client_max_size=LARGEST_BODY)
    app[TOKEN] = token
    app[OPERATIONS] = Operations.over(sandbox)
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


class AdminServer:
    """Serves the admin API on `host:port` (0: the OS chooses) until stopped."""

    def __init__(self, sandbox: RunningSandbox, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self._sandbox = sandbox
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen; raise `ServerStartError` if the address cannot be bound."""
        runner = web.AppRunner(build_app(self._sandbox, self.token), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as error:
            await runner.cleanup()
            raise ServerStartError("admin API", self.host, self.port, error.strerror or str(error)) from error
        self.port = runner.addresses[0][1]
        self._runner = runner

    def served(self) -> set[tuple[str, str]]:
        """(method, path) of every route the running server answers (what /openapi.json must describe)."""
        assert self._runner is not None, "the admin API is not running"
        return {(route.method, route.resource.canonical) for route in self._runner.app.router.routes()
                if route.resource is not None}

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
