"""Training > Traffic Generator: a seeded sample sent through a machine's public or private listener,
and the MID the gateway gave it, with links to Message Tracking and the Mail Log.

Design rule: the sample is the one `simulator.core.mail.samples` builds for the seed (the tests' own
factory), sent with aiosmtplib from the console's event loop as plain SMTP: the sandbox's listeners
are on loopback, which the private listener lets relay (relay networks 127.0.0.0/8), and neither
needs STARTTLS for mail (only for AUTH), so the console needs no CA. What the listener answers is shown
word for word: a refusal is a result, not an error, and a listener that does not answer is named.
The seed defaults to a counter per console, so each send differs and a new sandbox repeats the run.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import quote, urlencode

import aiosmtplib
from aiohttp import web

from simulator.admin.bounds import whole_number
from simulator.console.guard import form_field, see_other
from simulator.console.render import (
    CONNECTOR_PATH,
    MAIL_LOG_PATH,
    TRACKING_PATH,
    TRAFFIC_PATH,
    console,
    page,
)
from simulator.core.config.values import GatewayConfig
from simulator.core.errors import BadRequest
from simulator.core.mail.samples import (
    KINDS_BY_NAME,
    SAMPLE_KINDS,
    MessageFactory,
    Outgoing,
    SampleKind,
    accepted_mid,
    split_recipients,
)

TIMEOUT = 10.0  # seconds for each step of the SMTP conversation
LARGEST_SEED = 2**32 - 1
KEPT = 10  # sends shown under Recent samples
LISTENERS = {"auto": "As the sample needs (private for Outgoing, public for the others)",
             "inbound": "Public listener (incoming mail)", "relay": "Private listener (relay, outgoing)"}
LISTENER_NAMES = {"inbound": "public", "relay": "private"}
NO_SPLIT = ("Nothing can split on {machine}: its running incoming mail policies ({names}) take every local "
            "recipient into one policy. Declare a second policy with recipients in a --config file (a "
            '[[cluster.policies]] table, e.g. name = "SALES", recipients = ["@sales.example.com"], with '
            "sales.example.com in local_domains) and start the sandbox with it; "
            'make sandbox ARGS="--config sandbox.example.toml" declares two.')


@dataclass(frozen=True)
class SendResult:
    """One sample sent: what was sent, where, each command's reply, and the MID if one was given."""

    number: int
    seed: int
    kind: SampleKind
    machine: str
    chosen_listener: str  # as chosen on the form: auto, inbound or relay
    listener: str
    address: tuple[str, int]
    mail: Outgoing
    replies: tuple[tuple[str, str], ...]
    mid: int | None
    problem: str = ""

    @property
    def tracking_path(self) -> str:
        return f"{TRACKING_PATH}/{quote(self.machine, safe='')}/{self.mid}"

    @property
    def mail_log_path(self) -> str:
        return f"{MAIL_LOG_PATH}?{urlencode({'machine': self.machine, 'mid': self.mid})}"


@dataclass
class TrafficDesk:
    """The console's own seed counter and its latest sends (the only state this page keeps)."""

    next_seed: int = 1
    numbers: count[int] = field(default_factory=lambda: count(1))
    sent: deque[SendResult] = field(default_factory=lambda: deque(maxlen=KEPT))

    def take_seed(self) -> int:
        """The counter's seed, the next one made ready."""
        self.next_seed += 1
        return self.next_seed - 1


DESKS: weakref.WeakKeyDictionary[web.Application, TrafficDesk] = weakref.WeakKeyDictionary()


def desk(request: web.Request) -> TrafficDesk:
    return DESKS.setdefault(request.app, TrafficDesk())


async def converse(address: tuple[str, int], mail: Outgoing) -> tuple[list[tuple[str, str]], str]:
    """Send `mail` to the listener at `address`: each command with its reply, and the problem if the
    listener could not be reached or stopped answering (the replies so far are kept)."""
    client = aiosmtplib.SMTP(hostname=address[0], port=address[1], start_tls=False, timeout=TIMEOUT,
                             local_hostname="console.sandbox.test")
    said: list[tuple[str, str]] = []
    command = "Connect"
    try:
        await client.connect()
        command = f"MAIL FROM:<{mail.mail_from}>"
        said.append((command, reply_line(await client.mail(mail.mail_from))))
        accepted = 0
        for recipient in mail.rcpt_tos:
            command = f"RCPT TO:<{recipient}>"
            try:
                said.append((command, reply_line(await client.rcpt(recipient))))
                accepted += 1
            except aiosmtplib.SMTPRecipientRefused as refused:
                said.append((command, reply_line(refused)))
        if accepted:
            command = "DATA"
            said.append((command, reply_line(await client.data(mail.data))))
        command = "QUIT"
        await client.quit()
    except aiosmtplib.SMTPResponseException as refused:
        said.append((command, reply_line(refused)))
    except (aiosmtplib.SMTPException, OSError) as error:
        return said, f"The listener at {address[0]}:{address[1]} did not answer {command}: {error}"
    finally:
        client.close()
    return said, ""


