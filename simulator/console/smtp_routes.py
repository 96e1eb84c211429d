"""Network > SMTP Routes: the routes table per level (USEDNS included), Add Route, Delete Route, and the
catch-all pitfall made visible.

Design rule: Add and Delete call the admin actions the API's POST /routes and DELETE /routes/{domain}
call (`TablesAdmin.add_route` / `delete_route`, the destination read by `bounds.hosts`), so the same
input gets the same refusal, word for word, shown on its field; nothing is then pending. A form
loaded before the configuration changed is stale: nothing changes, the current state is shown.
The pitfall (BEHAVIOUR.md §1 and §4.6; the vendor chapter's section "Enabling the Threat Defense
Connector on the Email Gateway", its Before You Begin note) is found by the router's own lookup,
`routing.route_for`: an intake domain whose route is the catch-all `ALL` sends the copies there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulator.admin.bounds import LONGEST, bounded, hosts
from simulator.console.guard import form_field, see_other_with_notice
from simulator.console.levels import mode_label, modes, source
from simulator.console.render import ROUTES_PATH, config_version, console, page
from simulator.core.config.cluster import ClusterConfig, Level
from simulator.core.config.text import CATCH_ALL, USEDNS, format_destination, format_hop
from simulator.core.config.values import MailPolicy, MxRecord, SmtpRoute, domain_of
from simulator.core.errors import BadRequest, ConfigError, NoRoute
from simulator.core.mail.routing import mx_lookup, route_for

ADD_ROUTE_PATH, DELETE_ROUTE_PATH = f"{ROUTES_PATH}/add", f"{ROUTES_PATH}/delete"
STALE = ("The configuration changed since this page was loaded (someone committed, abandoned or "
         "submitted changes): nothing was changed. This is the current state.")
CHAPTER = ("its chapter “Integrating the Secure Email Gateway with Threat Defense”, section "
           "“Enabling the Threat Defense Connector on the Email Gateway”, note under “Before you begin”")


@dataclass(frozen=True)
class CaughtIntake:
    """An intake domain whose copies the catch-all route takes, instead of DNS (its MX records)."""

    domain: str
    addresses: tuple[str, ...]
    catch_all: str  # the catch-all's destination, as the table shows it


def intake_addresses(config: ClusterConfig, level: Level) -> tuple[str, ...]:
    """The intake addresses `level` sends copies to: the connector's, and each Custom policy's."""
    connector = str(config.inherited(level, "tdc.intake_address").value or "")
    policies: tuple[MailPolicy, ...] = config.inherited(level, "incoming_policies").value
    custom = [policy.tdc_intake for policy in policies if policy.tdc == "custom"]
    return tuple(dict.fromkeys(address for address in (connector, *custom) if address))


def caught_by_catch_all(addresses: Iterable[str], routes: Sequence[SmtpRoute]) -> list[CaughtIntake]:
    """The intake domains that have no route of their own, so the catch-all `ALL` takes their copies
    (an `ALL` that says USEDNS takes nothing: DNS decides, as it should)."""
    by_domain: dict[str, list[str]] = {}
    for address in addresses:
        by_domain.setdefault(domain_of(address), []).append(address)
    caught = []
    for domain, named in by_domain.items():
        route = route_for(domain, routes)
        if route is not None and route.domain.upper() == CATCH_ALL and not route.use_dns:
            caught.append(CaughtIntake(domain, tuple(named), format_destination(route)))
    return caught


def where_it_goes(route: SmtpRoute, zone: Sequence[MxRecord]) -> str:
    """What a route's destination means, in words (USEDNS of one domain: its MX hosts)."""
    if route.discard:
        return "mail is dropped"
    if not route.use_dns:
        return "these hosts, lowest priority first"
    if route.domain.startswith(".") or route.domain.upper() == CATCH_ALL:
        return "each recipient domain's MX records"
    try:
        return "MX records: " + ", ".join(format_hop(hop) for hop in mx_lookup(route.domain, zone))
    except NoRoute:
        return "MX records: none in the sandbox's DNS zone table"


def shortened(destination: str) -> str:
    """A destination's first host, and how many more it has."""
    first, *more = destination.split(", ")
    return f"{first} and {len(more)} more" if more else first


def level_named(request: web.Request, text: str) -> Level:
    """The level `text` names (`cluster` when empty; the 404 page for an unknown group or machine)."""
    return console(request).config.level(text or "cluster")


def back_to(level: Level) -> str:
    return f"{ROUTES_PATH}?{urlencode({'mode': str(level)})}"


