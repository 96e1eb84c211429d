"""Certificates name what the banners, MX records and intake addresses name (BEHAVIOUR.md §8.8).

A strict client (Postfix `smtp_tls_security_level = secure`, `match=` a domain) verifies the server's
certificate against the name it expects, not against the address it connected to: here a client
trusting only the sandbox CA completes STARTTLS over a real socket by each of those names, and fails
by an unrelated one (so the check is really made).
"""

from __future__ import annotations

import socket
import ssl
import warnings
from dataclasses import replace
from typing import Any, BinaryIO

import pytest
import trustme
from cryptography import x509

from simulator.core.clock import ManualClock
from simulator.sandbox import SandboxSettings
from simulator.sandbox.parts import build_machine
from simulator.sandbox.settings import cluster_config
from simulator.testing.harness import SandboxFacade
from simulator.testing.smtp_client import read_reply
from simulator.transport.server import SmtpServer
from simulator.transport.tls import (
    SERVER_NAMES,
    WRONG_HOST_NAME,
    SandboxTls,
    client_context,
    server_context,
)

SECOND_TENANT = "second-tenant@tenant-two.test"


@pytest.fixture
def tdc_sandbox_settings(tdc_sandbox_settings: SandboxSettings) -> SandboxSettings:
    """Two tenants in two intake domains, so the second domain has to be on the certificate too."""
    return replace(tdc_sandbox_settings,
                   intake_addresses=("sandbox-tenant@intake.threatdefense.test", SECOND_TENANT))


def command(raw: socket.socket, reader: BinaryIO, line: bytes) -> str:
    """Send `line`; the last line of the reply."""
    raw.sendall(line + b"\r\n")
    return read_reply(reader)[-1]


def plain_part(raw: socket.socket) -> None:
    """Banner, EHLO and STARTTLS in clear: the socket is ready for the handshake."""
    reader = raw.makefile("rb")
    assert read_reply(reader)[-1].startswith("220")
    assert command(raw, reader, b"EHLO gateway.test").startswith("250")
    assert command(raw, reader, b"STARTTLS").startswith("220")


def starttls_by_name(server: SmtpServer, name: str, context: ssl.SSLContext) -> str:
    """EHLO, STARTTLS and EHLO again with `server`, verifying its certificate by `name`; the
    EHLO reply's last line over TLS."""
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        plain_part(raw)
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls_reader = tls.makefile("rb")
            reply = command(tls, tls_reader, b"EHLO gateway.test")
            command(tls, tls_reader, b"QUIT")
            return reply.strip()


def strict(context: ssl.SSLContext) -> ssl.SSLContext:
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    return context


@pytest.mark.parametrize("name", ["intake.threatdefense.test", "tenant-two.test", "127.0.0.1"])
def test_threat_defense_is_verified_by_its_banner_name_and_each_intake_domain(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, name: str
) -> None:
    server = tdc_sandbox.sandbox.threat_defense_server
    assert starttls_by_name(server, name, strict(tdc_client_tls)).startswith("250")


@pytest.mark.parametrize("name", ["example.com", "mailbox.sandbox.test", "127.0.0.1"])
def test_mailbox_host_is_verified_by_the_local_domain_and_its_banner_name(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, name: str
) -> None:
    server = tdc_sandbox.sandbox.mailbox_server
    assert starttls_by_name(server, name, strict(tdc_client_tls)).startswith("250")


def test_gateway_listener_is_verified_by_the_machine_host_name(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext
) -> None:
    listener = tdc_sandbox.machine.inbound
    assert starttls_by_name(listener, "esa1.sandbox.test", strict(tdc_client_tls)).startswith("250")


@pytest.mark.parametrize("endpoint", ["threat_defense_server", "mailbox_server"])
def test_an_unrelated_name_fails_verification(
    tdc_sandbox: SandboxFacade, tdc_client_tls: ssl.SSLContext, endpoint: str
) -> None:
    server = getattr(tdc_sandbox.sandbox, endpoint)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        starttls_by_name(server, "unrelated.example.org", strict(tdc_client_tls))


