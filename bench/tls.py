"""The TLS material of the STARTTLS phase: one trustme CA and one server certificate, as files.

Design rule: the benchmark's process mints them once and writes them to a folder; the sink and
Threat Defense processes both load that same certificate into the simulator's own server context
(`simulator.transport.tls.server_context`: TLS 1.2 or better), and the client trusts only that CA,
so the two servers differ in nothing the handshake sees.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from simulator.transport.tls import client_context, server_context

NAMES = ("127.0.0.1", "localhost", "intake.threatdefense.test")
_FILES = {"key": "server-key.pem", "cert": "server-cert.pem", "ca": "ca.pem", "ca_key": "ca-key.pem"}


def mint(folder: Path) -> Path:
    """A fresh CA and a server certificate for `NAMES`, written to `folder`; `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(*NAMES)
    (folder / _FILES["key"]).write_bytes(leaf.private_key_pem.bytes())
    (folder / _FILES["cert"]).write_bytes(leaf.cert_chain_pems[0].bytes())
    (folder / _FILES["ca"]).write_bytes(ca.cert_pem.bytes())
    (folder / _FILES["ca_key"]).write_bytes(ca.private_key_pem.bytes())
    return folder


def server(folder: Path) -> ssl.SSLContext:
    """The server context both STARTTLS servers offer: the minted certificate, TLS 1.2 or better."""
    leaf = trustme.LeafCert((folder / _FILES["key"]).read_bytes(), (folder / _FILES["cert"]).read_bytes(),
                            [])
    return server_context(leaf)


def ca(folder: Path) -> trustme.CA:
    """The minted CA (certificate and key), for a server that mints more from it."""
    return trustme.CA.from_pem((folder / _FILES["ca"]).read_bytes(), (folder / _FILES["ca_key"]).read_bytes())


def client(folder: Path) -> ssl.SSLContext:
    """The client's context: trusts only the minted CA, checks the host name, TLS 1.2 or better."""
    return client_context(ca(folder))
