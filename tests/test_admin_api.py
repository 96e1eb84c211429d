"""The admin HTTP API (issue 4 item 3) against a running sandbox, over real HTTP from the test thread."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

from fixtures.shared_sandbox import module_settings, turn_on
from simulator.admin.handlers import ROUTES
from simulator.console.server import ConsoleServer
from simulator.core.mail.samples import MessageFactory
from simulator.core.reports.logformat import format_timestamp
from simulator.sandbox import SandboxSettings
from simulator.testing.harness import SandboxFacade, running, shared_by_module
from simulator.testing.smtp_client import send
from simulator.transport.tls import SandboxTls

SECOND_TENANT = "second-tenant@intake.threatdefense.test"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Api:
    """A tiny urllib client: every call returns (status, JSON answer)."""

    def __init__(self, sandbox: SandboxFacade) -> None:
        self.sandbox = sandbox
        admin = sandbox.sandbox.describe()["admin"]
        self.url, self.token = admin["url"], admin["token"]

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             token: str | None = None, authorization: str | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        header = authorization if authorization is not None else f"Bearer {token or self.token}"
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": header} if header else {})
        try:
            with DIRECT.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    def get(self, path: str) -> Any:
        status, answer = self.call("GET", path)
        assert status == 200, answer
        return answer

    def post(self, path: str, body: Any = None) -> Any:
        status, answer = self.call("POST", path, {} if body is None else body)
        assert status == 200, answer
        return answer


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """The connector starts disabled, as before the seed's enable procedure."""
    return dataclasses.replace(tdc_sandbox_settings, tdc_enabled=False)


@pytest.fixture(scope="module")
def refusing_sandbox(
    tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls
) -> Iterator[SandboxFacade]:
    """One sandbox (the connector disabled) for the tests that only read or send what the API must
    refuse: started once for the module, not once per case; each test takes its turn on it."""
    settings = module_settings(tmp_path_factory, "refusing", tdc_enabled=False)
    with shared_by_module(settings, tdc_tls) as sandbox:
        yield sandbox


@pytest.fixture
def api(refusing_sandbox: SandboxFacade, request: pytest.FixtureRequest) -> Iterator[Api]:
    """The shared sandbox's admin API; the test fails if it leaves that sandbox changed."""
    with turn_on(refusing_sandbox, request):
        yield Api(refusing_sandbox)


@pytest.fixture
def own_api(tdc_sandbox: SandboxFacade) -> Api:
    """The admin API of the test's own sandbox, for a test that changes it."""
    return Api(tdc_sandbox)


@pytest.mark.bad_input
@pytest.mark.parametrize("authorization", ["", "Bearer wrong-token", "Basic c2FuZGJveDpzYW5kYm94", "Bearer"])
@pytest.mark.parametrize("path", ["/tdc", "/openapi.json", "/no/such/path"])
def test_no_token_or_a_wrong_one_is_401(api: Api, authorization: str, path: str) -> None:
    status, answer = api.call("GET", path, authorization=authorization)
    assert status == 401
    assert "token" in answer["message"] or "authorization" in answer["message"]


def test_a_token_one_character_off_is_401(api: Api) -> None:
    assert len(api.token) >= 32
    assert api.call("GET", "/tdc", token=api.token[:-1] + ("A" if api.token[-1] != "A" else "B"))[0] == 401


def test_enable_is_pending_until_commit(own_api: Api, tdc_sandbox: SandboxFacade) -> None:
    answer = own_api.post("/tdc/enable", {"address": SECOND_TENANT})
    assert answer["uncommitted"] is True and SECOND_TENANT in answer["message"]
    pending, committed = own_api.get("/tdc?state=pending"), own_api.get("/tdc")
    assert [m["enabled"] for m in pending["machines"]] == [True]
    assert [m["enabled"] for m in committed["machines"]] == [False] and committed["uncommitted"]
    assert own_api.get("/config?level=cluster")["pending"]["tdc.enabled"] is True
    assert tdc_sandbox.config.connector.enabled is False  # nothing runs before commit

    message = own_api.post("/commit", {"comment": "seed procedure"})["message"]
    assert message == f"Changes committed: {format_timestamp(tdc_sandbox.clock.now())}"
    assert re.fullmatch(r"Changes committed: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", message)
    connector = tdc_sandbox.config.connector
    assert (connector.enabled, connector.intake_address) == (True, SECOND_TENANT)
    (running,) = own_api.get("/tdc")["machines"]
    assert (running["enabled"], running["enabled_level"], running["intake_address"]) == (
        True, "cluster", SECOND_TENANT)
    assert tdc_sandbox.store.history[-1].comment == "seed procedure"
    assert own_api.post("/commit")["message"] == "There is no data to commit."


