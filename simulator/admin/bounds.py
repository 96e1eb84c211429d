"""What the admin API reads from a request, and the bounds it reads within (issue 9, item 11).

Design rule: every value a handler takes from a request passes through one of these readers, and
each bound is a constant here that `openapi.py` documents. A value out of bounds is a BadRequest
that names the bound, found before any step that could be slow or raise on its own (int() of
thousands of digits, json of deep nesting, a table of 50,000 hosts); messages quote input cut short.
"""

from __future__ import annotations

import json
import re
from typing import Any

from simulator.core.errors import BadRequest

LARGEST_BODY = 64 * 1024  # bytes (64 KiB; the largest useful body, 32 hosts, is about 9 KB): 413 above
DEEPEST_JSON = 8  # levels of arrays and objects in a body (the API's bodies use 2)
LONGEST_NUMBER = 20  # characters of a number in a body: a sign and the 19 digits of an int64
LARGEST_MID = 2**63 - 1  # MIDs are 1 to the largest int64
LARGEST_LINE = 2**63 - 1  # a mail-log line's number (1, 2, ... since its machine started)
LONGEST_HOP = 253 + len(":65535:999999999")  # host:port:priority, the longest host name
MOST_HOSTS = 32  # hosts of one SMTP route, of one domain's MX set
MOST_FAULTS = 16  # fault specs in one endpoint's plan
MOST_ROUTES = 1000  # SMTP routes in one level's table (422 past it: a table, not a request, is full)
MOST_ZONE_DOMAINS = 1000  # domains with MX records in one level's DNS zone table (422 past it)
LONGEST_TEXT = 255  # any string not named in LONGEST: level, policy, mode, machine, state, ...
LONGEST = {"domain": 253, "address": 254, "comment": 1000,
           "destination": MOST_HOSTS * (LONGEST_HOP + 2)}  # "a:1, b:2": a comma and a space apart
BODY_SIZE = f"{LARGEST_BODY} bytes ({LARGEST_BODY // 1024} KiB)"
TOO_LARGE = f"the body is larger than {BODY_SIZE}, the API's bound"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')  # a JSON string, escapes included
_LONG_NUMBER = re.compile(rf"[-+0-9.eE]{{{LONGEST_NUMBER + 1},}}")
_INNERMOST = re.compile(r"\[[^\[\]{}]*\]|\{[^\[\]{}]*\}")  # an array or object with none inside


def shown(text: str) -> str:
    """`text` quoted for a message, cut to 40 characters."""
    return repr(text if len(text) <= 40 else f"{text[:40]}...")


def bounded(value: str, name: str, longest: int | None = None) -> str:
    """`value` if it is at most `longest` (default: its field's bound) and encodable (no lone surrogate)."""
    longest = LONGEST.get(name, LONGEST_TEXT) if longest is None else longest
    if len(value) > longest:
        raise BadRequest(f"{name}: at most {longest} characters, not {len(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{name}: not Unicode text (a lone surrogate)") from None
    return value


def whole_number(text: str, name: str, highest: int, lowest: int = 1) -> int:
    """A number from `lowest` to `highest` written in ASCII digits; checked before int() reads it."""
    if not (text.isascii() and text.isdecimal() and len(text) <= len(str(highest))
            and lowest <= int(text) <= highest):
        raise BadRequest(f"{name} must be a whole number from {lowest} to {highest}, not {shown(text)}")
    return int(text)


def _constant(name: str) -> None:
    raise BadRequest(f"{name} is not JSON")


def nests_deeper(skeleton: str, levels: int) -> bool:
    """Does the JSON `skeleton` (valid, its strings emptied) nest arrays and objects deeper than `levels`?"""
    for _ in range(levels):  # each pass removes the innermost level
        skeleton = _INNERMOST.sub("", skeleton)
    return "[" in skeleton or "{" in skeleton


def json_value(raw: bytes) -> Any:
    """The body's JSON (UTF-8, whatever the Content-Type says; empty reads as `{}`), within bounds."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"the body is not UTF-8 (byte {error.start}): JSON must be") from None
    if not text.strip():
        return {}
    too_deep = BadRequest(f"the JSON is nested deeper than {DEEPEST_JSON} levels")
    too_long = BadRequest(f"a number in the body has more than {LONGEST_NUMBER} characters")
    try:
        value = json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise BadRequest(f"malformed JSON: {error}") from None
    except RecursionError:
        raise too_deep from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise too_long from None
    skeleton = _STRING.sub('""', text)  # regular expressions: C speed, on the sandbox's event loop
    if _LONG_NUMBER.search(skeleton):
        raise too_long
    if nests_deeper(skeleton, DEEPEST_JSON):
        raise too_deep
    return value


def text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    """A string field of the body; BadRequest if missing (without a default), not a string or too long."""
    value = body.get(name, default)
    if not isinstance(value, str):
        raise BadRequest(f"{name!r} must be a string" if name in body else f"{name!r} is required")
    return bounded(value, name)


def strings(value: Any, name: str, most: int, longest: int = LONGEST_TEXT) -> list[str]:
    """A JSON list of at most `most` strings, each at most `longest` characters."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest(f"{name} must be a JSON list of strings")
    if len(value) > most:
        raise BadRequest(f"{name}: at most {most} in one request, not {len(value)}")
    return [bounded(item, name, longest) for item in value]


def hosts(value: Any, name: str) -> str | list[str]:
    """At most MOST_HOSTS hosts, as a JSON list or one comma-separated string (returned as given)."""
    if value is None:
        raise BadRequest(f"{name!r} is required")
    if not isinstance(value, str):
        return strings(value, name, MOST_HOSTS, LONGEST_HOP)
    strings([word.strip() for word in bounded(value, name).split(",")], name, MOST_HOSTS, LONGEST_HOP)
    return value


def integer(body: dict[str, Any], name: str, highest: int) -> int:
    """A whole-number field from 1 to `highest` (a JSON number, not a string or a boolean)."""
    value = body.get(name)
    if type(value) is not int or not 1 <= value <= highest:
        raise BadRequest(f"{name!r} must be a whole number from 1 to {highest}" if name in body
                         else f"{name!r} is required")
    return value
