"""One simulated gateway machine: listeners, pipeline, queues and mail log, wired together.

Design rule: assembly only, no decisions. Imported by the composition root (`sandbox.py`) and by
nothing else below it.
"""

from __future__ import annotations

from pathlib import Path

from simulator.clock import Clock
from simulator.config import ConfigHolder, GatewayConfig
from simulator.delivery import DeliveryQueues
from simulator.listener import GatewayListener
from simulator.maillog import MailLog
from simulator.messages import IdCounters
from simulator.pipeline import Pipeline
from simulator.server import SmtpServer
from simulator.spool import MemorySpool
from simulator.tls import SandboxTls


def mail_log_path(data_dir: Path, machine: str) -> Path:
    return data_dir / "machines" / machine / "mail_logs" / "mail.current"


class GatewayMachine:
    """A running gateway machine (e.g. `esa1`)."""

    def __init__(
        self, config: GatewayConfig, data_dir: Path | None, clock: Clock, tls: SandboxTls,
        host: str, inbound_port: int, relay_port: int,
    ) -> None:
        self.name = config.machine
        self.holder = ConfigHolder(config)
        self.log = MailLog(clock, mail_log_path(data_dir, self.name) if data_dir else None)
        self.ids = IdCounters()
        self.queues = DeliveryQueues(self.holder, self.log, self.ids, clock, tls.client)
        self.pipeline = Pipeline(
            self.holder, self.log, self.ids, MemorySpool(), self.queues.enqueue, clock
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

    async def start(self) -> None:
        await self.inbound.start()
        try:
            await self.relay.start()
        except Exception:
            await self.inbound.stop()
            raise

    async def stop(self) -> None:
        await self.inbound.stop()
        await self.relay.stop()
        await self.queues.stop()
        self.log.close()
