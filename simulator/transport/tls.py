"""TLS contexts for the sandbox: every server and client here speaks TLS 1.2 or better.

Design rule: certificates come from trustme at run time and live in memory; only the CA's public
certificate is written out (to the data dir) so that outside clients can verify the sandbox.
Each server presents a certificate naming every name a client may verify it by (`naming`: minted
per server from the one CA when the server first needs it, so that each part mints one); the bad
certificates of the TLS faults are minted the same way, with the same names, on first use, per
endpoint.
"""

from __future__ import annotations

import ssl
import warnings
from datetime import UTC, datetime, timedelta

import trustme

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


def server_context(certificate: trustme.LeafCert) -> ssl.SSLContext:
    """A server context presenting `certificate`, refusing anything below TLS 1.2 (it asks for no
    client certificate, so it loads no CA store)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    certificate.configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts only `ca` (not the system's CA store, which
    `ssl.create_default_context` would load too), checks host names and refuses below TLS 1.2."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    context.minimum_version = MINIMUM_VERSION
    ca.configure_trust(context)
    return context


class SandboxTls:
    """The TLS material one sandbox runs with: the CA's certificate, a server context presenting a
    certificate for `names`, and a client context trusting only the CA.

    Issued from the CA, each context is made when it is first used: a part's servers present a
    certificate with names of their own (`naming`) and a supervisor serves no TLS, so a certificate
    minted up front would be minted for nothing (a few ms of every part's start)."""

    def __init__(self, ca_pem: bytes, server: ssl.SSLContext | None = None,
                 client: ssl.SSLContext | None = None, ca: trustme.CA | None = None,
                 names: tuple[str, ...] = ()) -> None:
        """A context given is used as it is; one not given is made from `ca` on first use."""
        if ca is None and (server is None or client is None):
            raise ValueError("without the CA, give both contexts")
        self.ca_pem, self.ca, self.names = ca_pem, ca, names  # `ca`: to mint certificates
        self._server, self._client = server, client
        #: `naming`'s TLS, kept: sandboxes started with this TLS (a test session's) share them
        self._named: dict[tuple[str, ...], SandboxTls] = {}

    @classmethod
    def issue(cls, ca: trustme.CA, *names: str) -> SandboxTls:
        """The TLS of `ca`, its servers' certificate naming `names` (each once; minted on first use)."""
        return cls(ca.cert_pem.bytes(), ca=ca, names=distinct(names))

    @property
    def server(self) -> ssl.SSLContext:
        """The server context; the first use mints its certificate (a few ms)."""
        if self._server is None:
            assert self.ca is not None, "the constructor refuses a TLS without both the CA and a context"
            self._server = server_context(self.ca.issue_cert(*self.names))
        return self._server

    @property
    def client(self) -> ssl.SSLContext:
        """The client context, trusting only the CA; made on first use."""
        if self._client is None:
            assert self.ca is not None, "the constructor refuses a TLS without both the CA and a context"
            self._client = client_context(self.ca)
        return self._client

    def naming(self, *names: str) -> SandboxTls:
        """This TLS with a server certificate from the same CA naming `names` too (a server's own
        names: its banner host, the domains it is the MX of); without the CA, this TLS unchanged.
        Made once per set of names and kept; its certificate is minted when its server is first used."""
        every = distinct((*self.names, *names))
        if self.ca is None or every == self.names:
            return self
        if every not in self._named:
            self._named[every] = SandboxTls(self.ca_pem, None, self._client, self.ca, every)
        return self._named[every]


def distinct(names: tuple[str, ...]) -> tuple[str, ...]:
    """`names` lower-cased, each once, in their first order (a certificate lists a name once)."""
    return tuple(dict.fromkeys(name.lower() for name in names))


WRONG_HOST_NAME = "wrong-host.sandbox.test"


class FaultTlsContexts:
    """An endpoint's server contexts for the TLS faults, minted on first use and then kept."""

    def __init__(self, tls: SandboxTls) -> None:
        self._tls = tls
        self._minted: dict[str, ssl.SSLContext] = {}

    def context(self, tls_fault: str | None) -> ssl.SSLContext | None:
        """The context to offer for `tls_fault` (a TLS fault kind, or None); None offers no STARTTLS."""
        if tls_fault is None:
            return self._tls.server
        if tls_fault == "no-starttls":
            return None
        if tls_fault not in self._minted:
            self._minted[tls_fault] = self._mint(tls_fault)
        return self._minted[tls_fault]

    def _mint(self, tls_fault: str) -> ssl.SSLContext:
        ca, names = self._tls.ca, self._tls.names
        if ca is None:
            raise ValueError(f"{tls_fault} needs the sandbox CA: build the TLS with SandboxTls.issue")
        if tls_fault == "untrusted-cert":
            return server_context(trustme.CA().issue_cert(*names))
        if tls_fault == "wrong-host-cert":
            return server_context(ca.issue_cert(WRONG_HOST_NAME))
        if tls_fault == "expired-cert":
            now = datetime.now(UTC)  # OpenSSL checks validity against the real clock, not the sandbox's
            start, end = now - timedelta(days=30), now - timedelta(days=1)
            return server_context(ca.issue_cert(*names, not_before=start, not_after=end))
        if tls_fault == "tls1.1-only":
            return tls11_only_context(ca.issue_cert(*names))
        raise ValueError(f"not a TLS fault: {tls_fault}")


def tls11_only_context(certificate: trustme.LeafCert) -> ssl.SSLContext:
    """A server context that speaks TLS 1.1 at most (to old clients only, as an old server would)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # Python deprecates TLS 1.1 itself: offering it is the fault
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.1 at the default level
    certificate.configure_cert(context)
    return context


SERVER_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