def any_certificate() -> ssl.SSLContext:
    """A client that takes whatever certificate (and TLS version) it is shown: to read the names."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.1 for the tls1.1-only fault
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def presented_names(server: SmtpServer) -> set[str]:
    """The DNS names on the certificate `server` presents after STARTTLS."""
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        plain_part(raw)
        with any_certificate().wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.DNSName))


@pytest.mark.parametrize("fault", ["untrusted-cert", "expired-cert", "tls1.1-only"])
def test_tls_fault_certificates_carry_the_same_names(tdc_sandbox: SandboxFacade, fault: str) -> None:
    """The fault is what it says (old TLS, expired, unknown CA), not also a wrong name."""
    tdc_sandbox.set_faults("threat_defense", fault)
    names = presented_names(tdc_sandbox.sandbox.threat_defense_server)
    assert {"intake.threatdefense.test", "tenant-two.test", "localhost"} <= names


def test_wrong_host_cert_names_only_the_wrong_host(tdc_sandbox: SandboxFacade) -> None:
    tdc_sandbox.set_faults("mailbox", "wrong-host-cert")
    assert presented_names(tdc_sandbox.sandbox.mailbox_server) == {WRONG_HOST_NAME}


def test_a_certificate_lists_each_name_once() -> None:
    tls = SandboxTls.issue(trustme.CA(), "localhost", "127.0.0.1", "::1", "127.0.0.1", "LOCALHOST")
    assert tls.names == ("localhost", "127.0.0.1", "::1")
    named = tls.naming("esa1.sandbox.test", "127.0.0.1")
    assert named.names == (*tls.names, "esa1.sandbox.test")
    assert tls.naming("ESA1.sandbox.test") is named  # minted once per set of names, then kept
    assert tls.naming("::1") is tls


def test_the_sandbox_client_trusts_only_the_sandbox_ca_and_verifies_names() -> None:
    """The outbound client's context holds the sandbox CA and nothing from the system's store, so a
    certificate a public CA signed is no more trusted than any other; verification stays on."""
    ca = trustme.CA()
    context = client_context(ca)
    serial = x509.load_pem_x509_certificate(ca.cert_pem.bytes()).serial_number
    assert [int(str(cert["serialNumber"]), 16) for cert in context.get_ca_certs()] == [serial]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    server = server_context(ca.issue_cert("localhost"))
    assert server.cert_store_stats()["x509_ca"] == 0 and server.verify_mode == ssl.CERT_NONE
    assert server.minimum_version >= ssl.TLSVersion.TLSv1_2


class CountingCA(trustme.CA):
    """A CA that remembers the names of every certificate it issues (a subclass: trustme is untouched)."""

    def __init__(self) -> None:
        super().__init__()
        self.issued: list[tuple[str, ...]] = []

    def issue_cert(self, *identities: str, **options: Any) -> trustme.LeafCert:
        self.issued.append(identities)
        return super().issue_cert(*identities, **options)


def test_a_certificate_is_minted_when_its_server_is_first_used_and_only_then() -> None:
    """A part's servers present certificates with names of their own (`naming`) and a supervisor
    serves no TLS: the certificate of the names the TLS was issued for is minted only if asked for."""
    ca = CountingCA()
    tls = SandboxTls.issue(ca, *SERVER_NAMES)
    named = tls.naming("esa1.sandbox.test")
    assert ca.issued == []
    assert named.server is named.server
    assert ca.issued == [(*SERVER_NAMES, "esa1.sandbox.test")]
    assert tls.server is not named.server and ca.issued[-1] == SERVER_NAMES


def test_a_machine_part_mints_one_certificate_naming_its_host() -> None:
    """What a machine's process does at start (`child.build`): one certificate, not one for the
    sandbox's names and then another for the machine's."""
    ca, settings = CountingCA(), SandboxSettings(data_dir=None)
    config = cluster_config(settings, threat_defense_port=1, mailbox_port=2).effective("esa1")
    build_machine(settings, 0, config, SandboxTls.issue(ca, *SERVER_NAMES), ManualClock())
    assert ca.issued == [(*SERVER_NAMES, "esa1.sandbox.test")]


def test_a_tls_without_its_ca_takes_both_contexts_as_given() -> None:
    """(bench/td_alone.py's case: contexts from certificate files.) Nothing to mint from, so both are
    needed, and `naming` has nothing to add."""
    ca = trustme.CA()
    server, client = server_context(ca.issue_cert("localhost")), client_context(ca)
    tls = SandboxTls(ca.cert_pem.bytes(), server, client, None, ("localhost",))
    assert (tls.server, tls.client, tls.naming("esa1.sandbox.test")) == (server, client, tls)
    with pytest.raises(ValueError, match="without the CA"):
        SandboxTls(ca.cert_pem.bytes(), server)
