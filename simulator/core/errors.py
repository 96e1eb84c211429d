"""The simulator's one exception tree.

    SimulatorError
    ├── ConfigError                 a configuration value is refused (names the key)
    ├── NotFound                    an admin request names an unknown group, machine, policy, ...
    ├── BadRequest                  an admin request that cannot be read (JSON, fields, parameters)
    ├── IllegalTransition           a lifecycle move the transition table does not allow
    ├── ServerStartError            a server could not listen (names host and port)
    ├── CorruptEntry                a spool file that cannot be read back
    ├── NoRoute                     neither a route nor an MX record names a host for a domain
    ├── RetriesExhausted            the bounce profile gives up: the entry is hard-bounced
    ├── UnknownMessage              message tracking: no mail-log line is about this MID
    ├── NoSandbox                   the CLI finds no running sandbox for a data dir
    ├── Refused                     the admin API answered with an error status
    ├── PartUnavailable             a part of the sandbox (a machine's process, ...) is not running
    └── DeliveryError               one delivery attempt failed (carries code, enhanced status, recipient)
        ├── TransientDeliveryError  try again later (network, TLS, 4xx)
        │   └── TlsDeliveryError    STARTTLS missing, handshake failed, certificate refused
        └── PermanentDeliveryError  do not try again (5xx)

Exceptions carry what a reply needs; they are turned into wire text or log lines only at the boundary.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulator raises on purpose."""


class ConfigError(SimulatorError):
    """A configuration value was refused; `key` names it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class NotFound(SimulatorError):
    """An unknown group, machine, policy, route, endpoint, destination or message; the text names it."""


class BadRequest(SimulatorError):
    """A request that cannot be read: malformed JSON, a missing or mistyped field, a bad parameter."""


class IllegalTransition(SimulatorError):
    """A state change that the lifecycle table does not allow."""


class ServerStartError(SimulatorError):
    """A server could not start listening."""

    def __init__(self, name: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot start {name} on {host}:{port}: {reason}")
        self.host = host
        self.port = port


class PartUnavailable(SimulatorError):
    """A part of the sandbox (a machine, an endpoint in its own process) is not running: it cannot
    answer. The sandbox stops when a part ends; this is what a request meets meanwhile."""


class DeliveryError(SimulatorError):
    """One delivery attempt failed."""

    def __init__(
        self, reason: str, code: int | None = None, enhanced: str = "", recipient: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.code = code
        self.enhanced = enhanced
        self.recipient = recipient
        self.detail = detail


class TransientDeliveryError(DeliveryError):
    """The attempt failed in a way that may succeed later."""


class TlsDeliveryError(TransientDeliveryError):
    """TLS could not be established or verified."""


class PermanentDeliveryError(DeliveryError):
    """The remote side refused for good (5xx)."""


class CorruptEntry(SimulatorError):
    """A spool file that cannot be read back; the text says what is wrong."""


class NoRoute(SimulatorError):
    """Neither a route nor an MX record names a host for the domain."""


class RetriesExhausted(SimulatorError):
    """No more retries: the entry is hard-bounced."""


class UnknownMessage(SimulatorError):
    """No line of the mail log is about this MID."""

    def __init__(self, mid: int) -> None:
        super().__init__(f"no message {mid}")
        self.mid = mid


class NoSandbox(SimulatorError):
    """No running sandbox answers for this data dir."""


class Refused(SimulatorError):
    """The admin API answered with an error status; the text is its message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
