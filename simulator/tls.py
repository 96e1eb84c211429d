"""TLS contexts for the sandbox: every server and client here speaks TLS 1.2 or better.

Design rule: certificates come from trustme at run time and live in memory; only the CA's public
certificate is written out (to the data dir) so that outside clients can verify the sandbox.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import trustme

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


def server_context(certificate: trustme.LeafCert) -> ssl.SSLContext:
    """A server context presenting `certificate`, refusing anything below TLS 1.2."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = MINIMUM_VERSION
    certificate.configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts only `ca`, checks host names and refuses below TLS 1.2."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = MINIMUM_VERSION
    ca.configure_trust(context)
    return context


@dataclass(frozen=True)
class SandboxTls:
    """The TLS material one sandbox runs with."""

    ca_pem: bytes
    server: ssl.SSLContext
    client: ssl.SSLContext

    @classmethod
    def issue(cls, ca: trustme.CA, *names: str) -> SandboxTls:
        """Issue a server certificate for `names` from `ca` and build both contexts."""
        leaf = ca.issue_cert(*names)
        return cls(ca.cert_pem.bytes(), server_context(leaf), client_context(ca))


SERVER_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