def add_link(level: Level, domain: str = "", destination: str = "") -> str:
    query = {"mode": str(level), **({"domain": domain, "destination": destination} if domain else {})}
    return f"{ADD_ROUTE_PATH}?{urlencode(query)}"


def routes_context(request: web.Request, level: Level) -> dict[str, Any]:
    """What both pages show of `level`: its routes table, where it comes from, and the pitfall."""
    working = console(request).config.config()
    found = working.inherited(level, "routes")
    zone = working.inherited(level, "dns_zone").value
    rows = [{"domain": route.domain, "hosts": format_destination(route).split(", "), "index": index,
             "meaning": where_it_goes(route, zone)} for index, route in enumerate(found.value, 1)]
    caught = caught_by_catch_all(intake_addresses(working, level), found.value)
    return {"mode": str(level), "mode_label": mode_label(level), "routes": rows,
            "table_source": source(found, level), "chapter": CHAPTER,
            "caught": [{"domain": each.domain, "addresses": ", ".join(each.addresses),
                        "fix": add_link(level, each.domain, USEDNS)} for each in caught],
            "catch_all": shortened(caught[0].catch_all) if caught else "",
            "routes_path": ROUTES_PATH, "add_path": ADD_ROUTE_PATH, "delete_path": DELETE_ROUTE_PATH}


def routes_page(request: web.Request, level: Level, status: int = 200, stale: str = "") -> web.Response:
    working = console(request).config.config()
    return page(request, "smtp_routes.html", status=status, title="SMTP Routes", stale=stale,
                with_delete=True, modes=modes(working), add_route=add_link(level),
                **routes_context(request, level))


async def show(request: web.Request) -> web.Response:
    return routes_page(request, level_named(request, request.query.get("mode", "")))


def add_form(request: web.Request, level: Level, status: int = 200, /, **shown: str) -> web.Response:
    """The Add Route form, empty unless values are given."""
    values = {"domain": "", "destination": "", "domain_error": "", "destination_error": "",
              "form_error": "", **shown}
    return page(request, "smtp_routes_add.html", status=status, title="Add SMTP Route", with_delete=False,
                back=back_to(level), longest_domain=LONGEST["domain"],
                longest_destination=LONGEST["destination"], **routes_context(request, level), **values)


async def add_page(request: web.Request) -> web.Response:
    level = level_named(request, request.query.get("mode", ""))
    prefilled = {name: bounded(request.query.get(name, "")[:LONGEST[name]], name)
                 for name in ("domain", "destination")}
    return add_form(request, level, **prefilled)


async def typed(request: web.Request, name: str) -> str:
    """What was typed in the field `name`, cut to its bound, to show it again in the form."""
    value = (await request.post()).get(name, "")
    return bounded(value[:LONGEST[name]], name) if isinstance(value, str) else ""


def field_of(error: ConfigError | BadRequest) -> str:
    """The form field a refusal is about (`form`: the table as a whole, e.g. full)."""
    if isinstance(error, BadRequest):
        return "domain"
    return {"domain": "domain", "destination": "destination", "host": "destination"}.get(error.key, "form")


async def add(request: web.Request) -> web.Response:
    level = level_named(request, await form_field(request, "level"))
    shown = {name: await typed(request, name) for name in ("domain", "destination")}
    if await form_field(request, "version") != config_version(console(request).config):
        return add_form(request, level, 409, form_error=STALE, **shown)
    try:  # the API's order: the destination's bounds first, then the domain's, then the route itself
        hops = hosts(await form_field(request, "destination", LONGEST["destination"], "destination"),
                     "destination")
    except BadRequest as error:
        return add_form(request, level, 422, destination_error=str(error), **shown)
    try:
        domain = await form_field(request, "domain", LONGEST["domain"], "domain")
        message = console(request).ops.tables.add_route(str(level), domain, hops)
    except (BadRequest, ConfigError) as error:
        return add_form(request, level, 422, **{f"{field_of(error)}_error": str(error)}, **shown)
    return done(request, level, message)


def done(request: web.Request, level: Level, message: str) -> web.Response:
    return see_other_with_notice(request, back_to(level), message)


async def delete(request: web.Request) -> web.Response:
    level = level_named(request, await form_field(request, "level"))
    if await form_field(request, "version") != config_version(console(request).config):
        return routes_page(request, level, 409, STALE)
    domain = await form_field(request, "domain", LONGEST["domain"], "domain")
    return done(request, level, console(request).ops.tables.delete_route(str(level), domain))


ROUTES = (
    ("GET", ROUTES_PATH, show),
    ("GET", ADD_ROUTE_PATH, add_page),
    ("POST", ADD_ROUTE_PATH, add),
    ("POST", DELETE_ROUTE_PATH, delete),
)
