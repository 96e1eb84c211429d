"""The admin API under hostile input (issue 9 item 11, BEHAVIOUR.md §9): every bad request gets a 4xx
with a JSON message naming what is wrong, within the bounds `/openapi.json` documents; nothing reaches
the last-resort 500, and the sandbox goes on delivering and journaling. Raw HTTP (http.client, and a
socket where http.client refuses to send the bytes) against a running sandbox.
"""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import json
import logging
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from fixtures.shared_sandbox import module_settings, turn_on
from simulator.admin.bounds import LARGEST_BODY, LARGEST_MID, MOST_ROUTES, MOST_ZONE_DOMAINS
from simulator.admin.monitor import LONGEST_TAIL, MonitorAdmin
from simulator.core.config.values import MxRecord, SmtpRoute
from simulator.core.mail.samples import MessageFactory
from simulator.testing.harness import SandboxFacade, shared_by_module
from simulator.testing.smtp_client import send
from simulator.transport.tls import SandboxTls

TENANT = "sandbox-tenant@intake.threatdefense.test"
HUGE = "9" * 5000  # int() refuses more than 4,300 digits with ValueError
pytestmark = pytest.mark.bad_input


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def message(self) -> str:
        """The JSON `message` (fails the test if the answer is not a JSON object with one)."""
        assert self.content_type.startswith("application/json"), (self.status, self.body[:200])
        message = json.loads(self.body)["message"]
        assert isinstance(message, str) and message
        return message


class RawApi:
    """Sends requests byte for byte to a sandbox's admin API, one connection each."""

    def __init__(self, sandbox: SandboxFacade) -> None:
        self.sandbox = sandbox
        admin = sandbox.sandbox.describe()["admin"]
        self.token = str(admin["token"])
        host, _, port = str(admin["url"]).removeprefix("http://").rpartition(":")
        self.host, self.port = host, int(port)

    def call(self, method: str, target: str, body: bytes | Iterator[bytes] | None = None,
             headers: Mapping[str, str | bytes] | None = None,
             authorization: str | bytes | None = None) -> Answer:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            given: dict[str, str | bytes] = {
                "Authorization": f"Bearer {self.token}" if authorization is None else authorization}
            connection.request(method, target, body=body, headers={**given, **(headers or {})})
            response = connection.getresponse()
            return Answer(response.status, response.getheader("Content-Type", ""), response.read())
        finally:
            connection.close()

    def json(self, method: str, target: str, body: Any = None) -> Any:
        answer = self.call(method, target, None if body is None else json.dumps(body).encode())
        assert answer.status == 200, (answer.status, answer.body[:300])
        return json.loads(answer.body)

    def declared(self, method: str, target: str, length: int) -> Answer:
        """Headers declaring a body of `length` bytes, and no body: the server must answer unread."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.putrequest(method, target)
            connection.putheader("Authorization", f"Bearer {self.token}")
            connection.putheader("Content-Length", str(length))
            connection.endheaders()
            response = connection.getresponse()
            return Answer(response.status, response.getheader("Content-Type", ""), response.read())
        finally:
            connection.close()

    def raw(self, request: bytes) -> bytes:
        """`request` as given (bytes http.client would refuse); the whole answer."""
        with socket.create_connection((self.host, self.port), timeout=10) as client:
            client.sendall(request)
            chunks = []
            while chunk := client.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture(scope="module")
def refusing_sandbox(
    tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls
) -> Iterator[SandboxFacade]:
    """One sandbox for the tests that only send what the API must refuse (or undo what they do and
    check it): started once for the module, not once per case; each test takes its turn on it."""
    with shared_by_module(module_settings(tmp_path_factory, "refusing"), tdc_tls) as sandbox:
        yield sandbox


@pytest.fixture
def api(refusing_sandbox: SandboxFacade, request: pytest.FixtureRequest) -> Iterator[RawApi]:
    """The shared sandbox's admin API; the test fails if it leaves that sandbox changed."""
    with turn_on(refusing_sandbox, request):
        yield RawApi(refusing_sandbox)


