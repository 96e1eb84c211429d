"""A conformance-kit driver for a Postfix set up by `apply-postfix-config.sh` as a simple gateway.

The kit finds the hooks by name (simulator/conformance/gateway/driver.py); each one here does what
an administrator would do at the Postfix command line, with subprocess, and raises on any failure
(a command's non-zero status, a missing log file), so the kit marks that check "error" with the
command's output instead of judging a Postfix that is not in the state the check asked for.

- prepare(counterparts): checks that Postfix runs and that its transport_maps really send the
  intake domain and the local domain to where the kit's counterparts listen (a mismatch would
  otherwise show up as 30 s timeouts), then switches the copy on for the kit's intake address.
- enable_connector / disable_connector: set / remove `always_bcc` on the incoming listener's
  cleanup service (`postconf -P` / `postconf -PX`), then `postfix reload`.
- set_intake_address(address): the `always_bcc` address (applied at once if the copy is on).
- read_log_lines(): the last lines of Postfix's `maillog_file` (postlogd).
- let_retries_run(): `postqueue -f` (every deferred message and throttled destination tried now),
  then a short wait.
- finish(): the run is over: puts `always_bcc` back as `prepare` found it (and reloads if that
  changes it), and deletes (`postsuper -d`) what the run left queued -- the quarantined samples in
  the hold queue, copies still deferred to the kit's Threat Defense (which stops after this hook) --
  but only the kit's mail: queued since `prepare`, from or to one of the kit's domains.

Use it in conform.toml:
    [gateway.driver]
    python = "postfix_driver:PostfixDriver"
    path = "postfix_driver.py"
    options = { cleanup_service = "cleanup_tdc" }
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class PostfixCommandError(RuntimeError):
    """A Postfix command failed: its arguments, status and output."""


class PostfixDriver:
    """The hooks for a local Postfix (run as root, or give `sudo = ["sudo", "-n"]`)."""

    def __init__(self, cleanup_service: str = "cleanup_tdc", config_dir: str = "/etc/postfix",
                 intake_address: str = "", maillog_file: str = "", reload_wait: float = 1.0,
                 retry_wait: float = 3.0, log_lines: int = 5000, sudo: Sequence[str] = (),
                 command_timeout: float = 60.0) -> None:
        self.service = f"{cleanup_service}/unix"
        self.config_dir = config_dir
        self.intake_address = intake_address  # empty: the one `prepare` is told
        self.maillog_file = maillog_file      # empty: Postfix's own maillog_file setting
        self.reload_wait, self.retry_wait = reload_wait, retry_wait
        self.log_lines = log_lines
        self.sudo = list(sudo)
        self.command_timeout = command_timeout
        self.enabled = True
        self.found_bcc: str | None = None  # always_bcc as `prepare` found it (None: not prepared)
        self.found_queue: set[str] = set()  # the queue IDs Postfix held then
        self.kit_domains: set[str] = set()  # the intake domain and the kit's mailbox domains

    # --- commands ---------------------------------------------------------------------------------
    def _run(self, *args: str) -> str:
        """Run a Postfix command; its standard output, or PostfixCommandError."""
        command = [*self.sudo, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=self.command_timeout,
                              check=False)
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()
            raise PostfixCommandError(f"{' '.join(command)} exited {done.returncode}: {output}")
        return done.stdout

    def _postconf(self, *args: str) -> str:
        return self._run("postconf", "-c", self.config_dir, *args)

    def _reload(self) -> None:
        self._run("postfix", "-c", self.config_dir, "reload")
        time.sleep(self.reload_wait)  # old cleanup processes finish their current message and exit

    def _bcc(self) -> str:
        """The always_bcc the cleanup service has now ("" if none)."""
        line = self._postconf("-P", f"{self.service}/always_bcc").strip()
        return line.partition("=")[2].strip()

    # --- hooks ------------------------------------------------------------------------------------
    def prepare(self, counterparts: dict[str, Any]) -> None:
        self._run("postfix", "-c", self.config_dir, "status")
        if not self._postconf("-M", self.service).strip():
            raise RuntimeError(f"master.cf has no {self.service} service: run apply-postfix-config.sh")
        td, mailbox = counterparts["threat_defense"], counterparts["mailbox"]
        routes = {td["intake_domain"]: td, **{domain: mailbox for domain in mailbox["domains"]}}
        maps = self._postconf("-h", "transport_maps").strip()
        if not maps:
            raise RuntimeError("transport_maps is empty: run apply-postfix-config.sh")
        for domain, server in routes.items():
            wanted = f"[{server['host']}]:{server['port']}"
            found = self._lookup(maps, domain)
            if not found.endswith(":" + wanted):
                raise RuntimeError(f"transport_maps sends {domain} to {found or 'nowhere'}, but the kit "
                                   f"listens at {wanted}: fix conform.toml's listen or the transport map")
        self.intake_address = self.intake_address or str(td["intake_address"])
        self.found_bcc, self.found_queue = self._bcc(), {entry["queue_id"] for entry in self._queue()}
        self.kit_domains = {str(domain).lower() for domain in routes}
        self.enable_connector()

    def _lookup(self, maps: str, domain: str) -> str:
        """What the first of `maps` answers for `domain` (or its `*` entry), as postmap -q reads it."""
        for table in maps.replace(",", " ").split():
            for key in (domain, "*"):
                done = subprocess.run([*self.sudo, "postmap", "-c", self.config_dir, "-q", key, table],
                                      capture_output=True, text=True, timeout=self.command_timeout,
                                      check=False)
                if done.returncode == 0 and done.stdout.strip():
                    return done.stdout.strip()
        return ""

    def enable_connector(self) -> None:
        if not self.intake_address:
            raise RuntimeError("no intake address: prepare was not run and none was given in options")
        self.enabled = True
        if self._bcc() != self.intake_address:
            self._postconf("-P", f"{self.service}/always_bcc={self.intake_address}")
            self._reload()

    def disable_connector(self) -> None:
        self.enabled = False
        if self._bcc():
            self._postconf("-PX", f"{self.service}/always_bcc")
            self._reload()

    def set_intake_address(self, address: str) -> None:
        self.intake_address = address
        if self.enabled:
            self.enable_connector()

    def read_log_lines(self) -> list[str]:
        path = Path(self.maillog_file or self._postconf("-h", "maillog_file").strip())
        if not str(path) or str(path) == ".":
            raise RuntimeError("Postfix has no maillog_file: set it (apply-postfix-config.sh does)")
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return lines[-self.log_lines:]

    def let_retries_run(self) -> None:
        self._run("postqueue", "-c", self.config_dir, "-f")
        time.sleep(self.retry_wait)

    def finish(self) -> None:
        """Leave Postfix as the run found it: the copy's always_bcc, and no mail of the kit queued."""
        if self.found_bcc is None:
            return  # prepare did not get that far: nothing was changed
        for entry in self._queue():
            if entry["queue_id"] not in self.found_queue and self._of_the_kit(entry):
                self._run("postsuper", "-c", self.config_dir, "-d", entry["queue_id"])
        if self._bcc() != self.found_bcc:
            if self.found_bcc:
                self._postconf("-P", f"{self.service}/always_bcc={self.found_bcc}")
            else:
                self._postconf("-PX", f"{self.service}/always_bcc")
            self._reload()

    def _queue(self) -> list[dict[str, Any]]:
        """Every queued message (`postqueue -j`: queue name and ID, sender, recipients)."""
        lines = self._run("postqueue", "-c", self.config_dir, "-j").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _of_the_kit(self, entry: dict[str, Any]) -> bool:
        """Is a queued message from or to one of the kit's domains?"""
        addresses = [str(entry.get("sender", "")),
                     *(str(each.get("address", "")) for each in entry.get("recipients", []))]
        return any(address.rpartition("@")[2].lower() in self.kit_domains for address in addresses)
