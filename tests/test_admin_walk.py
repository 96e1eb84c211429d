"""Every route of the admin API (`handlers.ROUTES`) walked with hostile input (issue 9 item 11): a bad
token, a method not served, a body over the bound or compressed, each documented parameter and body
field spoilt (past its documented bound, not UTF-8, a huge number, the wrong type, missing), and
bodies that are not JSON. Every answer is a 4xx with a JSON `message`, never a 5xx, nothing reaches
the last-resort handler or logs an error, nothing changes, and the sandbox then delivers and journals
a message as before.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from simulator.admin.bounds import LARGEST_BODY
from simulator.admin.handlers import ROUTES
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import send

TENANT = "sandbox-tenant@intake.threatdefense.test"
HUGE = "9" * 5000
#: A valid body for each route that reads one; each case spoils one thing in it.
EXAMPLES: dict[tuple[str, str], Any] = {
    ("POST", "/tdc/enable"): {"address": TENANT, "level": "cluster"},
    ("POST", "/tdc/disable"): {"level": "cluster"},
    ("POST", "/policies"): {"policy": "DEFAULT", "mode": "default", "address": "", "level": "cluster"},
    ("POST", "/routes"): {"domain": "partner.test", "destination": ["127.0.0.1:2600"], "level": "cluster"},
    ("POST", "/dns"): {"domain": "partner.test", "hosts": ["127.0.0.1:2700"], "level": "cluster"},
    ("POST", "/commit"): {"comment": "walk"},
    ("POST", "/quarantine/release"): {"mid": 1, "machine": "esa1"},
    ("POST", "/delivernow"): {"destination": "the.tdc.queue"},
    ("PUT", "/faults/{endpoint}"): ["fail-next:1"],
}
VALID = {"mid": "1", "domain": "partner.test", "endpoint": "mailbox", "machine": "esa1",
         "level": "cluster", "state": "pending", "sort": "active", "lines": "5", "since": "0",
         "name": "no-such-lab"}  # a lab's name: an unknown one, so no case can start a lab
HOSTILE_TEXT = (HUGE, "%FF%FE", "%00", "%ED%A0%80")  # digits, not UTF-8, NUL, an encoded surrogate
HOSTILE_BODIES = (b"{not json", b"\xff\xfe{}", b"[" * 60_000, b'{"a":' * 9 + b"1" + b"}" * 9,
                  f'{{"x": {HUGE}}}'.encode(), b"NaN", b'"text"')


@dataclass
class Case:
    """One request and what its answer must be: a 4xx (this one, if given) naming `named`."""

    method: str
    target: str
    body: bytes | None = None
    authorization: str | bytes | None = None
    encoding: str = ""  # the Content-Encoding header
    status: int | None = None
    named: tuple[str, ...] = field(default=())


def target(path: str, spoilt: str = "", value: str = "", query: tuple[str, ...] = ()) -> str:
    """`path` with its parameters valid but `spoilt` set to `value`, and the query parameters named."""
    for name in VALID:
        path = path.replace(f"{{{name}}}", value if name == spoilt else VALID[name])
    pairs = [f"{name}={value if name == spoilt else VALID[name]}" for name in query]
    return f"{path}?{'&'.join(pairs)}" if pairs else path


def past_bounds(schema: dict[str, Any], item: Any) -> Iterator[tuple[Any, str]]:
    """Values one past each bound `schema` documents, and the bound the refusal must name."""
    for form in schema.get("oneOf", [schema]):
        if "maxLength" in form:
            yield "a" * (form["maxLength"] + 1), str(form["maxLength"])
        if "maximum" in form:
            yield form["maximum"] + 1, str(form["maximum"])
        if "maxItems" in form:
            yield [item] * (form["maxItems"] + 1), str(form["maxItems"])
        if "maxLength" in form.get("items", {}):
            yield ["a" * (form["items"]["maxLength"] + 1)], str(form["items"]["maxLength"])


def wrong_type(schema: dict[str, Any]) -> Any:
    return {"integer": "1", "array": "x"}.get(schema.get("type", ""), 7)


def encoded(body: Any, **spoilt: Any) -> bytes:
    """`body` with the fields given replaced (`HUGE` written as a bare 5,000-digit number)."""
    text = json.dumps(body | spoilt if isinstance(body, dict) else body)
    return text.replace('"HUGE"', HUGE).encode()


def field_cases(method: str, path: str, schema: dict[str, Any], example: Any) -> Iterator[Case]:
    """Each field of an object body spoilt in turn, or an array body's items."""
    if schema["type"] == "array":
        yield Case(method, path, encoded([7]), status=400)
        for value, bound in past_bounds(schema, example[0]):
            yield Case(method, path, encoded(value), status=400, named=(bound,))
        return
    yield Case(method, path, b"[]", status=400, named=("JSON object",))
    for name, field_schema in schema["properties"].items():
        item = example[name][0] if isinstance(example.get(name), list) else None
        spoilt = encoded(example, **{name: wrong_type(field_schema)})
        yield Case(method, path, spoilt, status=400, named=(name,))
        yield Case(method, path, encoded(example, **{name: "HUGE"}), status=400, named=("20 characters",))
        for value, bound in past_bounds(field_schema, item):
            yield Case(method, path, encoded(example, **{name: value}), status=400, named=(name, bound))
    for name in schema.get("required", []):
        kept = {key: value for key, value in example.items() if key != name}
        yield Case(method, path, encoded(kept), status=400, named=(f"'{name}' is required",))


