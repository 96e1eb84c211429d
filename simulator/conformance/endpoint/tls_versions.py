"""The TLS contexts of the protocol probes: one TLS version only, or whatever the endpoint offers.

Design rule: a probe's context tests one thing. A version probe offers exactly one version and does
not verify the certificate (that is rule 8.8's); TLS 1.0 and 1.1 need OpenSSL 3's security level 0
to be offered at all. Before the kit says an endpoint refused a version, it proves that this
machine's OpenSSL can offer it (an in-memory handshake with itself): if it cannot, the check is not
run (`KitCannotOffer`, a `HookMissing`), never passed.
"""

from __future__ import annotations

import functools
import ssl
import warnings

import trustme

from simulator.conformance.outcomes import HookMissing

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3,
}
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"  # OpenSSL 3 offers TLS 1.0/1.1 only at security level 0
_SELF_TEST_NAME = "tls-self-test.conformance.invalid"


class KitCannotOffer(HookMissing):
    """This machine's OpenSSL cannot offer a TLS version, so whether the endpoint takes it is unknown."""

    def __init__(self, version: str) -> None:
        Exception.__init__(self, f"this machine's OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer TLS "
                                 f"{version}, so the kit cannot try it: not run")
        self.hook = f"tls-{version}"


def _bounded(context: ssl.SSLContext, lowest: ssl.TLSVersion, highest: ssl.TLSVersion) -> ssl.SSLContext:
    with warnings.catch_warnings():  # Python deprecates TLS 1.0/1.1 itself: offering them is the probe
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = lowest, highest
    if lowest < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers(LEGACY_CIPHERS)
    return context


def unverified_client() -> ssl.SSLContext:
    """A client context that does not check the certificate (another rule's business)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def one_version(version: str) -> ssl.SSLContext:
    """A client context offering TLS `version` ("1.0" ... "1.3") and nothing else."""
    return _bounded(unverified_client(), VERSIONS[version], VERSIONS[version])


def any_version() -> ssl.SSLContext:
    """A client context taking whatever TLS the endpoint offers, from 1.0 to 1.3, unverified."""
    return _bounded(unverified_client(), ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_3)


@functools.cache
def can_offer(version: str) -> bool:
    """Whether this machine's OpenSSL completes a TLS `version` handshake with itself."""
    try:
        leaf = trustme.CA().issue_cert(_SELF_TEST_NAME)
        server = _bounded(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), VERSIONS[version], VERSIONS[version])
        leaf.configure_cert(server)
        return _handshake_in_memory(one_version(version), server) == _wire_name(version)
    except (ssl.SSLError, ValueError):
        return False


def require_offerable(version: str) -> None:
    """Raise `KitCannotOffer` unless this machine can offer TLS `version`."""
    if not can_offer(version):
        raise KitCannotOffer(version)


def _wire_name(version: str) -> str:
    return "TLSv1" if version == "1.0" else f"TLSv{version}"


def _handshake_in_memory(client_context: ssl.SSLContext, server_context: ssl.SSLContext) -> str | None:
    """Both sides of a handshake over memory buffers; the version agreed (raises ssl.SSLError)."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(to_client, to_server, server_hostname=_SELF_TEST_NAME)
    server = server_context.wrap_bio(to_server, to_client, server_side=True)
    done = {client: False, server: False}
    for _ in range(10):  # a TLS handshake takes at most a few flights
        for side in (client, server):
            if not done[side]:
                try:
                    side.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        if all(done.values()):
            return client.version()
    return None
