"""Address syntax at MAIL and RCPT (RFC 5321 §4.1.2, RFC 6531 §3.3).

Design rule: pure, and stricter than the parser behind it. `sender_refusal` and `recipient_refusal`
read the argument exactly as the client sent it and name the reply that refuses it, or None: then
aiosmtpd may parse it, and what it hands on is an address every later step can carry (the outbound
client, a header, a Maildir name). Quoted local parts are allowed; a control character, an
undecodable byte (aiosmtpd's surrogate escapes) or a line separator anywhere refuses the command;
a non-ASCII address needs the SMTPUTF8 parameter of its transaction.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from simulator.core import replies
from simulator.core.replies import Reply

_U = r"[^\x00-\x7f]"  # RFC 6531 UTF8-non-ascii (refused characters are caught before); a negated
# class compiles at once where a range up to U+10FFFF takes the regex compiler 100 ms
_ATOM = rf"(?:[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~\-]|{_U})+"
_QUOTED = rf'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|{_U}|\\[\x20-\x7e])*"'
_LET_DIG = rf"(?:[A-Za-z0-9]|{_U})"
_LABEL = rf"{_LET_DIG}(?:(?:[A-Za-z0-9\-]|{_U})*{_LET_DIG})?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_DOT_STRING_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")


def _mailbox(name: str) -> str:
    """RFC 5321 `Mailbox`, its parts named `<name>_local`, `<name>_domain`, `<name>_literal`."""
    local = rf"(?P<{name}_local>{_ATOM}(?:\.{_ATOM})*|{_QUOTED})"
    where = rf"(?P<{name}_domain>{_DOMAIN})|\[(?P<{name}_literal>[^\[\]\\]+)\]"
    return rf"(?P<{name}>{local}@(?:{where}))"


_ROUTE = rf"@{_DOMAIN}(?:,@{_DOMAIN})*:"  # RFC 5321's obsolete source route, still to be accepted
_PATH_RE = re.compile(rf"(?:<(?:{_ROUTE})?{_mailbox('angled')}>|{_mailbox('bare')})(?= |$)")
_NULL_PATH_RE = re.compile(r"<>(?= |$)")

LOCAL_PART_LIMIT = 64  # octets (RFC 5321 §4.5.3.1.1)
DOMAIN_LIMIT = 255  # octets (§4.5.3.1.2)
LABEL_LIMIT = 63  # octets (RFC 1035 §2.3.4)
MAILBOX_LIMIT = 254  # octets: a path is at most 256 with its angle brackets (§4.5.3.1.3)

_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, undecodable bytes, separators


def _is_refused(char: str) -> bool:
    return char != " " and (char.isspace() or unicodedata.category(char) in _REFUSED_CATEGORIES)


# The same set as one character class: every white space, control and separator lies below U+3001
# (tests/test_addresses.py checks every code point); aiosmtpd's surrogate escapes are the range.
REFUSED_RE = re.compile("[" + "".join(
    re.escape(chr(code)) for code in range(0x3001) if _is_refused(chr(code))) + "\ud800-\udfff]")


def has_refused_character(text: str) -> bool:
    """Does `text` hold a control character, a line separator, non-space white space or an
    undecodable byte, none of which an address may hold anywhere?"""
    return REFUSED_RE.search(text) is not None


def _literal_ok(literal: str) -> bool:
    """An IPv4 address or `IPv6:` and an IPv6 address (the one registered tag, RFC 5321 §4.1.3)."""
    text = literal[5:] if literal[:5].upper() == "IPV6:" else literal
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.version == (6 if text is not literal else 4)


def _mailbox_ok(found: re.Match[str]) -> bool:
    """Lengths within RFC 5321's limits, and an address literal that names an address."""
    name = "angled" if found.group("angled") is not None else "bare"
    mailbox, local, domain, literal = (
        found.group(name + part) for part in ("", "_local", "_domain", "_literal"))
    if len(local.encode()) > LOCAL_PART_LIMIT or len(mailbox.encode()) > MAILBOX_LIMIT:
        return False
    if literal is not None:
        return _literal_ok(literal)
    labels = domain.encode().split(b".")
    return len(domain.encode()) <= DOMAIN_LIMIT and max(map(len, labels)) <= LABEL_LIMIT


