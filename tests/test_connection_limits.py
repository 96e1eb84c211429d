"""Connection limits like an AsyncOS listener's: Max. Concurrent Connections per listener and from a
single IP; past them `421 4.7.0`, then the connection is closed. Over real sockets, from several
loopback addresses (127.0.0.0/8 is all loopback on Linux)."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest

from simulator.core import replies
from simulator.core.config.values import GatewayConfig
from simulator.core.errors import ConfigError
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import read_reply
from simulator.transport.limits import ConnectionGate, ConnectionLimits


def greeting(sock: socket.socket) -> str:
    """The greeting reply, or "" if the server closed without one."""
    with sock.makefile("rb") as lines:
        return "\r\n".join(read_reply(lines)).strip()


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(10)
    return sock.recv(1024) == b""


class Clients:
    """Raw connections to one listener, each from a chosen loopback address."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.open: list[socket.socket] = []

    def connect(self, source_ip: str) -> tuple[socket.socket, str]:
        sock = socket.create_connection(self.address, timeout=10, source_address=(source_ip, 0))
        self.open.append(sock)
        return sock, greeting(sock)

    def close_all(self) -> None:
        for sock in self.open:
            sock.close()


@pytest.fixture
def inbound_clients(tdc_sandbox: SandboxFacade) -> Iterator[Clients]:
    tdc_sandbox.reconfigure(lambda c: dataclasses.replace(c, max_connections=3, max_connections_per_ip=2))
    clients = Clients(tdc_sandbox.listener_address("inbound"))
    try:
        yield clients
    finally:
        clients.close_all()


def test_past_the_per_ip_limit_a_client_gets_421_and_is_closed(inbound_clients: Clients) -> None:
    for _ in range(2):
        assert inbound_clients.connect("127.0.0.1")[1].startswith("220 ")
    sock, reply = inbound_clients.connect("127.0.0.1")
    assert reply == replies.HOST_BUSY.line
    assert closed_by_server(sock)
    assert inbound_clients.connect("127.0.0.2")[1].startswith("220 "), "another address still gets in"


def test_past_the_listener_limit_every_address_gets_421(inbound_clients: Clients) -> None:
    for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        assert inbound_clients.connect(source)[1].startswith("220 ")
    sock, reply = inbound_clients.connect("127.0.0.4")
    assert reply == replies.LISTENER_BUSY.line
    assert closed_by_server(sock)


def test_a_closed_connection_frees_its_place(
    tdc_sandbox: SandboxFacade, inbound_clients: Clients
) -> None:
    first, _ = inbound_clients.connect("127.0.0.1")
    inbound_clients.connect("127.0.0.1")
    assert inbound_clients.connect("127.0.0.1")[1] == replies.HOST_BUSY.line
    first.close()
    tdc_sandbox.mail_log.wait_for(r"ICID \d+ close")
    assert inbound_clients.connect("127.0.0.1")[1].startswith("220 ")


def test_each_listener_counts_its_own_connections(
    tdc_sandbox: SandboxFacade, inbound_clients: Clients
) -> None:
    for source in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        inbound_clients.connect(source)
    relay = Clients(tdc_sandbox.listener_address("relay"))
    try:
        assert relay.connect("127.0.0.1")[1].startswith("220 ")
    finally:
        relay.close_all()


def test_refused_connections_never_reach_the_mail_log(
    tdc_sandbox: SandboxFacade, inbound_clients: Clients
) -> None:
    """The gateway opens no ICID for a connection it turns away at the door."""
    for _ in range(3):
        inbound_clients.connect("127.0.0.1")
    inbound_clients.close_all()
    tdc_sandbox.mail_log.wait_for(r"ICID \d+ close", count=2)
    assert len(tdc_sandbox.mail_log.matching(r"New SMTP ICID")) == 2


def test_the_defaults_are_asyncos_s_and_a_limit_is_at_least_one() -> None:
    config = GatewayConfig()
    assert (config.max_connections, config.max_connections_per_ip) == (50, 10)
    with pytest.raises(ConfigError, match="max_connections: must be at least 1"):
        GatewayConfig(max_connections=0)
    with pytest.raises(ConfigError, match="max_connections_per_ip: must be at least 1"):
        GatewayConfig(max_connections_per_ip=0)


def test_the_gate_counts_each_connection_in_once_and_out_once() -> None:
    gate, limits = ConnectionGate(), ConnectionLimits(per_listener=2, per_ip=1)
    assert gate.admit("192.0.2.1", limits) is None
    assert gate.admit("192.0.2.1", limits) is replies.HOST_BUSY
    assert gate.admit("192.0.2.2", limits) is None
    assert gate.admit("192.0.2.3", limits) is replies.LISTENER_BUSY
    gate.release("192.0.2.1")
    assert gate.admit("192.0.2.1", limits) is None
    assert gate.admit("192.0.2.9", None) is None, "no limits: always in"
