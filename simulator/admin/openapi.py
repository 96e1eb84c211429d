"""The admin API's OpenAPI 3 description, served at GET /openapi.json (behind the token, like every path).

Design rule: written by hand, path by path, so that it says what each call means; a test checks it
against the routes the server really registers, so a path served but not described fails the suite.
Every bound (`maxLength`, `maxItems`, `maximum`) is a constant of `bounds.py`, the one the handlers
enforce; a test sends each bound plus one and expects the 400 that names it.
"""

from __future__ import annotations

from typing import Any

from simulator.admin.bounds import (
    BODY_SIZE,
    DEEPEST_JSON,
    LARGEST_LINE,
    LARGEST_MID,
    LONGEST,
    LONGEST_HOP,
    LONGEST_NUMBER,
    LONGEST_TEXT,
    MOST_FAULTS,
    MOST_HOSTS,
    MOST_ROUTES,
    MOST_ZONE_DOMAINS,
)
from simulator.admin.monitor import DEFAULT_TAIL, LONGEST_TAIL

LEVEL = "`cluster`, `group:NAME` or `machine:NAME`"
STRING = {"type": "string", "maxLength": LONGEST_TEXT}
DOMAIN, ADDRESS, COMMENT = ({"type": "string", "maxLength": LONGEST[name]}
                            for name in ("domain", "address", "comment"))
HOSTS = {"type": "array", "maxItems": MOST_HOSTS, "items": {"type": "string", "maxLength": LONGEST_HOP}}
MID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": LARGEST_MID}
LINES = {"type": "integer", "minimum": 1, "maximum": LONGEST_TAIL, "default": DEFAULT_TAIL}
SINCE = {"type": "integer", "format": "int64", "minimum": 0, "maximum": LARGEST_LINE, "default": 0}
MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
BOUNDS = (f"Bounds: a body is at most {BODY_SIZE} (413 above), UTF-8 JSON nested at most "
          f"{DEEPEST_JSON} levels, each number in it at most {LONGEST_NUMBER} characters; strings and lists "
          "at most their schema's maxLength and maxItems, numbers within minimum and maximum (400 past any "
          f"bound, naming it). A level's SMTP routes table holds at most {MOST_ROUTES} routes and its DNS "
          f"zone at most {MOST_ZONE_DOMAINS} domains (422 past them).")
ERRORS = {
    "400": "malformed JSON, a body that is not UTF-8, a missing or mistyped field, a bad parameter, "
           "a value past its bound (the message names the bound)",
    "401": "no bearer token, or a wrong one",
    "404": "an unknown group, machine, policy, route, endpoint, message or destination (named in the "
           "message)",
    "413": f"a body larger than {BODY_SIZE}",
    "415": "a body with a Content-Encoding (gzip, deflate, ...): bodies are plain UTF-8 JSON",
    "422": "a value the configuration refuses (e.g. an invalid intake address); nothing changed",
    "500": "a bug in the simulator, never an answer to input: `internal error`, the traceback in the log",
    "503": "stored bytes the operation needs cannot be read back (e.g. a damaged quarantined message; "
           "the message names the file); nothing changed",
}


def _parameter(name: str, where: str, description: str, schema: dict[str, Any] = STRING) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema}


LEVEL_Q = _parameter("level", "query", f"{LEVEL} (default: cluster)")
STATE_Q = _parameter("state", "query", "`committed` (what runs; default) or `pending` (the working copy)")
MACHINE_Q = _parameter("machine", "query", "a machine name (default: every machine, or the first)")