def test_clear_discards_what_was_submitted(own_api: Api, tdc_sandbox: SandboxFacade) -> None:
    own_api.post("/tdc/enable", {"address": SECOND_TENANT})
    assert own_api.post("/clear")["message"] == "Pending changes discarded."
    assert own_api.get("/config")["pending"] is None
    assert own_api.post("/commit")["message"] == "There is no data to commit."
    assert own_api.post("/clear")["message"] == "There are no pending changes."
    assert tdc_sandbox.config.connector.enabled is False


@pytest.mark.bad_input
@pytest.mark.parametrize(("address", "reason"), [
    ("", "is empty"),
    ("a@example.test, b@example.test", "one address, not several"),
    ("a@example.test\r\nRCPT TO:<evil@example.test>", "line break"),
    ("tenant @intake.example.test", "contains spaces"),
    ("tenant", "not a local@domain address"),
    ("tenant@localhost", "not a local@domain address"),
])
def test_an_invalid_intake_address_is_422_and_changes_nothing(
    api: Api, address: str, reason: str
) -> None:
    status, answer = api.call("POST", "/tdc/enable", {"address": address, "level": "cluster"})
    assert status == 422 and reason in answer["message"] and "intake address" in answer["message"]
    assert api.get("/config")["pending"] is None and api.sandbox.store.pending is None


@pytest.mark.bad_input
@pytest.mark.parametrize(("level", "status", "named"), [
    ("group:Nope", 404, "'Nope'"), ("machine:esa9", 404, "'esa9'"), ("galaxy", 422, "'galaxy'"),
])
def test_an_unknown_level_is_named(api: Api, level: str, status: int, named: str) -> None:
    answer = api.call("POST", "/tdc/disable", {"level": level})
    assert answer[0] == status and named in answer[1]["message"]
    assert api.call("GET", f"/config?level={level}")[0] == status


@pytest.mark.bad_input
def test_an_unknown_policy_is_named(api: Api) -> None:
    status, answer = api.call("POST", "/policies", {"policy": "SALES", "mode": "no-scan"})
    assert status == 404 and "'SALES'" in answer["message"] and "DEFAULT" in answer["message"]


@pytest.mark.bad_input
def test_a_custom_intake_address_needs_the_connector_enabled(
    own_api: Api, tdc_sandbox: SandboxFacade
) -> None:
    custom = {"policy": "DEFAULT", "mode": "custom", "address": SECOND_TENANT}
    status, answer = own_api.call("POST", "/policies", custom)
    assert status == 422 and "enabled globally" in answer["message"]
    assert tdc_sandbox.store.pending is None
    own_api.post("/tdc/enable", {"address": "sandbox-tenant@intake.threatdefense.test"})
    own_api.post("/policies", custom)
    pending = own_api.get("/policies?state=pending")["machines"]["esa1"]
    assert pending["level"] == "cluster" and pending["policies"][0]["tdc_intake"] == SECOND_TENANT
    own_api.post("/commit")
    assert tdc_sandbox.config.incoming_policies[0].tdc == "custom"


@pytest.mark.bad_input
@pytest.mark.parametrize("body", [{"policy": "DEFAULT", "mode": "sometimes"},
                                  {"policy": "DEFAULT", "mode": "no-scan", "address": SECOND_TENANT}])
def test_a_bad_policy_mode_is_422(api: Api, body: dict[str, str]) -> None:
    assert api.call("POST", "/policies", body)[0] == 422