def reply_line(reply: aiosmtplib.SMTPResponse | aiosmtplib.SMTPResponseException) -> str:
    return f"{reply.code} {reply.message}".replace("\n", " ")


def build(seed: int, kind: SampleKind, running: GatewayConfig) -> Outgoing:
    """The sample of `kind` for `seed`, to `running`'s (a machine's configuration) local domain; Faker's
    work (a tenth of a second on first use), so run off the event loop."""
    factory = MessageFactory(seed, running.local_domains[0])
    if kind.name != "split":
        return factory.sample(kind.name)
    to = split_recipients(running.incoming_policies, running.local_domains, factory.faker.user_name)
    return factory.sample(kind.name, to)


def split_hint(request: web.Request, machine: str) -> str:
    """Why `machine` cannot split a sample ('' when it can)."""
    running = console(request).config.config("committed").effective(machine)
    reached = split_recipients(running.incoming_policies, running.local_domains, lambda: "trainee")
    names = ", ".join(policy.name for policy in running.incoming_policies)
    return "" if len(reached) > 1 else NO_SPLIT.format(machine=machine, names=names)


def traffic_form(request: web.Request, status: int = 200, **shown: Any) -> web.Response:
    """The Traffic Generator: the form (as posted with its errors, else as the shown send was made)
    and the latest sends."""
    machines = list(console(request).sandbox.machine_names())
    sends = list(reversed(desk(request).sent))
    wanted = request.query.get("sent", "")
    result = next((send for send in sends if str(send.number) == wanted), None)
    values = {"machine": machines[0], "kind": "clean", "listener": "auto", "seed": "", "errors": {}}
    if result is not None:
        values.update(machine=result.machine, kind=result.kind.name, listener=result.chosen_listener)
    values.update(shown)
    for_machine = values["machine"] if values["machine"] in machines else machines[0]
    running = console(request).config.config("committed").effective(for_machine)
    return page(request, "traffic.html", status=status, title="Traffic Generator", machines=machines,
                kinds=SAMPLE_KINDS, listeners=LISTENERS, listener_names=LISTENER_NAMES,
                next_seed=desk(request).next_seed, split_hint=split_hint(request, for_machine),
                connector_off=not running.connector.enabled, for_machine=for_machine,
                connector_path=CONNECTOR_PATH, result=result, sends=sends, **values)


async def show(request: web.Request) -> web.Response:
    return traffic_form(request)


async def read_form(request: web.Request) -> tuple[dict[str, str], dict[str, str]]:
    """The posted fields, and an error for each one that is not what it should be."""
    values = {name: await form_field(request, name) for name in ("machine", "kind", "listener", "seed")}
    errors = {}
    if values["machine"] not in console(request).sandbox.machine_names():
        errors["machine"] = f"No machine {values['machine']!r}: choose one of the list."
    if values["kind"] not in KINDS_BY_NAME:
        errors["kind"] = "Choose one of the samples."
    elif values["kind"] == "split" and "machine" not in errors:
        errors["kind"] = split_hint(request, values["machine"])
    if values["listener"] not in LISTENERS:
        errors["listener"] = "Choose one of the listeners."
    if values["seed"].strip():
        try:
            whole_number(values["seed"].strip(), "The seed", LARGEST_SEED)
        except BadRequest as error:
            errors["seed"] = str(error)
    return values, {name: error for name, error in errors.items() if error}


async def send(request: web.Request) -> web.Response:
    try:
        values, errors = await read_form(request)
    except BadRequest as error:  # a field past its bound
        return traffic_form(request, 422, errors={"form": str(error)})
    if errors:
        return traffic_form(request, 422, **values, errors=errors)
    current, kind, machine = console(request), KINDS_BY_NAME[values["kind"]], values["machine"]
    seed = int(values["seed"].strip()) if values["seed"].strip() else desk(request).take_seed()
    running = current.config.config("committed").effective(machine)
    mail = await asyncio.get_running_loop().run_in_executor(None, build, seed, kind, running)
    listener = kind.listener if values["listener"] == "auto" else values["listener"]
    address = getattr(current.sandbox.listeners(machine), listener)
    said, problem = await converse(address, mail)
    last = said[-1] if said else ("", "")
    mid = accepted_mid(last[1]) if last[0] == "DATA" and last[1].startswith("250") else None
    result = SendResult(next(desk(request).numbers), seed, kind, machine, values["listener"], listener,
                        address, mail, tuple(said), mid, problem)
    desk(request).sent.append(result)
    return see_other(f"{TRAFFIC_PATH}?{urlencode({'sent': result.number})}")


ROUTES = (
    ("GET", TRAFFIC_PATH, show),
    ("POST", TRAFFIC_PATH, send),
)
