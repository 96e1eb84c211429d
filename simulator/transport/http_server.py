"""An HTTP server that listens from its start but builds its application when the first client connects:
what the admin API (`admin.server`) and the console (`console.server`) both are, in one process or
under the process supervisor.

Why: most sandboxes (every test's, every `tdcsim sandbox` a test starts only to crash or stop it)
never serve an HTTP request, and building an application costs: importing aiohttp alone (its
connector builds SSL contexts at import), then the admin API's or the console's modules and routes.
So this module imports no aiohttp until a client connects; a subclass says what to serve in
`_application`, importing its own modules there. A busy port still fails `start` (`ServerStartError`),
before the sandbox publishes anything, and a client that connects before the application is built
waits in the listening queue, then is answered.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from simulator.core.errors import ServerStartError

if TYPE_CHECKING:  # imported when a client first connects (`_serve`), never at start
    from aiohttp import web

#: The listening queue (aiohttp's default).
BACKLOG = 128


class ServedOnFirstConnection:
    """Serves `_application()` on `host:port` (0: the OS chooses) from the first connection until
    stopped; `start` only binds and listens."""

    #: What a bind error and the log name ("admin API", "console").
    serves = ""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self._building: asyncio.Task[None] | None = None

    def _application(self) -> tuple[web.Application, logging.Logger]:
        """The application to serve and the logger for aiohttp's server log: built once, when the first
        client connects."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen; raise `ServerStartError` if the address cannot be bound."""
        try:
            family, _, _, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
            listening = socket.create_server(address, family=family, backlog=BACKLOG)
        except OSError as error:
            raise ServerStartError(self.serves, self.host, self.port, error.strerror or str(error)) from error
        self._socket, self.port = listening, listening.getsockname()[1]
        asyncio.get_running_loop().add_reader(listening, self._connected)

    def _connected(self) -> None:
        assert self._socket is not None and self._building is None
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._socket)
        self._building = loop.create_task(self._serve(self._socket))

    async def _serve(self, listening: socket.socket) -> None:
        from aiohttp import web  # the first client pays for it, not every start

        logger = logging.getLogger("simulator.sandbox")
        try:
            app, logger = self._application()
            runner = web.AppRunner(app, access_log=None, logger=logger)
            await runner.setup()
            await web.SockSite(runner, listening, backlog=BACKLOG).start()
        except Exception:  # a waiting client is refused rather than left waiting
            logger.exception("the %s cannot serve", self.serves)
            listening.close()
            raise
        self._runner = runner

    async def stop(self) -> None:
        if self._socket is None:  # never listened
            return
        if self._building is None:
            asyncio.get_running_loop().remove_reader(self._socket)
        else:
            await asyncio.gather(self._building, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._socket.close()
        self._socket = self._building = None
