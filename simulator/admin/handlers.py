"""The admin API's handlers and their route table (the table `openapi.py` describes, path by path).

Design rule: a handler reads its query, path and body through `bounds.py` (every value within its
documented bound, path and query before the body), calls one operation and answers JSON; it decides
nothing. A change answers `{"message": ..., "uncommitted": true}`: it runs only after POST /commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulator.admin.actions import ConfigAdmin
from simulator.admin.bounds import (
    LARGEST_LINE,
    LARGEST_MID,
    LONGEST,
    LONGEST_HOP,
    MOST_FAULTS,
    MOST_HOSTS,
    bounded,
    hosts,
    integer,
    json_value,
    strings,
    text,
    whole_number,
)
from simulator.admin.history import commits_json, differences
from simulator.admin.labs import LabsAdmin
from simulator.admin.monitor import DEFAULT_TAIL, LONGEST_TAIL, MonitorAdmin
from simulator.admin.openapi import document
from simulator.admin.operated import RunningSandbox
from simulator.admin.tables import TablesAdmin
from simulator.core.errors import BadRequest
from simulator.core.reports.status import DEFAULT_SORT


@dataclass(frozen=True)
class Operations:
    """The operations the handlers call."""

    config: ConfigAdmin
    tables: TablesAdmin
    monitor: MonitorAdmin
    labs: LabsAdmin

    @classmethod
    def over(cls, sandbox: RunningSandbox) -> Operations:
        config = ConfigAdmin(sandbox.config_store(), sandbox.configured)
        monitor = MonitorAdmin(sandbox)
        return cls(config, TablesAdmin(config), monitor, LabsAdmin(sandbox, config, monitor))


OPERATIONS = web.AppKey("operations", Operations)


def ops(request: web.Request) -> Operations:
    return request.app[OPERATIONS]


def query(request: web.Request, name: str, default: str = "") -> str:
    return bounded(request.query.get(name, default), name)


def path_part(request: web.Request, name: str) -> str:
    return bounded(request.match_info[name], name)


async def json_body(request: web.Request) -> Any:
    """The request's JSON within the bounds (`bounds.py`); an empty body reads as `{}`."""
    return json_value(await request.read())


