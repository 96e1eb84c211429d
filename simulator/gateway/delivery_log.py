"""The mail-log lines of outbound delivery, for originals and for journal copies.

Design rule: wording lives here; decisions, and the entries' moves through the lifecycle, in
`batch_delivery.py`: each method is handed the entry in the state it describes. A copy's events get
the connector's `TDC:` lines (the seed's form, unchanged); an original's get the gateway's `Delayed:` /
`Bounced:` lines in the vendor's documented form: an SMTP reply as `Unknown address error ('550',
['5.1.1 ...']) []` (class 5.1.0 bounced, 4.0.0 delayed), a connection failure as `4.4.0 - Connection
refused` (or timed out, or error). Every DCID gets its `New SMTP DCID` line, a failed connection too.
No Python exception text reaches these lines (`outbound.py` words failures).
"""

from __future__ import annotations

from pathlib import Path

from simulator.core.config.values import NextHop
from simulator.core.errors import DeliveryError, TlsDeliveryError
from simulator.core.mail import connector
from simulator.core.mail.messages import QueueEntry
from simulator.core.reports.logformat import format_timestamp
from simulator.gateway.maillog import MailLog
from simulator.gateway.outbound import OutboundSession
from simulator.gateway.outbound_errors import CONNECTION_FAILED


def rid_list(entry: QueueEntry) -> str:
    return "[" + ", ".join(str(rid) for rid in entry.rids) + "]"


def failure_rids(entry: QueueEntry) -> str:
    """`0` for one recipient, as the vendor's `Delayed:` / `Bounced:` lines; `[0, 1]` for several."""
    return str(entry.rids[0]) if len(entry.rids) == 1 else rid_list(entry)


def failure_text(error: DeliveryError, kind: str) -> str:
    """`5.1.0 - Unknown address error ('550', ['5.1.1 ...']) []`, `4.4.0 - Connection refused`, ..."""
    if error.code is not None and error.reason.startswith(f"{error.code} "):  # the next hop's reply
        reply = error.reason.removeprefix(str(error.code)).strip()
        status = "5.1.0" if kind == "Bounced" else "4.0.0"
        return f"{status} - Unknown address error ({str(error.code)!r}, {reply.splitlines()!r}) []"
    if error.reason == CONNECTION_FAILED:
        return f"{error.enhanced or '4.4.0'} - {error.detail or 'Connection error'}"
    default = "4.0.0" if kind == "Delayed" else "5.0.0"
    return f"{error.enhanced or default} - {error.reason}"


def attempt_failure(error: DeliveryError) -> str:
    """How one host failed the connection, for the `trying the next host` line."""
    if isinstance(error, TlsDeliveryError):
        return f"TLS failed: {error.detail}"
    return error.detail if error.reason == CONNECTION_FAILED and error.detail else error.reason


def describe(bug: BaseException) -> str:
    """`RuntimeError('boom') in _notify_sender (machine.py:78)`: what raised, and where."""
    tb = bug.__traceback__  # the innermost frame, read without its source (no file looked at)
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code if tb is not None else None
    where = f" in {code.co_name} ({Path(code.co_filename).name}:{tb.tb_lineno})" if tb and code else ""
    try:
        said = repr(bug)
    except Exception:  # an exception that cannot even say what it is
        said = f"{type(bug).__name__}(?)"
    return f"{said}{where}"


class DeliveryLog:
    """Writes one delivery connection's events."""

    def __init__(self, log: MailLog) -> None:
        self._log = log

    def connected(self, dcid: int, session: OutboundSession, hop: NextHop) -> None:
        self._log.info(f"New SMTP DCID {dcid} interface {session.local_address} "
                       f"address {hop.host} port {hop.port}")
        if session.tls is not None:
            self._log.info(f"DCID {dcid} TLS success protocol {session.tls.protocol} "
                           f"cipher {session.tls.cipher}")

    def started(self, dcid: int, entry: QueueEntry) -> None:
        self._log.info(f"Delivery start DCID {dcid} MID {entry.mid} to RID {rid_list(entry)}")

    def done(self, dcid: int, entry: QueueEntry, response: str) -> None:
        rids = rid_list(entry)
        self._log.info(f"Message done DCID {dcid} MID {entry.mid} to RID {rids}")
        self._log.info(f"MID {entry.mid} RID {rids} Response {response!r}")
        if entry.is_copy:
            self._log.info(connector.delivered_line(entry.mid))
        self._log.info(f"Message finished MID {entry.mid} done")

    def discarded(self, entry: QueueEntry, route: str) -> None:
        """Finished by a /dev/null route: delivered to nowhere."""
        self._log.info(f"MID {entry.mid} RID {rid_list(entry)} delivered to /dev/null by SMTP route {route}")
        self._log.info(f"Message finished MID {entry.mid} done")

    def next_host(self, dcid: int, hop: NextHop, error: DeliveryError) -> None:
        """One of a route's hosts failed the connection; the next one is tried."""
        self._log.info(f"DCID {dcid} connection to {hop.host} port {hop.port} failed: "
                       f"{attempt_failure(error)}; trying the next host")

    def _failure(self, dcid: int, entry: QueueEntry, error: DeliveryError, kind: str) -> None:
        if isinstance(error, TlsDeliveryError):
            self._log.info(f"DCID {dcid} TLS failed: {error.detail}")
        if entry.is_copy:
            self._log.info(connector.failed_line(entry.mid, error.reason))
            return
        self._log.info(f"{kind}: DCID {dcid} MID {entry.mid} to RID {failure_rids(entry)} - "
                       f"{failure_text(error, kind)}")

    def delayed(self, dcid: int, entry: QueueEntry, error: DeliveryError) -> None:
        self._failure(dcid, entry, error, "Delayed")

    def bounced(self, dcid: int, entry: QueueEntry, error: DeliveryError) -> None:
        self._failure(dcid, entry, error, "Bounced")
        if entry.is_copy:
            self._log.info(connector.bounced_line(entry.mid, error.reason))
        self._log.info(f"Message finished MID {entry.mid} done")

    def spool_trouble(self, entry: QueueEntry, error: Exception) -> None:
        if isinstance(error, OSError):
            self._log.warning(f"MID {entry.mid} spool could not be updated: {error.strerror or error}")
        else:
            self._log.critical(f"MID {entry.mid} spool could not be updated: {describe(error)}")

    def worker_trouble(self, destination: str, bug: Exception) -> None:
        """A bug outside any entry's handling; the worker goes on after a pause."""
        self._log.critical(f"Delivery worker of {destination} internal error: {describe(bug)}")

    def parked(self, entry: QueueEntry, bug: Exception) -> None:
        """Handling the entry raised: one Critical line; it waits for its next retry."""
        self._log.critical(f"MID {entry.mid} to RID {rid_list(entry)} internal error, delivery retried "
                           f"at {format_timestamp(entry.schedule.next_attempt)}: {describe(bug)}")

    def given_up(self, entry: QueueEntry, bug: Exception) -> None:
        """Handling the entry raised once more than its retries allow: finished, bounced, no DSN."""
        self._log.critical(f"MID {entry.mid} to RID {rid_list(entry)} internal error, retries "
                           f"exhausted: bounced, no DSN is sent: {describe(bug)}")
        if entry.is_copy:
            self._log.info(connector.bounced_line(entry.mid, "Internal error"))
        self._log.info(f"Message finished MID {entry.mid} done")

    def closed(self, dcid: int) -> None:
        self._log.info(f"DCID {dcid} close")
