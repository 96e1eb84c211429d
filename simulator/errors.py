"""The simulator's one exception tree.

    SimulatorError
    ├── ConfigError                 a configuration value is refused (names the key)
    ├── NotFound                    an admin request names an unknown group, machine, policy, ...
    ├── BadRequest                  an admin request that cannot be read (JSON, fields, parameters)
    ├── IllegalTransition           a lifecycle move the transition table does not allow
    ├── ServerStartError            a server could not listen (names host and port)
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
    """An unknown group, machine, policy, route, endpoint or message; the text names it."""


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