def cases(method: str, path: str, operation: dict[str, Any]) -> Iterator[Case]:
    """The hostile requests for one route, from what /openapi.json says it reads."""
    for authorization in (b"Bearer \xff\xfe", "Bearer wrong", ""):
        yield Case(method, target(path), authorization=authorization, status=401)
    yield Case("PATCH", target(path), status=405)
    yield Case(method, target(path), b"\x1f\x8b not gzip", encoding="gzip", status=415)
    query = tuple(p["name"] for p in operation["parameters"] if p["in"] == "query")
    for parameter in operation["parameters"]:
        for value in HOSTILE_TEXT:
            yield Case(method, target(path, parameter["name"], value, query))
        for value, bound in past_bounds(parameter["schema"], None):
            yield Case(method, target(path, parameter["name"], str(value), query), status=400, named=(bound,))
    if "requestBody" in operation:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        yield from (Case(method, target(path), body, status=400) for body in HOSTILE_BODIES)
        yield from field_cases(method, target(path), schema, EXAMPLES[method, path])


class Api:
    """One connection per request; (status, content type, body)."""

    def __init__(self, sandbox: SandboxFacade) -> None:
        admin = sandbox.sandbox.describe()["admin"]
        self.token = str(admin["token"])
        host, _, port = str(admin["url"]).removeprefix("http://").rpartition(":")
        self.host, self.port = host, int(port)

    def call(self, case: Case, length: int | None = None) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.putrequest(case.method, case.target)
            bearer = f"Bearer {self.token}" if case.authorization is None else case.authorization
            connection.putheader("Authorization", bearer)
            if case.encoding:
                connection.putheader("Content-Encoding", case.encoding)
            body = case.body or b""
            connection.putheader("Content-Length", str(len(body) if length is None else length))
            connection.endheaders(body if length is None else None)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            connection.close()


def fault(api: Api, case: Case, length: int | None = None) -> str:
    """What is wrong with the answer to `case` ("" if nothing)."""
    status, content_type, body = api.call(case, length)
    answer = json.loads(body) if content_type.startswith("application/json") else None
    message = answer.get("message") if isinstance(answer, dict) else None
    wrong = (not 400 <= status < 500 or (case.status is not None and status != case.status)
             or not isinstance(message, str) or not all(part in message for part in case.named))
    sent = (case.body or b"")[:60]
    return f"{case.method} {case.target[:80]} {sent!r}: {status} {body[:200]!r}" if wrong else ""


@pytest.mark.bad_input
def test_every_route_answers_hostile_input_with_a_4xx_and_a_message(
    tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(tdc_sandbox)
    document = json.loads(api.call(Case("GET", "/openapi.json"))[2])
    effective, faults = (api.call(Case("GET", path))[2] for path in ("/config/effective", "/faults"))
    walked = [case for method, path, _ in ROUTES
              for case in cases(method, path, document["paths"][path][method.lower()])]
    oversized = [Case(method, target(path), status=413, named=(str(LARGEST_BODY),))
                 for method, path, _ in ROUTES]

    failures = [found for case in walked if (found := fault(api, case))]
    failures += [found for case in oversized if (found := fault(api, case, LARGEST_BODY + 1))]

    assert failures == [], f"{len(failures)} of {len(walked) + len(oversized)} cases:\n" + "\n".join(failures)
    walked_paths = {case.target.split("?")[0] for case in walked}
    assert len(walked) > 300 and {"/tracking/1", "/faults/mailbox", "/routes/partner.test"} <= walked_paths
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert tdc_sandbox.store.pending is None
    assert api.call(Case("GET", "/config/effective"))[2] == effective
    assert api.call(Case("GET", "/faults"))[2] == faults
    mail = tdc_messages.message()
    assert send(*tdc_sandbox.listener_address("inbound"), mail).accepted
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox(mail.rcpt_tos[0])) == 1
    assert [journal.intake_address for journal in tdc_sandbox.journals()] == [TENANT]