@pytest.fixture
def own_api(tdc_sandbox: SandboxFacade) -> RawApi:
    """The admin API of the test's own sandbox: for a test that changes it, or reads the log records
    of its first requests (a shared sandbox may still log about another test's)."""
    return RawApi(tdc_sandbox)


def refused(answer: Answer, status: int, *named: str) -> str:
    """Assert `status` with a JSON message naming each of `named`; the message."""
    assert answer.status == status, (answer.status, answer.body[:300])
    message = answer.message
    assert all(part in message for part in named), message
    return message


@pytest.mark.parametrize(("target", "named"), [
    (f"/tracking/{HUGE}", "from 1 to 9223372036854775807"),
    (f"/tracking/{LARGEST_MID + 1}", "from 1 to 9223372036854775807"),
    ("/tracking/0", "mid"), ("/tracking/-1", "mid"), ("/tracking/%D9%A1", "mid"),  # an Arabic-Indic 1
    (f"/log?lines={HUGE}", f"from 1 to {LONGEST_TAIL}"), (f"/log?lines={LONGEST_TAIL + 1}", "lines"),
])
def test_an_oversized_integer_in_the_path_or_query_is_400_naming_the_bound(
    api: RawApi, target: str, named: str
) -> None:
    refused(api.call("GET", target), 400, named)


def test_the_integer_bounds_are_inclusive(api: RawApi) -> None:
    refused(api.call("GET", f"/tracking/{LARGEST_MID}"), 404, f"no message {LARGEST_MID}")
    assert len(api.json("GET", f"/log?lines={LONGEST_TAIL}")["lines"]) <= LONGEST_TAIL


@pytest.mark.parametrize(("body", "named"), [
    (f'{{"mid": {HUGE}}}'.encode(), "more than 20 characters"),
    (f'{{"mid": {LARGEST_MID + 1}}}'.encode(), "'mid' must be a whole number from 1 to 9223372036854775807"),
    (b'{"mid": 1e999}', "'mid' must be"), (b'{"mid": 1.0}', "'mid' must be"),
    (b'{"mid": true}', "'mid' must be"), (b'{"mid": "7"}', "'mid' must be"),
    (b'{"mid": NaN}', "NaN is not JSON"), (b'{"machine": "esa1"}', "'mid' is required"),
])
def test_a_bad_mid_in_a_body_is_400(api: RawApi, body: bytes, named: str) -> None:
    refused(api.call("POST", "/quarantine/release", body), 400, named)


@pytest.mark.parametrize(("body", "named"), [
    (b"[" * 60_000, "nested deeper than 8 levels"),  # json's own recursion limit
    (b'{"address": ' + b"[" * 8 + b"]" * 8 + b"}", "nested deeper than 8 levels"),
    (b'{"address": ' + b"[" * 7 + b"]" * 7 + b"}", "'address' must be a string"),  # 8 levels: within
    (b'{"address": "\xff\xfe"}', "not UTF-8 (byte 13)"),
    (b"\xef\xbb\xbf{}", "malformed JSON"),  # a UTF-8 byte-order mark
    (b'{"address": 7}', "'address' must be a string"), (b'{"level": "cluster"}', "'address' is required"),
    (f'{{"address": {HUGE}}}'.encode(), "more than 20 characters"),
    (b'{"address": Infinity}', "Infinity is not JSON"),
    (b'{"address": "a\\ud800b@intake.threatdefense.test"}', "lone surrogate"),
    (b"[]", "JSON object"), (b'"text"', "JSON object"), (b"7", "JSON object"), (b"null", "JSON object"),
])
def test_a_hostile_body_is_400_with_a_message(api: RawApi, body: bytes, named: str) -> None:
    refused(api.call("POST", "/tdc/enable", body), 400, named)
    assert api.sandbox.store.pending is None