def test_routes_add_list_delete(own_api: Api, tdc_sandbox: SandboxFacade) -> None:
    own_api.post("/routes", {"domain": "ALL", "destination": ["127.0.0.1:2600:20", "127.0.0.1:2601"]})
    own_api.post("/routes", {"domain": "intake.threatdefense.test", "destination": "USEDNS",
                         "level": "machine:esa1"})
    listed = own_api.get("/routes?level=machine:esa1&state=pending")
    assert listed["from"] == "machine:esa1" and listed["uncommitted"] is True
    assert listed["routes"] == [{"domain": "ALL", "destination": "127.0.0.1:2600:20, 127.0.0.1:2601:0"},
                                {"domain": "intake.threatdefense.test", "destination": "USEDNS"}]
    assert own_api.get("/routes")["routes"] == []  # committed: still none
    status, answer = own_api.call("POST", "/routes", {"domain": "ALL", "destination": "/dev/null"})
    assert status == 422 and "exists already" in answer["message"]
    assert own_api.call("DELETE", "/routes/ALL")[1]["uncommitted"] is True
    assert own_api.get("/routes?state=pending")["routes"] == []
    status, answer = own_api.call("DELETE", "/routes/ALL")
    assert status == 404 and "'ALL'" in answer["message"]
    own_api.post("/commit")
    assert [route.domain for route in tdc_sandbox.config.routes] == ["ALL", "intake.threatdefense.test"]


@pytest.mark.bad_input
@pytest.mark.parametrize("destination", ["127.0.0.1", "127.0.0.1:smtp", "127.0.0.1:70000", "", ["a:1", 7]])
def test_a_bad_route_destination_is_refused(api: Api, destination: object) -> None:
    status, _ = api.call("POST", "/routes", {"domain": "example.org", "destination": destination})
    assert status in (400, 422)
    assert api.get("/config")["pending"] is None


def test_dns_zone_set_and_list(own_api: Api) -> None:
    own_api.post("/dns", {"domain": "partner.test", "hosts": ["127.0.0.1:2700:5"]})
    records = own_api.get("/dns?state=pending")["records"]
    assert {"domain": "partner.test", "priority": 5, "host": "127.0.0.1", "port": 2700} in records
    assert any(record["domain"] == "*" for record in records)  # the inherited zone is kept
    own_api.post("/dns", {"domain": "partner.test", "hosts": []})
    assert all(r["domain"] != "partner.test" for r in own_api.get("/dns?state=pending")["records"])


def test_effective_settings_name_their_level(api: Api) -> None:
    effective = api.get("/config/effective?machine=esa1")["machines"]["esa1"]
    assert effective["tdc.enabled"] == {"value": False, "level": "cluster"}
    assert effective["routes"] == {"value": [], "level": "default"}


def test_faults_put_get_and_down(own_api: Api, tdc_sandbox: SandboxFacade) -> None:
    server = tdc_sandbox.sandbox.threat_defense_server
    status, answer = own_api.call("PUT", "/faults/threat_defense", ["down", "fail-next:2"])
    assert status == 200 and answer["threat_defense"] == ["down", "fail-next:2"]
    assert own_api.get("/faults") == {"threat_defense": ["down", "fail-next:2"], "mailbox": []}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5).close()
    assert own_api.call("PUT", "/faults/threat_defense", [])[1]["threat_defense"] == []
    with socket.create_connection((server.host, server.port), timeout=5) as client:
        assert client.recv(3) == b"220"


@pytest.mark.bad_input
def test_a_bad_fault_or_endpoint_is_refused(api: Api) -> None:
    status, answer = api.call("PUT", "/faults/threat_defense", ["bogus"])
    assert status == 422 and "valid kinds" in answer["message"]
    assert api.call("PUT", "/faults/dns", [])[0] == 404
    assert api.call("PUT", "/faults/mailbox", {"faults": []})[0] == 400


@pytest.mark.bad_input
def test_tophosts_is_machine_mode_only(api: Api) -> None:
    status, answer = api.call("GET", "/tophosts")
    assert status == 400 and "machine mode only" in answer["message"]
    assert api.get("/tophosts?machine=esa1&sort=delivered")["machine"] == "esa1"
    assert api.call("GET", "/tophosts?machine=esa1&sort=size")[0] == 400
    assert api.call("GET", "/tophosts?machine=esa9")[0] == 404


