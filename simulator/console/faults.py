"""Training > Faults: each endpoint's fault plan (Threat Defense, the mailbox host), switched on and off.

Design rule: a form replaces one endpoint's whole plan through the operation the admin API's
PUT /faults/{endpoint} calls (`MonitorAdmin.set_faults`), so the same spec gets the same refusal, word
for word, and a refused plan changes nothing (422: the form again, with the error on its field).
Faults are not configuration: no Submit, no Commit; they apply at once, and the page says so and
where to watch them. The form shows the common faults as check boxes (untrusted certificate, TLS 1.1
only, down, a `4xx` answer) and any other fault in the CLI syntax, one a line; a form loaded before
the plan changed (someone else, the API, the CLI) changes nothing (409, with the current plan).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web

from simulator.admin.bounds import LONGEST_NUMBER, LONGEST_TEXT, MOST_FAULTS, strings
from simulator.admin.monitor import known_endpoint
from simulator.console.guard import form_field, see_other_with_notice
from simulator.console.render import (
    DELIVERY_STATUS_PATH,
    FAULTS_PATH,
    MAIL_LOG_PATH,
    console,
    page,
)
from simulator.core.errors import BadRequest, ConfigError
from simulator.endpoints.faults import KIND_TABLE, REPLY_COMMANDS, parse_fault

ENDPOINT_LABELS = {"threat_defense": "Threat Defense", "mailbox": "Mailbox host"}
#: The check boxes: (fault, label); the `4xx` answer has its own fields.
SWITCHES = (("untrusted-cert", "Untrusted certificate"), ("tls1.1-only", "TLS 1.1 only"),
            ("down", "Down (not listening)"))
DEFAULT_REPLY = ("MAIL", "451")
LONGEST_OTHER = MOST_FAULTS * (LONGEST_TEXT + 2)  # MOST_FAULTS specs of the longest, a line apart
STALE = ("The fault plan of {label} changed since this page was loaded (from another page, the API or "
         "tdcsim): nothing was changed. This is the current plan.")


@dataclass
class PlanForm:
    """One endpoint's form: what its fields show, and the errors of those that were refused."""

    endpoint: str
    plan: list[str]
    switched: set[str] = field(default_factory=set)
    reply_on: bool = False
    reply_command: str = DEFAULT_REPLY[0]
    reply_code: str = DEFAULT_REPLY[1]
    other: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ENDPOINT_LABELS.get(self.endpoint, self.endpoint)

    @classmethod
    def of(cls, endpoint: str, plan: list[str]) -> PlanForm:
        """The form showing `plan`: its common faults ticked, the rest as other faults."""
        shown = cls(endpoint, plan)
        others = []
        for spec in plan:
            if spec in dict(SWITCHES):
                shown.switched.add(spec)
            elif spec.startswith("reply:") and not shown.reply_on:
                shown.reply_on = True
                shown.reply_command, _, shown.reply_code = spec.removeprefix("reply:").partition("=")
            else:
                others.append(spec)
        shown.other = "\n".join(others)
        return shown

    def reply_spec(self) -> str:
        return f"reply:{self.reply_command}={self.reply_code}"

    def specs(self) -> list[str]:
        """The plan the fields ask for, in the order the endpoint applies them (later ones win)."""
        ticked = [fault for fault, _ in SWITCHES if fault in self.switched]
        reply = [self.reply_spec()] if self.reply_on else []
        return [*ticked, *reply, *(line.strip() for line in self.other.splitlines() if line.strip())]


def current_plans(request: web.Request) -> dict[str, list[str]]:
    return console(request).ops.monitor.faults()


def faults_page(request: web.Request, status: int = 200, shown: PlanForm | None = None,
                stale: str = "") -> web.Response:
    """Every endpoint's plan and form (`shown` instead of the current one for its endpoint)."""
    forms = [shown if shown is not None and shown.endpoint == endpoint else PlanForm.of(endpoint, plan)
             for endpoint, plan in current_plans(request).items()]
    return page(request, "faults.html", status=status, title="Faults", forms=forms, switches=SWITCHES,
                commands=REPLY_COMMANDS, kinds=KIND_TABLE, stale=stale, most_faults=MOST_FAULTS,
                mail_log=f"{MAIL_LOG_PATH}?{urlencode({'tdc': 'on'})}", delivery_status=DELIVERY_STATUS_PATH)


async def show(request: web.Request) -> web.Response:
    return faults_page(request)


async def posted_form(request: web.Request, endpoint: str, plan: list[str]) -> PlanForm:
    """The form as posted over `plan`, the plan now (each field within its bound: BadRequest past it)."""
    if await form_field(request, "clear") == "on":
        return PlanForm(endpoint, plan)
    posted = PlanForm(endpoint, plan, reply_on=await form_field(request, "reply") == "on",
                      reply_command=await form_field(request, "reply_command"),
                      reply_code=(await form_field(request, "reply_code", LONGEST_NUMBER)).strip(),
                      other=await form_field(request, "other", LONGEST_OTHER))
    posted.switched = {fault for fault, _ in SWITCHES if await form_field(request, fault) == "on"}
    return posted


async def apply(request: web.Request) -> web.Response:
    endpoint = request.match_info["endpoint"]
    known_endpoint(endpoint)  # the plain 404 page for another name
    plan = current_plans(request)[endpoint]
    posted = await posted_form(request, endpoint, plan)
    if await form_field(request, "plan", LONGEST_OTHER) != ",".join(plan):
        return faults_page(request, 409, stale=STALE.format(label=posted.label))
    try:
        specs = strings(posted.specs(), "faults", MOST_FAULTS)  # the API's bounds, in its words
        plans = await console(request).ops.monitor.set_faults(endpoint, specs)
    except (BadRequest, ConfigError) as error:
        posted.errors[refused_field(posted)] = str(error)
        return faults_page(request, 422, shown=posted)
    return see_other_with_notice(request, FAULTS_PATH, (
        f"{posted.label}: {', '.join(plans[endpoint]) or 'no faults'}. In effect now: "
        "faults are not configuration, there is nothing to commit."))


def refused_field(posted: PlanForm) -> str:
    """The field whose fault the operation refused: the `4xx` code's, else the other faults'."""
    if posted.reply_on:
        try:
            parse_fault(posted.reply_spec())
        except ValueError:
            return "reply_code"
    return "other"


ROUTES: tuple[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]], ...] = (
    ("GET", FAULTS_PATH, show),
    ("POST", f"{FAULTS_PATH}/{{endpoint}}", apply),
)