def test_json_is_read_as_utf8_whatever_charset_the_content_type_names(api: RawApi) -> None:
    bogus = {"Content-Type": "application/json; charset=x-bogus"}  # aiohttp's text() raised LookupError
    refused(api.call("POST", "/tdc/disable", b'{"level": 7}', bogus), 400, "'level' must be a string")
    latin1 = {"Content-Type": "application/json; charset=latin-1"}
    refused(api.call("POST", "/commit", '{"comment": "café"}'.encode("latin-1"), latin1), 400, "not UTF-8")


def test_a_body_over_64_kib_is_413_read_or_not(api: RawApi) -> None:
    refused(api.declared("POST", "/dns", LARGEST_BODY + 1), 413, str(LARGEST_BODY), "64 KiB")
    refused(api.declared("GET", "/status", LARGEST_BODY + 1), 413, str(LARGEST_BODY))
    chunked = iter([b" " * LARGEST_BODY, b"{}"])  # no length declared: refused once read past the bound
    refused(api.call("POST", "/commit", chunked), 413, str(LARGEST_BODY))
    padded = b"{}" + b" " * (LARGEST_BODY - 2)  # exactly the bound: read
    assert api.call("POST", "/commit", padded).message == "There is no data to commit."


# Built when a test runs, not when every worker collects (the bomb costs ~0.5 s to make).
COMPRESSED: dict[str, Callable[[], bytes]] = {
    "bomb": lambda: gzip.compress(b"{" + b" " * (64 * 1024 * 1024) + b"}", mtime=0),  # 64 MiB in ~64 KB
    "truncated": lambda: gzip.compress(b'{"level": 7}', mtime=0)[:10],  # aiohttp inflates it to {}
    "not-gzip": lambda: b"not gzip at all",  # zlib.error from read(): was a 500
}


@pytest.mark.parametrize("kind", list(COMPRESSED))
def test_a_compressed_body_is_415_unread(api: RawApi, kind: str) -> None:
    body = COMPRESSED[kind]()
    refused(api.call("POST", "/tdc/disable", body, {"Content-Encoding": "gzip"}), 415, "Content-Encoding")
    assert api.sandbox.store.pending is None


