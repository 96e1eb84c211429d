"""The gateway's listeners: the business decisions behind aiosmtpd's grammar.

Design rule: aiosmtpd owns the protocol; this handler decides who may relay, logs the connection
and envelope the way the gateway does, and hands the finished message to the intake. A public
(ACCEPT) connection is incoming unless it authenticated; the private (RELAY) listener is outgoing.
A command changes the transaction only once everything else it does has succeeded; any exception
ends the transaction with the named `451 4.3.0`, its traceback logged as `Critical:` only.
"""

from __future__ import annotations

import ipaddress
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from simulator.core import replies
from simulator.core.config.values import ConfigHolder
from simulator.core.mail.messages import Direction, IdCounters, ReceivedMessage
from simulator.core.replies import Reply
from simulator.gateway.maillog import MailLog
from simulator.transport.limits import ConnectionLimits
from simulator.transport.smtp import ObservedSMTP, envelope_sender

Intake = Callable[[ReceivedMessage], Awaitable[Reply]]


def traceback_line(error: BaseException) -> str:
    """The traceback of `error` on one line, its lines joined by ` | `."""
    lines = (line.strip() for chunk in traceback.format_exception(error) for line in chunk.splitlines())
    return " | ".join(line for line in lines if line)


@dataclass
class InboundConnection:
    """One client connection: its ICID, address, mail-flow policy and current MID."""

    icid: int
    peer_ip: str
    policy: str  # ACCEPT, RELAY or REJECT
    mid: int | None = None
    said_quit: bool = False


class GatewayListener:
    """Handler for the public (`relay=False`) or private (`relay=True`) listener."""

    def __init__(
        self, name: str, relay: bool, holder: ConfigHolder, log: MailLog, ids: IdCounters,
        intake: Intake,
    ) -> None:
        self.name = name
        self._relay = relay
        self._holder = holder
        self._log = log
        self._ids = ids
        self._intake = intake

    def _policy_for(self, peer_ip: str) -> str:
        if not self._relay:
            return "ACCEPT"
        address = ipaddress.ip_address(peer_ip)
        networks = self._holder.current.relay_networks
        allowed = any(address in ipaddress.ip_network(net) for net in networks)
        return "RELAY" if allowed else "REJECT"

    def connection_limits(self) -> ConnectionLimits:
        """Max. Concurrent Connections of the listener, and from one IP, as committed now."""
        config = self._holder.current
        return ConnectionLimits(config.max_connections, config.max_connections_per_ip)

    def connection_opened(self, server: ObservedSMTP) -> InboundConnection:
        peer_ip = server.peer_ip
        connection = InboundConnection(self._ids.next_icid(), peer_ip, self._policy_for(peer_ip))
        self._log.info(
            f"New SMTP ICID {connection.icid} interface {self.name} ({peer_ip}) "
            f"address {peer_ip} reverse dns host unknown verified no"
        )
        group = "RELAYLIST" if self._relay else "UNKNOWNLIST"
        self._log.info(f"ICID {connection.icid} {connection.policy} SG {group} match ALL SBRS None")
        return connection

    def connection_closed(self, server: ObservedSMTP) -> None:
        connection: InboundConnection = server.connection
        self._abort_transaction(connection)
        if not connection.said_quit:
            self._log.info(f"Incoming connection (ICID {connection.icid}) lost.")
        self._log.info(f"ICID {connection.icid} close")

    def _abort_transaction(self, connection: InboundConnection) -> None:
        """A started MID that never got its DATA accepted ends here, never as delivered."""
        if connection.mid is not None:
            self._log.info(f"Message finished MID {connection.mid} aborted")
            connection.mid = None

    async def command_failed(self, server: ObservedSMTP, error: Exception) -> str:
        """Our bug, whatever it is: `451 4.3.0` to the client, the traceback to the mail log."""
        connection: InboundConnection | None = server.connection
        where = f"ICID {connection.icid}" if connection else f"a connection from {server.peer_ip}"
        self._log.critical(f"{where} internal error: {error!r}; answered 451; {traceback_line(error)}")
        if connection is not None:
            self._abort_transaction(connection)
        return replies.INTERNAL_ERROR.line

    async def before_data(self, server: ObservedSMTP) -> str | None:
        """Nothing before the 354: the gateway decides on the message once it has it."""
        return None

    async def handle_RSET(self, server: ObservedSMTP, session: Session, envelope: Envelope) -> str:
        self._abort_transaction(server.connection)
        return replies.OK.line

    async def handle_QUIT(self, server: ObservedSMTP, session: Session, envelope: Envelope) -> str:
        server.connection.said_quit = True
        return replies.BYE.line

    def direction(self, server: ObservedSMTP, session: Session) -> Direction:
        """Incoming for ACCEPT connections that did not authenticate; outgoing otherwise."""
        if server.connection.policy == "ACCEPT" and not session.authenticated:
            return Direction.INCOMING
        return Direction.OUTGOING

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """aiosmtpd authenticator: checks the configured AUTH users."""
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        # not UTF-8: no configured user matches, and the mail log shows what could be read
        user, password = data.login.decode(errors="replace"), data.password.decode(errors="replace")
        success = (user, password) in self._holder.current.auth_users
        icid = server.connection.icid
        outcome = "succeeded" if success else "failed"
        self._log.info(f"ICID {icid} SMTP authentication {outcome} for user: {user} "
                       f"using AUTH mechanism: {mechanism}")
        if not success:  # handled=False: aiosmtpd itself answers 535 5.7.8
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=user)

    async def handle_MAIL(
        self, server: ObservedSMTP, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        connection: InboundConnection = server.connection
        address = server.address_as_written(address)
        if connection.policy == "REJECT":
            return replies.ACCESS_DENIED.line
        self._abort_transaction(connection)
        connection.mid = self._ids.next_mid()
        self._log.info(f"Start MID {connection.mid} ICID {connection.icid}")
        self._log.info(f"MID {connection.mid} ICID {connection.icid} From: <{address}>")
        envelope.mail_from, envelope.mail_options = address, list(mail_options)
        return replies.SENDER_OK.line

    async def handle_RCPT(
        self, server: ObservedSMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        connection: InboundConnection = server.connection
        address = server.address_as_written(address)
        incoming = self.direction(server, session) is Direction.INCOMING
        if incoming and not self._holder.current.is_local(address):
            self._log.info(f"MID {connection.mid} ICID {connection.icid} To: <{address}> "
                           "Rejected by Receiving Domain")
            return replies.RELAY_DENIED.line
        rid = len(envelope.rcpt_tos)
        self._log.info(f"MID {connection.mid} ICID {connection.icid} RID {rid} To: <{address}>")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.RECIPIENT_OK.line

    async def handle_DATA(self, server: ObservedSMTP, session: Session, envelope: Envelope) -> str:
        connection: InboundConnection = server.connection
        assert connection.mid is not None and envelope.original_content is not None
        message = ReceivedMessage(
            mid=connection.mid,
            icid=connection.icid,
            direction=self.direction(server, session),
            peer_ip=connection.peer_ip,
            mail_from=envelope_sender(envelope.mail_from or ""),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=envelope.original_content,
        )
        reply = await self._intake(message)
        connection.mid = None  # the transaction is over, whatever the reply
        return reply.line
