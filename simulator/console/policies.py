"""Mail Policies > Incoming Mail Policies, with the Threat Defense column.

Being built (issue 12): no routes yet, so no menu entry is shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

ROUTES: tuple[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]], ...] = ()