def _operation(summary: str, answer: str, parameters: tuple[dict[str, Any], ...] = (),
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One operation: its summary, parameters, JSON body and answers (the errors every call can give)."""
    responses: dict[str, Any] = {"200": {"description": answer,
                                         "content": {"application/json": {"schema": {"type": "object"}}}}}
    responses |= {code: {"description": meaning, "content": {"application/json": {"schema": MESSAGE}}}
                  for code, meaning in ERRORS.items()}
    operation: dict[str, Any] = {"summary": summary, "parameters": list(parameters), "responses": responses}
    if body is not None:
        needed = body.get("type") != "object" or "required" in body  # an empty body reads as `{}`
        operation["requestBody"] = {"required": needed, "content": {"application/json": {"schema": body}}}
    return operation


def _object(required: tuple[str, ...], **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema; OpenAPI 3.0 wants `required` left out rather than empty."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    return schema | {"required": list(required)} if required else schema


def _level_field() -> dict[str, Any]:
    return STRING | {"default": "cluster", "description": LEVEL}


def _change(summary: str, body: dict[str, Any]) -> dict[str, Any]:
    return _operation(summary, "submitted: `{message, uncommitted: true}`; runs after POST /commit",
                      body=body)


CONFIG_PATHS: dict[str, dict[str, Any]] = {
    "/config": {"get": _operation(
        "What is set at one level, committed and pending", "`{level, committed, pending}`", (LEVEL_Q,))},
    "/config/effective": {"get": _operation(
        "Each machine's effective settings and the level each came from",
        "`{state, uncommitted, machines: {NAME: {KEY: {value, level}}}}`", (MACHINE_Q, STATE_Q))},
    "/tdc": {"get": _operation("The connector per machine: enabled, intake address, source levels",
                               "`{state, uncommitted, machines: [...]}`", (STATE_Q,))},
    "/tdc/enable": {"post": _change("Enable the connector at a level (Submit)", _object(
        ("address",), address=ADDRESS | {"description": "the message intake address"},
        level=_level_field()))},
    "/tdc/disable": {"post": _change("Disable the connector at a level (Submit; machine level also "
                                     "disables group and cluster under the default rule)",
                                     _object((), level=_level_field()))},
    "/policies": {
        "get": _operation("Each machine's incoming mail policies and their Threat Defense mode",
                          "`{state, uncommitted, machines: {NAME: {level, policies}}}`", (STATE_Q,)),
        "post": _change("Per-policy journaling: default, custom (with an address) or no-scan", _object(
            ("policy", "mode"), policy=STRING, address=ADDRESS, level=_level_field(),
            mode=STRING | {"enum": ["default", "custom", "no-scan"]})),
    },
    "/routes": {
        "get": _operation("The SMTP routes in force at a level",
                          "`{level, from, state, uncommitted, routes}`", (LEVEL_Q, STATE_Q)),
        "post": _change("Add an SMTP route at a level", _object(
            ("domain", "destination"), domain=DOMAIN, level=_level_field(),
            destination={"description": f"`USEDNS`, `/dev/null`, or at most {MOST_HOSTS} hosts "
                                        "`host:port[:priority]` (a list, or one comma-separated string)",
                         "oneOf": [{"type": "string", "maxLength": LONGEST["destination"]}, HOSTS]})),
    },
    "/routes/{domain}": {"delete": _operation(
        "Delete the SMTP route for a domain at a level", "`{message, uncommitted: true}`",
        (_parameter("domain", "path", "the route's domain", DOMAIN), LEVEL_Q))},
    "/dns": {
        "get": _operation("The DNS zone table (MX records) in force at a level",
                          "`{level, from, state, uncommitted, records}`", (LEVEL_Q, STATE_Q)),
        "post": _change("Replace one domain's MX records at a level (`hosts: []` removes them)", _object(
            ("domain",), domain=DOMAIN, hosts=HOSTS, level=_level_field())),
    },
    "/commit": {"post": _operation(
        "Commit the pending changes",
        "`{message}`: `Changes committed: <date>` or `There is no data to commit.`",
        body=_object((), comment=COMMENT))},
    "/commits": {"get": _operation("The commit history, oldest first: when, and the comment",
                                   "`{commits: [{at, comment}]}`")},
    "/diff": {"get": _operation(
        "The pending changes against the committed configuration, per level and key",
        "`{uncommitted, changes: [{level, key, committed, pending}]}`; a side is `null` where the key "
        "is not set at that level, else `{value}`")},
    "/clear": {"post": _operation("Discard the pending changes", "`{message}`")},
}
MONITOR_PATHS: dict[str, dict[str, Any]] = {
    "/status": {"get": _operation("Delivery status per machine and destination, `the.tdc.queue` included",
                                  "`{as_of, machines: {NAME: [rows]}}`", (MACHINE_Q,))},
    "/tophosts": {"get": _operation(
        "tophosts of one machine (machine mode only: 400 without a machine)",
        "`{machine, sort, as_of, hosts}`",
        (_parameter("machine", "query", "the machine (required)"),
         _parameter("sort", "query", "active, conn, delivered, soft or hard (default: active)")))},
    "/log": {"get": _operation(
        "The tail of a machine's mail log: the last lines after `since`, and the number of the last one "
        "(`last`: the `since` of the next call, which then answers only lines logged meanwhile)",
        "`{machine, lines, last}`",
        (MACHINE_Q, _parameter("lines", "query", "how many", LINES),
         _parameter("since", "query", "a line number: only later lines (default 0: any)", SINCE)))},
    "/tracking/{mid}": {"get": _operation(
        "One message's history, oldest first", "`{machine, mid, history}`",
        (_parameter("mid", "path", "the MID", MID), MACHINE_Q))},
    "/quarantine": {"get": _operation("What a machine's quarantines hold", "`{machine, held}`",
                                      (MACHINE_Q,))},
    "/quarantine/release": {"post": _operation(
        "Release a quarantined message: delivered, and copied, now", "`{machine, message}`",
        body=_object(("mid",), mid=MID, machine=STRING))},
    "/delivernow": {"post": _operation(
        "delivernow: on every machine, reschedule the entries waiting for a retry (of every destination, "
        "or of one) for immediate delivery; each keeps its retry count, so the bounce profile's limits "
        "still hold; an entry being delivered finishes its attempt and, if that fails, is due at once too",
        "`{message, rescheduled, machines: {NAME: count}}`: `Rescheduled N messages for immediate "
        "delivery.` (N counts queue entries: one per message and destination)",
        body=_object((), destination=DOMAIN | {
            "description": "one destination queue (a recipient domain, or `the.tdc.queue`), any case; "
                           "absent or empty: every destination; one no machine has a queue for: 404"}))},
    "/faults": {"get": _operation(
        "The fault plan of each endpoint", "`{threat_defense: [...], mailbox: [...]}`")},
    "/faults/{endpoint}": {"put": _operation(
        "Replace an endpoint's fault plan: KIND[:ARG] strings, `[]` clears, `down` stops it listening",
        "the fault plans", (_parameter("endpoint", "path", "`threat_defense` or `mailbox`"),),
        body={"type": "array", "maxItems": MOST_FAULTS, "items": STRING})},
    "/endpoints/{endpoint}/refused": {"get": _operation(
        "The attempts an endpoint refused, oldest first (the latest it keeps; all are in its "
        "`refused.jsonl`): 530 before STARTTLS, 550 5.1.1, failed TLS handshakes, 421, scripted faults, "
        "storage trouble", "`{endpoint, refused: [{time, connection, peer, command, reply}]}`",
        (_parameter("endpoint", "path", "`threat_defense` or `mailbox`"),))},
    "/openapi.json": {"get": _operation("This document", "OpenAPI 3.0")},
}
LAB_NAME = _parameter("name", "path", "the lab's name (GET /labs lists them; an unknown one: 404 with the "
                                      "closest name)")
LAB_PATHS: dict[str, dict[str, Any]] = {
    "/labs": {"get": _operation(
        "Training labs, by number, each checked against the sandbox's real state",
        "`{labs: [{name, number, title, done, status, missing, has_start}]}`; `missing` is the first "
        "check's reason while not done")},
    "/labs/{name}": {"get": _operation(
        "One lab: goal, steps, hints, and each check's result", "`{name, number, title, goal, steps, "
        "hints, has_start, start, done, status, missing, checks: [{says, kind, done, reason}]}`",
        (LAB_NAME,))},
    "/labs/{name}/start": {"post": _operation(
        "Set a lab up: its configuration submitted and committed (the comment names the lab), its "
        "faults scripted; 422 while changes are pending (the start would commit them), 400 for a lab "
        "with nothing to start", "`{message, lab}`", (LAB_NAME,))},
}


def document(server: str) -> dict[str, Any]:
    """The OpenAPI document, with `server` (the API's base URL)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "tdc-simulator admin API", "version": "1",
                 "description": "Configure and watch a running tdc-simulator sandbox. Changes are pending "
                                "until POST /commit. Every path needs the bearer token from sandbox.json. "
                                + BOUNDS},
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": CONFIG_PATHS | MONITOR_PATHS | LAB_PATHS,
    }
