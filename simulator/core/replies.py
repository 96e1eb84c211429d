"""Every SMTP reply the simulator's own handlers give, as a named constant.

Design rule: handlers return these names, tests compare against these names; the wire text is
produced in exactly one place (`Reply.line`). Replies that aiosmtpd itself produces (syntax errors,
`500` for long lines) are aiosmtpd's and are not repeated here, except its `552`s, which the
servers replace with `MESSAGE_TOO_BIG` (the vendor's enhanced code); an exception in our own
handlers is never aiosmtpd's `500 Error: (Type) text` but `INTERNAL_ERROR`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: code, enhanced status (RFC 3463) and text."""

    code: int
    enhanced: str
    text: str

    @property
    def line(self) -> str:
        """The reply as sent on the wire (without CRLF)."""
        return f"{self.code} {self.enhanced} {self.text}"

    def with_text(self, text: str) -> Reply:
        """The same code and enhanced status with another text (e.g. naming a MID)."""
        return Reply(self.code, self.enhanced, text)


OK = Reply(250, "2.0.0", "Ok")
BYE = Reply(221, "2.0.0", "Bye")
RECIPIENT_OK = Reply(250, "2.1.5", "Recipient ok")
SENDER_OK = Reply(250, "2.1.0", "Sender ok")
MESSAGE_ACCEPTED = Reply(250, "2.0.0", "Ok: message accepted")
RELAY_DENIED = Reply(550, "5.7.1", "Recipient address rejected: relaying denied")
ACCESS_DENIED = Reply(554, "5.7.1", "Access denied: host not allowed to relay")
STARTTLS_REQUIRED = Reply(530, "5.7.0", "Must issue a STARTTLS command first")
UNKNOWN_INTAKE_ADDRESS = Reply(550, "5.1.1", "Unknown message intake address")
TOO_MANY_MESSAGES = Reply(421, "4.7.0", "Too many messages on this connection, reconnect")
CANNOT_STORE = Reply(451, "4.3.0", "Cannot store the message now, try again later")
SCRIPTED_FAILURE = Reply(451, "4.3.0", "Scripted fault: transaction failed, try again later")
BAD_SENDER_SYNTAX = Reply(501, "5.1.7", "Bad sender address syntax")
BAD_RECIPIENT_SYNTAX = Reply(501, "5.1.3", "Bad recipient address syntax")
BAD_VRFY_ARGUMENT = Reply(501, "5.5.4", "Syntax: VRFY <address>")
NEEDS_SMTPUTF8 = Reply(553, "5.6.7", "Non-ASCII address needs the SMTPUTF8 parameter")
INTERNAL_ERROR = Reply(451, "4.3.0", "Internal error, try again later")
STORAGE_TROUBLE = Reply(452, "4.3.1", "Insufficient system storage, try again later")
LISTENER_BUSY = Reply(421, "4.7.0", "Too many concurrent connections, try again later")
HOST_BUSY = Reply(421, "4.7.0", "Too many concurrent connections from your address, try again later")
UNAVAILABLE = Reply(421, "4.3.0", "Service not available, try again later")
TLS_ALREADY_ACTIVE = Reply(503, "5.5.1", "TLS already active")
AUTH_LINE_TOO_LONG = Reply(500, "5.5.6", "Authentication Exchange line is too long")
MESSAGE_TOO_BIG = Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")

CATALOGUE: tuple[Reply, ...] = (
    OK,
    BYE,
    RECIPIENT_OK,
    SENDER_OK,
    MESSAGE_ACCEPTED,
    RELAY_DENIED,
    ACCESS_DENIED,
    STARTTLS_REQUIRED,
    UNKNOWN_INTAKE_ADDRESS,
    TOO_MANY_MESSAGES,
    CANNOT_STORE,
    SCRIPTED_FAILURE,
    BAD_SENDER_SYNTAX,
    BAD_RECIPIENT_SYNTAX,
    BAD_VRFY_ARGUMENT,
    NEEDS_SMTPUTF8,
    INTERNAL_ERROR,
    STORAGE_TROUBLE,
    LISTENER_BUSY,
    HOST_BUSY,
    UNAVAILABLE,
    TLS_ALREADY_ACTIVE,
    AUTH_LINE_TOO_LONG,
    MESSAGE_TOO_BIG,
)


def scripted_fault(code: int, command: str) -> Reply:
    """The reply a `reply:COMMAND=CODE` fault gives: any code, so built here rather than named."""
    return Reply(code, f"{str(code)[0]}.3.0", f"Scripted fault: {code} at {command}")