def test_a_client_gone_in_the_middle_of_a_body_is_no_internal_error(
    own_api: RawApi, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.create_connection((own_api.host, own_api.port), timeout=10) as client:
        client.sendall(f"POST /tdc/disable HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {own_api.token}\r\n"
                       'Content-Length: 100\r\n\r\n{"le'.encode())
    assert own_api.json("GET", "/tdc")["machines"]  # the API answers on, and logged no internal error
    assert [record.getMessage() for record in caplog.records if record.name == "simulator.admin.api"] == []


@pytest.mark.parametrize("authorization", [b"Bearer \xff\xfe", b"Bearer \xc3\x28", "Bearer " + "A" * 4000])
def test_a_token_that_is_not_utf8_or_is_huge_is_401(api: RawApi, authorization: str | bytes) -> None:
    refused(api.call("GET", "/tdc", authorization=authorization), 401, "token is wrong")


def test_headers_that_are_not_utf8_elsewhere_are_ignored(api: RawApi) -> None:
    assert api.call("GET", "/tdc", headers={"X-Note": b"\xff\xfe"}).status == 200
    document = json.loads(api.call("GET", "/openapi.json", headers={"Host": b"\xff"}).body)
    assert document["openapi"].startswith("3.")


@pytest.mark.parametrize("request_line", [
    b"GET /tracking/\xff HTTP/1.1\r\nHost: x\r\n",  # raw non-ASCII in the path
    b"GET /config?level=\xff HTTP/1.1\r\nHost: x\r\n",
    b"GET /tdc HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n",  # NUL in a header
    b"POST /dns HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n",
])
def test_what_aiohttp_refuses_before_the_api_is_a_400_and_the_api_goes_on(
    own_api: RawApi, request_line: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    authorization = f"Authorization: Bearer {own_api.token}\r\nConnection: close\r\n\r\n".encode()
    status_line = own_api.raw(request_line + authorization).split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1] == b"400", status_line
    assert own_api.json("GET", "/tdc")["machines"]
    (logged,) = [record for record in caplog.records if record.name == "simulator.admin.http"]
    assert logged.levelno == logging.DEBUG  # the client's malformed HTTP: no error traceback on stderr


def test_a_query_value_that_is_not_utf8_is_read_with_replacement_characters(api: RawApi) -> None:
    refused(api.call("GET", "/config?level=%FF%FE"), 422, "'\ufffd\ufffd' is not cluster")
    refused(api.call("DELETE", "/routes/%FF"), 404, "no route for")


def test_dns_refuses_50000_hosts_naming_a_bound(own_api: RawApi, tdc_sandbox: SandboxFacade) -> None:
    many = {"domain": "partner.test", "hosts": [f"127.0.0.1:{2000 + n % 60000}" for n in range(50_000)]}
    refused(own_api.call("POST", "/dns", json.dumps(many).encode()), 413, f"{LARGEST_BODY} bytes")
    many["hosts"] = many["hosts"][:2500]  # within the body's bound
    refused(own_api.call("POST", "/dns", json.dumps(many).encode()), 400, "hosts: at most 32", "not 2500")
    many["hosts"] = many["hosts"][:33]
    refused(own_api.call("POST", "/dns", json.dumps(many).encode()), 400, "at most 32", "not 33")
    assert tdc_sandbox.store.pending is None
    many["hosts"] = many["hosts"][:32]
    assert own_api.json("POST", "/dns", many)["message"].startswith("32 MX record(s) for partner.test")


@pytest.mark.parametrize("destination", [
    [f"127.0.0.1:{2600 + n}" for n in range(33)], ", ".join(f"127.0.0.1:{2600 + n}" for n in range(33)),
])
def test_a_route_refuses_more_than_32_hosts_as_a_list_or_a_string(
    own_api: RawApi, tdc_sandbox: SandboxFacade, destination: str | list[str]
) -> None:
    body = {"domain": "partner.test", "destination": destination}
    refused(own_api.call("POST", "/routes", json.dumps(body).encode()), 400, "destination: at most 32")
    assert tdc_sandbox.store.pending is None
    within = destination[:32] if isinstance(destination, list) else destination.rpartition(",")[0]
    body["destination"] = within
    assert "added at cluster" in own_api.json("POST", "/routes", body)["message"]


@pytest.mark.parametrize(("method", "target", "body", "named"), [
    ("POST", "/routes", {"domain": "a" * 254, "destination": "USEDNS"}, "domain: at most 253 characters"),
    ("POST", "/dns", {"domain": "a" * 254, "hosts": []}, "domain: at most 253 characters"),
    ("DELETE", "/routes/" + "a" * 254, None, "domain: at most 253 characters"),
    ("POST", "/tdc/enable", {"address": f"{'a' * 230}@intake.threatdefense.test"}, "at most 254"),
    ("POST", "/commit", {"comment": "c" * 1001}, "comment: at most 1000 characters"),
    ("PUT", "/faults/mailbox", ["fail-next:1"] * 17, "faults: at most 16"),
    ("PUT", "/faults/mailbox", ["reply:MAIL=" + "4" * 300], "faults: at most 255 characters"),
    ("POST", "/policies", {"policy": "P" * 256, "mode": "default"}, "policy: at most 255"),
    ("GET", "/status?machine=" + "m" * 256, None, "machine: at most 255"),
])
def test_strings_and_lists_past_their_bound_are_400_naming_it(
    api: RawApi, method: str, target: str, body: Any, named: str
) -> None:
    refused(api.call(method, target, None if body is None else json.dumps(body).encode()), 400, named)
    assert api.sandbox.store.pending is None and api.json("GET", "/faults")["mailbox"] == []


def test_a_full_routes_table_or_dns_zone_refuses_one_more_with_422(
    own_api: RawApi, tdc_sandbox: SandboxFacade
) -> None:
    routes = tuple(SmtpRoute(f"d{n}.test", use_dns=True) for n in range(MOST_ROUTES))
    zone = tuple(MxRecord(f"d{n}.test", 0, "127.0.0.1", 2700) for n in range(MOST_ZONE_DOMAINS))
    tdc_sandbox.reconfigure(lambda config: dataclasses.replace(config, routes=routes, dns_zone=zone))
    route = json.dumps({"domain": "more.test", "destination": "USEDNS"}).encode()
    refused(own_api.call("POST", "/routes", route), 422, f"at most {MOST_ROUTES} routes at cluster")
    mx = json.dumps({"domain": "more.test", "hosts": ["127.0.0.1:2700"]}).encode()
    refused(own_api.call("POST", "/dns", mx), 422, f"at most {MOST_ZONE_DOMAINS} domains at cluster")
    assert tdc_sandbox.store.pending is None
    own_api.json("POST", "/dns", {"domain": "d0.test", "hosts": ["127.0.0.1:2701"]})  # one it has: replaced
    own_api.json("DELETE", "/routes/d0.test")
    assert "added" in own_api.json("POST", "/routes", json.loads(route))["message"]


def test_sixteen_faults_are_within_the_bound(api: RawApi) -> None:
    assert api.json("PUT", "/faults/mailbox", ["delay:0"] * 16)["mailbox"] == ["delay:0"] * 16
    assert api.json("PUT", "/faults/mailbox", [])["mailbox"] == []


def test_an_unexpected_exception_is_500_internal_error_with_the_traceback_only_in_the_log(
    own_api: RawApi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: MonitorAdmin) -> dict[str, list[str]]:
        raise RuntimeError("secret detail from /etc/shadow")

    monkeypatch.setattr(MonitorAdmin, "faults", broken)
    answer = own_api.call("GET", "/faults")
    assert (answer.status, json.loads(answer.body)) == (500, {"message": "internal error"})
    assert b"secret" not in answer.body and b"RuntimeError" not in answer.body
    (record,) = [r for r in caplog.records if r.name == "simulator.admin.api"]
    assert record.levelno == logging.ERROR and "GET /faults" in record.getMessage()
    assert record.exc_info is not None and "secret detail" in str(record.exc_info[1])


def test_the_openapi_document_names_every_bound(api: RawApi) -> None:
    document = api.json("GET", "/openapi.json")
    paths = document["paths"]
    assert paths["/tracking/{mid}"]["get"]["parameters"][0]["schema"]["maximum"] == LARGEST_MID
    assert paths["/log"]["get"]["parameters"][1]["schema"]["maximum"] == LONGEST_TAIL
    dns = paths["/dns"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert (dns["domain"]["maxLength"], dns["hosts"]["maxItems"]) == (253, 32)
    faults = paths["/faults/{endpoint}"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert faults["maxItems"] == 16
    assert "65536 bytes (64 KiB)" in paths["/dns"]["post"]["responses"]["413"]["description"]
    assert f"{LARGEST_BODY} bytes" in document["info"]["description"]


def test_the_sandbox_still_delivers_after_hostile_requests(
    own_api: RawApi, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    for body in (b"[" * 60_000, f'{{"mid": {HUGE}}}'.encode(), b"\xff\xfe"):
        assert own_api.call("POST", "/quarantine/release", body).status == 400
    mail = tdc_messages.message()
    assert send(*tdc_sandbox.listener_address("inbound"), mail).accepted
    tdc_sandbox.settle()
    assert len(tdc_sandbox.mailbox(mail.rcpt_tos[0])) == 1
    assert [journal.intake_address for journal in tdc_sandbox.journals()] == [TENANT]
