"""What a fuzzed session sends after `354`: odd messages and odd ways of ending them.

Design rule: a body is assembled from named parts (headers, lines, MIME, scanner triggers), then
ended one of the named ways; everything is bytes from the session's `random.Random`, bounded in
size (one line at most 200 KB, a message at most about 400 KB) so that 10,000 sessions stay minutes.
The result is a list of chunks: the session sends them as separate steps, and may hang up between.
"""

from __future__ import annotations

import random
from typing import Literal

Then = Literal["go_on", "close", "abort"]

HEADERS = [b"Subject: hello", b"Subject: =?utf-8?b?////?=", "Subject: héllo wörld".encode(),
           b"Subject: \xff\xfe bad utf-8", b"Subject: bell\x07 esc\x1b[0m nul\x00", b"Subject: cr\rinside",
           b"Message-ID: <dup@fuzz.test>", b"Message-ID: <dup@fuzz.test>", b"Message-ID: no-brackets",
           b"Message-ID: <" + b"m" * 2000 + b"@fuzz.test>", "Message-ID: <ü@fuzz.test>".encode(),
           b"From: Alice <alice@outside.test>", b"From: \"a\rb\" <x@y>", b"To: bob@example.com",
           b"To: " + b"bob@example.com, " * 300, b"Date: not a date", b"X-Header-Without-Value:",
           b"No colon header line", b" continuation first", b"\tfolded", b"Bad Name: x",
           b"Content-Type: multipart/mixed", b"Content-Type: text/plain; charset=x-unknown",
           b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
           b"List-Unsubscribe: <mailto:u@x>", b"X-IronPort-RemoteIP: 10.0.0.\x00",
           b"X-MS-Journal-Report:", b"Received: from x by y; " + b"z" * 5000]
LINES = [b"Hello Bob", b"", b".", b"..", b"...", b".hidden line", b". ", b"a\rb", b"bare\nlf",
         b"\n.\n", b"\r\n.\n", b"\n.\r", b"nul\x00byte", b"esc\x1b[2J", b"\xff\xfe\xfd", "ünïcödé".encode(),
         b"=\r", b"=XX", b"begin 644 x.exe", b"-" * 76, b"--boundary", b"--boundary--",
         b"verify your account", b"wire transfer", b"you have won the lottery", b"buy now",
         b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X",
         b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"]
LONG_LINES = [998, 999, 1000, 1001, 5000, 70_000, 200_000]
ENDINGS = ["normal", "normal", "normal", "no_final_crlf", "lf_dot_lf", "smuggled", "dot_no_eol",
           "hang_up", "abort", "unstuffed"]
# SMTP smuggling: an end of data that is not <CRLF>.<CRLF>, then a second message's commands
SMUGGLED = (b"\n.\r\nMAIL FROM:<smuggled@outside.test>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\n")


def _header_block(rng: random.Random) -> list[bytes]:
    shape = rng.random()
    if shape < 0.1:
        return []  # no headers at all: the body starts at once
    headers = [rng.choice(HEADERS) for _ in range(rng.randint(1, 6))]
    if shape < 0.15:
        headers += [b"X-Many: %d" % n for n in range(rng.choice([200, 2000]))]
    return headers + ([b""] if rng.random() < 0.9 else [])


def _mime(rng: random.Random) -> list[bytes]:
    """A multipart body, maybe nested deeply, maybe with a bad boundary or an executable."""
    depth = rng.choice([1, 2, 5, 50, 300])
    lines: list[bytes] = []
    for level in range(depth):
        boundary = b"b%d" % level if rng.random() < 0.9 else b""
        lines += [b'Content-Type: multipart/mixed; boundary="' + boundary + b'"', b"", b"--" + boundary]
    lines += [b'Content-Type: application/octet-stream; name="run.exe"',
              b"Content-Transfer-Encoding: base64", b"", b"TVqQAAMAAAAEAAAA//8AALgA!!!not base64"]
    lines += [b"--b%d--" % level for level in reversed(range(depth))]
    return lines


def body(rng: random.Random) -> list[bytes]:
    """The message's lines, without line ends and without dot-stuffing."""
    lines = _header_block(rng)
    if rng.random() < 0.15:
        lines += _mime(rng)
    lines += [rng.choice(LINES) for _ in range(rng.randint(0, 12))]
    if rng.random() < 0.1:
        lines.append(b"L" * rng.choice(LONG_LINES))
    return lines


def stuffed(lines: list[bytes]) -> bytes:
    """The lines joined with CRLF, dot-stuffed as RFC 5321 §4.5.2 asks."""
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)


def data_chunks(rng: random.Random, hostile: float) -> tuple[list[bytes], Then]:
    """What follows the `354`, as chunks sent one by one, and what then: "go_on", "close" (hang up)
    or "abort" (reset the connection); the ending is odd with probability `hostile`."""
    lines = body(rng)
    text = stuffed(lines)
    ending = rng.choice(ENDINGS) if rng.random() < hostile else "normal"
    if ending == "no_final_crlf":
        return [text.removesuffix(b"\r\n") + b"\r\n.\r\n"], "go_on"
    if ending == "lf_dot_lf":
        return [text + b"\n.\n", b"\r\n.\r\n"], "go_on"
    if ending == "smuggled":
        return [text + SMUGGLED + b".\r\n"], "go_on"
    if ending == "dot_no_eol":
        if rng.random() < 0.5:
            return [text.removesuffix(b"\r\n") + b".\r\n"], "close"
        return [text.removesuffix(b"\r\n") + b".\r\n", b"\r\n.\r\n"], "go_on"
    if ending in ("hang_up", "abort"):
        return [text[: rng.randint(0, len(text))]], "close" if ending == "hang_up" else "abort"
    if ending == "unstuffed":
        return [b"".join(line + b"\r\n" for line in lines) + b".\r\n"], "go_on"
    return [text + b".\r\n"], "go_on"