def test_status_log_and_tracking_after_a_message(
    own_api: Api, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    own_api.post("/tdc/enable", {"address": "sandbox-tenant@intake.threatdefense.test"})
    own_api.post("/commit")
    outcome = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message())
    assert outcome.mid is not None
    tdc_sandbox.settle()
    rows = {row["host"]: row for row in own_api.get("/status?machine=esa1")["machines"]["esa1"]}
    assert rows["the.tdc.queue"]["delivered_recipients"] == 1 and rows["example.com"]["delivered_recipients"]
    assert own_api.get("/log?lines=3")["lines"] == [str(line) for line in tdc_sandbox.mail_log.lines()[-3:]]
    history = own_api.get(f"/tracking/{outcome.mid}?machine=esa1")["history"]
    assert any(f"Message {outcome.mid} queued for delivery." in event for event in history)
    assert own_api.call("GET", "/tracking/999")[0] == 404
    assert own_api.call("GET", "/log?lines=0")[0] == 400


def test_the_log_since_a_line_number_answers_only_the_lines_logged_after_it(
    own_api: Api, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    first = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message())
    tdc_sandbox.settle()
    before = own_api.get("/log?lines=1")
    assert before["last"] == tdc_sandbox.mail_log.lines()[-1].number
    assert own_api.get(f"/log?since={before['last']}") == {
        "machine": "esa1", "lines": [], "last": before["last"]}
    second = send(*tdc_sandbox.listener_address("inbound"), tdc_messages.message())
    tdc_sandbox.settle()
    after = own_api.get(f"/log?since={before['last']}&lines=10000")
    logged = [line for line in tdc_sandbox.mail_log.lines() if line.number > before["last"]]
    assert after["lines"] == [str(line) for line in logged] and after["last"] == logged[-1].number
    assert any(f"Start MID {second.mid} " in line for line in after["lines"])
    assert not any(f"MID {first.mid} " in line for line in after["lines"])
    assert own_api.get(f"/log?since={before['last']}&lines=2")["lines"] == after["lines"][-2:]
    assert own_api.get("/log?since=0&lines=3")["lines"] == own_api.get("/log?lines=3")["lines"]


@pytest.mark.bad_input
@pytest.mark.parametrize("since", ["-1", "x", "1.5", "9" * 30, ""])
def test_a_since_that_is_no_line_number_is_400_saying_so(api: Api, since: str) -> None:
    status, answer = api.call("GET", f"/log?since={since}")
    assert status == 400 and answer["message"].startswith("since must be a whole number from 0 to ")


def test_status_lists_the_tdc_queue_before_any_copy(api: Api) -> None:
    (row,) = api.get("/status")["machines"]["esa1"]
    assert row["host"] == "the.tdc.queue" and row["active_recipients"] == 0


@pytest.mark.bad_input
@pytest.mark.parametrize(("raw", "expected"), [
    (b"{not json", "malformed JSON"), (b"[1, 2]", "JSON object"), (b'{"level": "cluster"}', "'address'"),
    (b'{"address": 7}', "'address' must be a string"),
])
def test_malformed_bodies_are_400(api: Api, raw: bytes, expected: str) -> None:
    status, answer = api.call("POST", "/tdc/enable", raw=raw)
    assert status == 400 and expected in answer["message"]


def test_unknown_paths_and_methods_answer_json(api: Api) -> None:
    assert api.call("GET", "/no/such/path")[0] == 404
    assert api.call("DELETE", "/tdc")[0] == 405


def test_the_openapi_document_describes_every_route_served(api: Api) -> None:
    document = api.get("/openapi.json")
    assert document["openapi"].startswith("3.") and document["servers"] == [{"url": api.url}]
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert described == api.sandbox.sandbox.admin.served()
    assert described == {(method, path) for method, path, _ in ROUTES}
    for item in document["paths"].values():
        for operation in item.values():
            assert {"200", "401"} <= set(operation["responses"]) and operation["summary"]


def test_quarantine_list_and_release(
    own_api: Api, tdc_sandbox: SandboxFacade, tdc_messages: MessageFactory
) -> None:
    mail = tdc_messages.with_gtube()
    mid = send(*tdc_sandbox.listener_address("inbound"), mail).mid
    tdc_sandbox.settle()
    (held,) = own_api.get("/quarantine")["held"]
    assert (held["mid"], held["quarantine"]) == (mid, "Spam Quarantine")
    assert held["recipients"] == list(mail.rcpt_tos)
    answer = own_api.post("/quarantine/release", {"mid": mid})
    assert answer["message"] == f'Message {mid} released from quarantine "Spam Quarantine".'
    tdc_sandbox.settle()
    assert own_api.get("/quarantine")["held"] == [] and len(tdc_sandbox.mailbox()) == 1
    status, refused = own_api.call("POST", "/quarantine/release", {"mid": mid})
    assert status == 404 and f"no message {mid} in a quarantine" in refused["message"]
    assert own_api.call("POST", "/quarantine/release", {"mid": "x"})[0] == 400


