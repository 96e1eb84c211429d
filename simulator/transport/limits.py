"""Connection limits, as an AsyncOS listener has them: Max. Concurrent Connections for the listener,
and from a single IP (the HAT's mail-flow policy setting).

Design rule: one `ConnectionGate` per listening server counts its open connections by client
address; a connection is counted in when it is admitted and out when it closes, exactly once.
The limits are the handler's to give at each new connection (a commit applies to the next one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from simulator.core import replies
from simulator.core.replies import Reply


@dataclass(frozen=True)
class ConnectionLimits:
    """At most `per_listener` open connections, and `per_ip` from one client address."""

    per_listener: int
    per_ip: int


class ConnectionGate:
    """Counts one server's open connections per client address and admits them within limits."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def admit(self, peer_ip: str, limits: ConnectionLimits | None) -> Reply | None:
        """None, counting the connection in; or the `421` that refuses it."""
        if limits is not None and self._open.total() >= limits.per_listener:
            return replies.LISTENER_BUSY
        if limits is not None and self._open[peer_ip] >= limits.per_ip:
            return replies.HOST_BUSY
        self._open[peer_ip] += 1
        return None

    def release(self, peer_ip: str) -> None:
        self._open[peer_ip] -= 1
        if self._open[peer_ip] <= 0:
            del self._open[peer_ip]