async def object_body(request: web.Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def answer(data: Any) -> web.Response:
    return web.json_response(data)


def changed(message: str) -> web.Response:
    return web.json_response({"message": message, "uncommitted": True})


async def get_config(request: web.Request) -> web.Response:
    return answer(ops(request).config.view(query(request, "level", "cluster")))


async def get_effective(request: web.Request) -> web.Response:
    machine = query(request, "machine") or None
    return answer(ops(request).config.effective(machine, query(request, "state", "committed")))


async def get_tdc(request: web.Request) -> web.Response:
    return answer(ops(request).config.tdc(query(request, "state", "committed")))


async def enable_tdc(request: web.Request) -> web.Response:
    body = await object_body(request)
    return changed(ops(request).config.enable(text(body, "address"), text(body, "level", "cluster")))


async def disable_tdc(request: web.Request) -> web.Response:
    body = await object_body(request)
    return changed(ops(request).config.disable(text(body, "level", "cluster")))


async def get_policies(request: web.Request) -> web.Response:
    return answer(ops(request).config.policies(query(request, "state", "committed")))


async def set_policy(request: web.Request) -> web.Response:
    body = await object_body(request)
    return changed(ops(request).config.set_policy(
        text(body, "policy"), text(body, "mode"), text(body, "address", ""), text(body, "level", "cluster")))


async def get_routes(request: web.Request) -> web.Response:
    level, state = query(request, "level", "cluster"), query(request, "state", "committed")
    return answer(ops(request).tables.routes(level, state))


async def add_route(request: web.Request) -> web.Response:
    body = await object_body(request)
    hops = hosts(body.get("destination"), "destination")
    return changed(ops(request).tables.add_route(text(body, "level", "cluster"), text(body, "domain"), hops))


async def delete_route(request: web.Request) -> web.Response:
    level = query(request, "level", "cluster")
    return changed(ops(request).tables.delete_route(level, path_part(request, "domain")))


async def get_dns(request: web.Request) -> web.Response:
    level, state = query(request, "level", "cluster"), query(request, "state", "committed")
    return answer(ops(request).tables.zone(level, state))


async def set_dns(request: web.Request) -> web.Response:
    body = await object_body(request)
    records = strings(body.get("hosts", []), "hosts", MOST_HOSTS, LONGEST_HOP)
    return changed(ops(request).tables.set_mx(text(body, "level", "cluster"), text(body, "domain"), records))


async def commit(request: web.Request) -> web.Response:
    body = await object_body(request)
    return answer({"message": await ops(request).config.commit(text(body, "comment", ""))})


async def get_commits(request: web.Request) -> web.Response:
    return answer(commits_json(ops(request).config.store.commits()))


async def get_diff(request: web.Request) -> web.Response:
    store = ops(request).config.store
    return answer(differences(store.committed, store.pending))


async def clear(request: web.Request) -> web.Response:
    return answer({"message": ops(request).config.clear()})


async def get_status(request: web.Request) -> web.Response:
    return answer(await ops(request).monitor.status(query(request, "machine") or None))


async def get_tophosts(request: web.Request) -> web.Response:
    machine, sort = query(request, "machine") or None, query(request, "sort", DEFAULT_SORT)
    return answer(await ops(request).monitor.tophosts(machine, sort))


async def get_log(request: web.Request) -> web.Response:
    lines = whole_number(request.query.get("lines", str(DEFAULT_TAIL)), "lines", LONGEST_TAIL)
    since = whole_number(request.query.get("since", "0"), "since", LARGEST_LINE, lowest=0)
    return answer(await ops(request).monitor.tail(query(request, "machine") or None, lines, since))


async def get_tracking(request: web.Request) -> web.Response:
    mid = whole_number(request.match_info["mid"], "mid", LARGEST_MID)
    return answer(await ops(request).monitor.tracking(query(request, "machine") or None, mid))


async def get_quarantine(request: web.Request) -> web.Response:
    return answer(await ops(request).monitor.quarantine(query(request, "machine") or None))


async def release(request: web.Request) -> web.Response:
    body = await object_body(request)
    mid, machine = integer(body, "mid", LARGEST_MID), text(body, "machine", "") or None
    return answer(await ops(request).monitor.release(machine, mid))


async def deliver_now(request: web.Request) -> web.Response:
    body = await object_body(request)
    destination = bounded(text(body, "destination", ""), "destination", LONGEST["domain"])
    return answer(await ops(request).monitor.deliver_now(destination or None))


async def get_faults(request: web.Request) -> web.Response:
    return answer(ops(request).monitor.faults())


async def put_faults(request: web.Request) -> web.Response:
    endpoint = path_part(request, "endpoint")
    specs = strings(await json_body(request), "faults", MOST_FAULTS)
    return answer(await ops(request).monitor.set_faults(endpoint, specs))


async def get_refused(request: web.Request) -> web.Response:
    return answer(await ops(request).monitor.refused(path_part(request, "endpoint")))


async def get_labs(request: web.Request) -> web.Response:
    return answer(await ops(request).labs.overview())


async def get_lab(request: web.Request) -> web.Response:
    return answer(await ops(request).labs.view(path_part(request, "name")))


async def start_lab(request: web.Request) -> web.Response:
    return answer(await ops(request).labs.start(path_part(request, "name")))


async def get_openapi(request: web.Request) -> web.Response:
    return answer(document(f"{request.scheme}://{request.host}"))


Route = tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]
ROUTES: tuple[Route, ...] = (
    ("GET", "/config", get_config),
    ("GET", "/config/effective", get_effective),
    ("GET", "/tdc", get_tdc),
    ("POST", "/tdc/enable", enable_tdc),
    ("POST", "/tdc/disable", disable_tdc),
    ("GET", "/policies", get_policies),
    ("POST", "/policies", set_policy),
    ("GET", "/routes", get_routes),
    ("POST", "/routes", add_route),
    ("DELETE", "/routes/{domain}", delete_route),
    ("GET", "/dns", get_dns),
    ("POST", "/dns", set_dns),
    ("POST", "/commit", commit),
    ("GET", "/commits", get_commits),
    ("GET", "/diff", get_diff),
    ("POST", "/clear", clear),
    ("GET", "/status", get_status),
    ("GET", "/tophosts", get_tophosts),
    ("GET", "/log", get_log),
    ("GET", "/tracking/{mid}", get_tracking),
    ("GET", "/quarantine", get_quarantine),
    ("POST", "/quarantine/release", release),
    ("POST", "/delivernow", deliver_now),
    ("GET", "/faults", get_faults),
    ("PUT", "/faults/{endpoint}", put_faults),
    ("GET", "/endpoints/{endpoint}/refused", get_refused),
    ("GET", "/labs", get_labs),
    ("GET", "/labs/{name}", get_lab),
    ("POST", "/labs/{name}/start", start_lab),
    ("GET", "/openapi.json", get_openapi),
)