def test_the_pending_diff_per_level_and_key(own_api: Api) -> None:
    assert own_api.get("/diff") == {"uncommitted": False, "changes": []}
    own_api.post("/tdc/enable", {"address": SECOND_TENANT})
    own_api.post("/routes", {"domain": "ALL", "destination": "127.0.0.1:2528", "level": "machine:esa1"})
    changes = {(change["level"], change["key"]): change for change in own_api.get("/diff")["changes"]}
    assert changes[("cluster", "tdc.enabled")]["committed"]["value"] is False
    assert changes[("cluster", "tdc.enabled")]["pending"] == {"value": True}
    assert changes[("cluster", "tdc.intake_address")]["pending"] == {"value": SECOND_TENANT}
    assert changes[("machine:esa1", "routes")]["committed"] is None
    assert [list(key) for key in changes] == [["cluster", "tdc.enabled"], ["cluster", "tdc.intake_address"],
                                             ["machine:esa1", "routes"]]
    own_api.post("/commit", {"comment": "second tenant"})
    assert own_api.get("/diff") == {"uncommitted": False, "changes": []}


def test_the_commit_history_keeps_each_comment(own_api: Api, tdc_sandbox: SandboxFacade) -> None:
    assert own_api.get("/commits") == {"commits": []}
    for comment in ("enable TDC", ""):
        own_api.post("/tdc/enable" if comment else "/tdc/disable",
                     {"address": SECOND_TENANT} if comment else {})
        own_api.post("/commit", {"comment": comment})
    own_api.post("/commit", {"comment": "nothing to commit: not in the history"})
    commits = own_api.get("/commits")["commits"]
    assert [commit["comment"] for commit in commits] == ["enable TDC", ""]
    assert commits[0]["at"] == tdc_sandbox.clock.now().isoformat()


def _refused(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=10).close()
    except ConnectionRefusedError:
        return True
    return False


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    return parts.hostname, parts.port


def test_the_api_and_the_console_listen_from_the_start_and_are_built_for_their_first_client(
    tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls
) -> None:
    """They are bound when `sandbox.json` is written, but their applications are built when a client
    first connects: a request waiting in the listening queue is answered, and a sandbox no client
    ever used frees both ports when it stops."""
    settings = module_settings(tmp_path_factory, "first-client")
    for asked in (True, False):
        with running(settings, tdc_tls) as sandbox:
            described = sandbox.sandbox.describe()
            admin, console = _address(described["admin"]["url"]), _address(described["console"]["url"])
            if asked:
                with socket.create_connection(console, timeout=10) as client:
                    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    assert client.makefile("rb").readline().startswith(b"HTTP/1.1 ")
                assert Api(sandbox).get("/tdc")["machines"]
        assert _refused(admin) and _refused(console)


def _first_answer(address: tuple[str, int]) -> bytes:
    """What a client asking `address` for a page reads first; a reset reads as nothing: the server may
    close its listening socket while the client's connection is still in its queue, before the
    client's `connect` has even returned (a loaded machine), or after the request went out."""
    try:
        with socket.create_connection(address, timeout=10) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return client.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        return b""


def test_an_application_that_cannot_be_built_refuses_its_first_client_instead_of_keeping_it_waiting(
    tmp_path_factory: pytest.TempPathFactory, tdc_tls: SandboxTls, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: object) -> NoReturn:
        raise RuntimeError("no console today")

    monkeypatch.setattr(ConsoleServer, "_application", broken)
    with running(module_settings(tmp_path_factory, "unbuilt"), tdc_tls) as sandbox:
        console = _address(sandbox.sandbox.describe()["console"]["url"])
        assert _first_answer(console) == b"", "the client is refused, not answered"
        assert Api(sandbox).get("/tdc")["machines"], "the admin API is served all the same"
    assert "the console cannot serve" in caplog.text and "no console today" in caplog.text
