"""Training > Labs: the guided exercises, each checked against the sandbox's real state.

Design rule: the page shows what the admin API's GET /labs and GET /labs/NAME answer, from the same
`LabsAdmin` (one evaluation, three surfaces), and Start calls the same `LabsAdmin.start` as
POST /labs/NAME/start, so a refusal reads word for word alike. Check is a GET form (`?check=1`): it
reads the state and changes nothing, so it needs no CSRF token and can be pressed, reloaded or
bookmarked at will; the results are shown only when asked, so the trainee tries first. Start changes
the configuration: a POST with the CSRF token and the configuration version, refused when stale.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.admin.bounds import bounded
from simulator.console.guard import form_field, see_other_with_notice
from simulator.console.render import LABS_PATH, config_version, console, page
from simulator.core.errors import BadRequest, ConfigError

LAB_PATH = f"{LABS_PATH}/{{name}}"
START_PATH = f"{LAB_PATH}/start"
STALE = ("The configuration changed since this page was loaded (someone committed, abandoned or "
         "submitted changes): the lab was not started. This is the current state.")


def lab_name(request: web.Request) -> str:
    return bounded(request.match_info["name"], "name")


async def overview(request: web.Request) -> web.Response:
    labs = (await console(request).ops.labs.overview())["labs"]
    return page(request, "labs.html", title="Labs", labs=labs, labs_path=LABS_PATH)


async def lab_page(request: web.Request, name: str, status: int = 200, checked: bool = False,
                   error: str = "") -> web.Response:
    """One lab's page: goal, Start, steps, hints, Check, and the results when checked."""
    labs = console(request).ops.labs
    shown: dict[str, Any] = await labs.view(name) if checked else labs.definition(name)
    return page(request, "labs_lab.html", status=status, title=f"Lab {shown['number']}: {shown['title']}",
                lab=shown, checked=checked, error=error, labs_path=LABS_PATH,
                lab_path=f"{LABS_PATH}/{shown['name']}")


async def show(request: web.Request) -> web.Response:
    return await lab_page(request, lab_name(request), checked="check" in request.query)


async def start(request: web.Request) -> web.Response:
    name, current = lab_name(request), console(request)
    current.ops.labs.lab(name)  # an unknown lab is the plain 404 page, whatever the form says
    if await form_field(request, "version") != config_version(current.config):
        return await lab_page(request, name, 409, error=STALE)
    try:
        answer = await current.ops.labs.start(name)
    except (ConfigError, BadRequest) as error:
        return await lab_page(request, name, 422, error=str(error))
    return see_other_with_notice(request, f"{LABS_PATH}/{name}", answer["message"])


ROUTES = (
    ("GET", LABS_PATH, overview),
    ("GET", LAB_PATH, show),
    ("POST", START_PATH, start),
)
