"""Monitor > Delivery Status: every machine's destination queues (the.tdc.queue always among them)
with the counters `tdcsim status` shows, and `tophosts` for one machine sorted by a chosen counter
(BEHAVIOUR.md §6).

Design rule: the page calls the admin API's operations (`MonitorAdmin.status`, `.tophosts`), so the
same machine and sort get the same rows, and the same refusal word for word: an unknown machine is
the plain 404 page, an unknown sort the plain 400 page. `tophosts` is a machine-mode command (§6.2):
with no machine chosen the page says so instead of answering for the whole cluster.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from simulator.admin.bounds import bounded
from simulator.admin.monitor import machine_mode_only
from simulator.console.render import DELIVERY_STATUS_PATH, console, page
from simulator.core.reports.status import COUNTERS, DEFAULT_SORT, DOWN_NOTE
from simulator.core.reports.tracking import stamp

#: (the counter's JSON field, its full name, its tophosts heading, its sort key), in the vendor's order.
COLUMNS = tuple((field, full, heading, key) for (key, heading, full, _), field in zip(COUNTERS, (
    "active_recipients", "connections_out", "delivered_recipients", "soft_bounced_events",
    "hard_bounced_recipients"), strict=True))


def when(iso: str | None) -> str:
    """An ISO time of the API's answer in the tracking form, or "never"."""
    return stamp(datetime.fromisoformat(iso)) if iso else "never"


def rows(destinations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API's rows with what the page shows: the counters in order and the last attempt."""
    return [{"host": row["host"], "down": row["down"], "last_attempt": when(row["last_attempt"]),
             "counts": [f"{row[field]:,}" for field, *_ in COLUMNS]} for row in destinations]


async def show(request: web.Request) -> web.Response:
    monitor = console(request).ops.monitor
    machine = bounded(request.query.get("machine", ""), "machine") or None
    sort = bounded(request.query.get("sort", DEFAULT_SORT), "sort")
    status = await monitor.status(None)
    tophosts = await monitor.tophosts(machine, sort) if machine is not None else None
    return page(request, "monitor.html", title="Delivery Status", as_of=when(status["as_of"]),
                machines={name: rows(found) for name, found in status["machines"].items()},
                columns=COLUMNS, machine=machine or "", sort=sort, down_note=DOWN_NOTE,
                machine_mode_only=str(machine_mode_only(list(status["machines"]))),
                tophosts=rows(tophosts["hosts"]) if tophosts else None)


ROUTES = (("GET", DELIVERY_STATUS_PATH, show),)