@dataclass(frozen=True)
class _Path:
    """What a MAIL or RCPT argument holds, as far as its refusal goes."""

    valid: bool
    non_ascii: bool = False
    parameters: tuple[str, ...] = ()
    address: str = ""  # the mailbox as RFC 5321 reads it ("" for the null path)


def _read(argument: str, keyword: str, null_allowed: bool) -> _Path:
    """The path after `keyword` and the parameters after the path."""
    if has_refused_character(argument):
        return _Path(valid=False)
    rest = argument[len(keyword):].strip()
    found = _NULL_PATH_RE.match(rest) if null_allowed else None
    found = found or _PATH_RE.match(rest)
    if found is None or (found.group(0) != "<>" and not _mailbox_ok(found)):
        return _Path(valid=False)
    address = _as_written(found) if found.group(0) != "<>" else ""
    return _Path(True, not found.group(0).isascii(), tuple(rest[found.end():].upper().split()), address)


def _as_written(found: re.Match[str]) -> str:
    """The mailbox without a source route; a quoted local part unquoted only where a dot-string says
    the same (aiosmtpd's parser also unquotes `"a..b"`, making an address no server takes)."""
    name = "angled" if found.group("angled") is not None else "bare"
    mailbox, local = found.group(name), found.group(name + "_local")
    plain = local[1:-1]
    if local.startswith('"') and "\\" not in plain and _DOT_STRING_RE.fullmatch(plain):
        return plain + mailbox[len(local):]
    return mailbox


def _has_keyword(argument: str | None, keyword: str) -> bool:
    """Without it aiosmtpd answers its own `501 Syntax:`."""
    return argument is not None and argument[: len(keyword)].upper() == keyword


def read_sender(argument: str | None) -> tuple[Reply | None, str]:
    """`MAIL argument` read once: the reply refusing it for its address (None: let aiosmtpd go on),
    and its mailbox as written ("" for the null path, or when refused or not read)."""
    if argument is None or not _has_keyword(argument, "FROM:"):
        return None, ""
    path = _read(argument, "FROM:", null_allowed=True)
    if not path.valid:
        return replies.BAD_SENDER_SYNTAX, ""
    refusal = replies.NEEDS_SMTPUTF8 if path.non_ascii and "SMTPUTF8" not in path.parameters else None
    return refusal, path.address


def read_recipient(argument: str | None, smtputf8: bool) -> tuple[Reply | None, str]:
    """`RCPT argument` read once, in a transaction with (or without) SMTPUTF8: the reply refusing
    it (or None) and its mailbox as written ("" when refused or not read)."""
    if argument is None or not _has_keyword(argument, "TO:"):
        return None, ""
    path = _read(argument, "TO:", null_allowed=False)
    if not path.valid:
        return replies.BAD_RECIPIENT_SYNTAX, ""
    return (replies.NEEDS_SMTPUTF8 if path.non_ascii and not smtputf8 else None), path.address


def sender_refusal(argument: str | None) -> Reply | None:
    """The reply refusing `MAIL argument` for its address, or None to let aiosmtpd go on."""
    return read_sender(argument)[0]


def recipient_refusal(argument: str | None, smtputf8: bool) -> Reply | None:
    """The reply refusing `RCPT argument` in a transaction with (or without) SMTPUTF8, or None."""
    return read_recipient(argument, smtputf8)[0]


def vrfy_refusal(argument: str) -> Reply | None:
    """VRFY takes a user name or a path; a control character, or a `<` that starts no path, refuses."""
    if has_refused_character(argument):
        return replies.BAD_VRFY_ARGUMENT
    if argument.lstrip().startswith("<") and not _read("TO:" + argument, "TO:", False).valid:
        return replies.BAD_VRFY_ARGUMENT
    return None

