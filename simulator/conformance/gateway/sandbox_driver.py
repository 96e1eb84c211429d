"""A driver for our own sandbox (`tdcsim sandbox`) as a gateway under test, through its admin API.

Design rule: it does only what an administrator could, through the admin API client (found by the
data dir's `sandbox.json`), each change submitted and committed: `prepare` points the DNS zone's MX
records of the intake domain at the kit's Threat Defense and every other domain (`*`: the local
domains, the outside world) at the kit's mailbox host, and enables the connector with the kit's
intake address. `let_retries_run` is the operator's `delivernow` (POST /delivernow): what waits for a
retry on every machine is tried at once, its retry count kept, so the kit never waits for the real
60 s retries. `finish` puts back what `prepare` changed, as it found it: the two domains' MX records
and the connector (on or off, its intake address), committed. `ClockedSandboxDriver` moves the
clock of a sandbox on a manual clock instead (the test suite's), so that the retries run as time
passes. Use it as
`python = "simulator.conformance.gateway.sandbox_driver:SandboxDriver"`, `options = {data_dir = "..."}`;
give the kit `DATA/ca.pem` and `DATA/ca-key.pem` as `ca_cert` / `ca_key` so the gateway trusts it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from simulator.admin.client import AdminClient
from simulator.core.config.text import format_hop
from simulator.core.config.values import NextHop

WILDCARD = "*"
LOG_LINES = 10_000  # the admin API's longest tail
#: How far `let_retries_run` moves a manual clock: past a few retries of the bounce profile
#: (60 s, then doubling: BEHAVIOUR.md §4.4).
RETRY_SPAN = timedelta(minutes=8)


def hop(server: dict[str, Any]) -> str:
    """`host:port` of a counterpart as `prepare` describes it (an IPv6 host in brackets)."""
    host = str(server["host"])
    return f"[{host}]:{server['port']}" if ":" in host else f"{host}:{server['port']}"


class SandboxDriver:
    """The hooks for a running sandbox, by its data dir (or an admin client)."""

    def __init__(self, data_dir: str | Path | None = None, machine: str | None = None,
                 client: AdminClient | None = None) -> None:
        if client is None and data_dir is None:
            raise ValueError("the sandbox driver needs data_dir (the sandbox's --data-dir)")
        self.client = client or AdminClient.for_data_dir(Path(str(data_dir)))
        self.machine = machine
        self.intake_address = ""
        self.found: dict[str, Any] | None = None  # what `prepare` changed, as it found it

    def _commit(self, what: str) -> None:
        self.client.call("POST", "/commit", {"comment": f"conformance kit: {what}"})

    def prepare(self, counterparts: dict[str, Any]) -> None:
        """Route the intake domain to the kit's Threat Defense and everything else to its mailbox
        host; enable the connector with the kit's intake address."""
        td, mailbox = counterparts["threat_defense"], counterparts["mailbox"]
        self.found = self._as_found((str(td["intake_domain"]), WILDCARD))
        self.client.call("POST", "/dns", {"domain": td["intake_domain"], "hosts": [hop(td)]})
        self.client.call("POST", "/dns", {"domain": WILDCARD, "hosts": [hop(mailbox)]})
        self.intake_address = str(td["intake_address"])
        self.client.call("POST", "/tdc/enable", {"address": self.intake_address})
        self._commit("the counterparts' routes, the connector on")

    def enable_connector(self) -> None:
        self.client.call("POST", "/tdc/enable", {"address": self._current_intake()})
        self._commit("connector enabled")

    def disable_connector(self) -> None:
        self.client.call("POST", "/tdc/disable", {})
        self._commit("connector disabled")

    def set_intake_address(self, address: str) -> None:
        self.intake_address = address
        self.client.call("POST", "/tdc/enable", {"address": address})
        self._commit(f"intake address {address}")

    def let_retries_run(self) -> None:
        """`delivernow` for every destination on every machine."""
        self.client.deliver_now()

    def read_log_lines(self) -> list[str]:
        answer = self.client.get("/log", machine=self.machine, lines=LOG_LINES)
        return [str(line) for line in answer["lines"]]

    def finish(self) -> None:
        """Put back the MX records and the connector `prepare` found (nothing if it did not run)."""
        if self.found is None:
            return
        for domain, hosts in self.found["dns"].items():
            self.client.call("POST", "/dns", {"domain": domain, "hosts": hosts})
        connector = self.found["connector"]
        self.client.call("POST", "/tdc/enable", {"address": connector["intake_address"]})
        if not connector["enabled"]:
            self.client.call("POST", "/tdc/disable", {})
        self._commit("finished: routes and connector as the kit found them")

    def _as_found(self, domains: tuple[str, ...]) -> dict[str, Any]:
        """The committed MX records of `domains` (as `host:port:priority`) and the first machine's
        connector, before `prepare` changes them."""
        records = self.client.get("/dns")["records"]
        dns = {domain: [format_hop(NextHop(str(r["host"]), int(r["port"]), int(r["priority"])))
                        for r in records if str(r["domain"]).lower() == domain.lower()]
               for domain in domains}
        row = self.client.get("/tdc")["machines"][0]
        return {"dns": dns, "connector": {"enabled": bool(row["enabled"]),
                                          "intake_address": str(row["intake_address"])}}

    def _current_intake(self) -> str:
        """The intake address set last (by `prepare`), else the one the sandbox runs with."""
        if not self.intake_address:
            rows = self.client.get("/tdc")["machines"]
            self.intake_address = str(rows[0]["intake_address"])
        return self.intake_address


class ClockedSandboxDriver(SandboxDriver):
    """A sandbox on a manual clock: `let_retries_run` moves it with `advance` (which must also run
    what falls due, as the test suite's `SandboxFacade.advance` does)."""

    def __init__(self, advance: Callable[[timedelta], None], data_dir: str | Path | None = None,
                 machine: str | None = None, client: AdminClient | None = None) -> None:
        super().__init__(data_dir, machine, client)
        self._advance = advance

    def let_retries_run(self) -> None:
        self._advance(RETRY_SPAN)
