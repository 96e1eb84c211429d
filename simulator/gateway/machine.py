"""One simulated gateway machine: listeners, pipeline, queues, spool and mail log, wired together.

Design rule: assembly and start-up recovery only, no decisions. Imported by the composition root
(`sandbox.py`) and by nothing else below it. With a data dir the spool is on disk and a restart
resumes every entry at once (then the retry schedule rules); without one, it lives in memory.
"""

from __future__ import annotations

from pathlib import Path

from simulator.core.clock import Clock
from simulator.core.config.values import ConfigHolder, GatewayConfig
from simulator.core.errors import DeliveryError
from simulator.core.mail.dsn import build_dsn, generated_line, wants_dsn
from simulator.core.mail.messages import IdCounters, QueueEntry, next_ids
from simulator.defaults import machine_dir, mail_log_path
from simulator.gateway.bodies import DEFAULT_THRESHOLD
from simulator.gateway.delivery import DeliveryQueues
from simulator.gateway.listener import GatewayListener
from simulator.gateway.maillog import MailLog
from simulator.gateway.pipeline import Pipeline
from simulator.gateway.quarantine import Quarantines
from simulator.gateway.rolled import log_files
from simulator.gateway.spool import DiskSpool, MemorySpool, Spool
from simulator.transport.server import SmtpServer
from simulator.transport.tls import SandboxTls


def log_tail(path: Path | None, size: int = 256 * 1024) -> str:
    """The end of a mail log (where the highest IDs are), or "" when there is none; the newest
    rolled file's end too, as `mail.current` may have just rolled over."""
    if path is None:
        return ""
    return "".join(_file_tail(file, size) for file in log_files(path)[-2:])


def _file_tail(path: Path, size: int) -> str:
    with path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - size))
        return stream.read().decode("utf-8", "replace")


class GatewayMachine:
    """A running gateway machine (e.g. `esa1`)."""

    def __init__(
        self, config: GatewayConfig, data_dir: Path | None, clock: Clock, tls: SandboxTls,
        host: str, inbound_port: int, relay_port: int, kept_in_memory: int | None = None,
        body_threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        self.name = config.machine
        self.holder = ConfigHolder(config)
        self._clock = clock
        home = machine_dir(data_dir, self.name) if data_dir else None
        self.log = MailLog(clock, mail_log_path(data_dir, self.name) if data_dir else None,
                           kept=kept_in_memory)
        self.spool: Spool = DiskSpool(home / "spool", body_threshold) if home else MemorySpool()
        self._recovered = self.spool.load()
        self.ids = IdCounters(**next_ids(self._recovered.counters, self._recovered.mids,
                                         log_tail(self.log.path)))
        self.queues = DeliveryQueues(self.holder, self.log, self.ids, clock, tls.client, self.spool,
                                     on_bounce=self._notify_sender)
        self.quarantines = Quarantines(self._recovered.held)
        self.pipeline = Pipeline(
            self.holder, self.log, self.ids, self.spool, self.queues.enqueue, clock, self.quarantines
        )
        self.inbound = self._listener("Incoming", False, host, inbound_port, tls)
        self.relay = self._listener("Outgoing", True, host, relay_port, tls)

    def _listener(self, name: str, relay: bool, host: str, port: int, tls: SandboxTls) -> SmtpServer:
        handler = GatewayListener(name, relay, self.holder, self.log, self.ids, self.pipeline.accept)
        kind = "private" if relay else "public"
        return SmtpServer(
            f"{self.name} {kind} listener", handler, host, port, tls.server,
            per_connection=self._connection_options,
            authenticator=handler.authenticate,
            auth_require_tls=True,
        )

    def _connection_options(self) -> dict[str, object]:
        """aiosmtpd options read from the committed configuration at each new connection."""
        config = self.holder.current
        return {"hostname": config.hostname, "data_size_limit": config.max_message_size}

    def _notify_sender(self, bounced: QueueEntry, error: DeliveryError) -> None:
        """A hard-bounced original gets a DSN to its sender; copies and DSNs never do."""
        if not wants_dsn(bounced):
            return
        dsn = build_dsn(bounced, error, self.holder.current.hostname, self.ids.next_mid(),
                        self._clock.now())
        try:
            (stored,) = self.spool.save([dsn])
        except OSError as trouble:
            self.log.warning(f"MID {dsn.mid} DSN for MID {bounced.mid} could not be stored: {trouble}")
            return
        self.log.info(generated_line(dsn.mid, bounced.mid))
        self.queues.enqueue(stored)

    def deliver_now(self, destination: str | None = None) -> int:
        """`delivernow`: entries waiting for a retry (of every destination, or one) are tried now."""
        return self.queues.deliver_now(destination)

    def _resume_spooled(self) -> None:
        """Entries left by the last run go out at once; corrupt files were moved aside."""
        for moved, reason in self._recovered.corrupt:
            self.log.critical(f"Spool entry {moved.name} is corrupt ({reason}); moved aside to {moved}")
        for entry in self._recovered.entries:
            self.queues.enqueue(entry.due_now())
        if self._recovered.entries:
            self.log.info(f"Resumed {len(self._recovered.entries)} spooled queue entries")

    async def start(self) -> None:
        await self.inbound.start()
        try:
            await self.relay.start()
        except Exception:
            await self.inbound.stop()
            raise
        self._resume_spooled()

    async def stop(self) -> None:
        await self.inbound.stop()
        await self.relay.stop()
        await self.queues.stop()
        try:
            self.spool.write_counters(self.ids.snapshot())
        except OSError as trouble:  # only a hint: the spool and the mail log tell the IDs too
            self.log.warning(f"ID counters could not be written: {trouble.strerror or trouble}")
        self.log.close()
