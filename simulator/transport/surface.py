"""The SMTP surface in the vendor's style: the EHLO keywords, and aiosmtpd's size refusals reworded.

Design rule: pure text in, text out; `smtp.py` applies it to what aiosmtpd would write. EHLO announces
what aiosmtpd implements but does not say: PIPELINING (it reads commands in turn from one stream, so a
client may send MAIL, RCPT and DATA in one write) and ENHANCEDSTATUSCODES (the simulator's own replies
carry them); aiosmtpd's two `552`s (a MAIL `SIZE=` above the limit, and too much DATA) become the
named `552 5.3.4`. The transactions they end are aiosmtpd's and keep nothing.
"""

from __future__ import annotations

from simulator.core import replies

#: aiosmtpd's own replies that the servers give in the vendor's words (its size refusals, at MAIL
#: `SIZE=` and after DATA); the transaction they end is aiosmtpd's and keeps nothing.
AIOSMTPD_REPLIES = {
    "552 Error: Too much mail data": replies.MESSAGE_TOO_BIG.line,
    "552 Error: message size exceeds fixed maximum message size": replies.MESSAGE_TOO_BIG.line,
}
#: EHLO keywords in the order announced; aiosmtpd implements PIPELINING (it reads commands in
#: turn from one stream) and its replies carry enhanced codes, but it announces neither.
KEYWORD_ORDER = ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8", "STARTTLS", "AUTH",
                 "ENHANCEDSTATUSCODES", "HELP")


def ehlo_keywords(lines: list[str]) -> list[str]:
    """aiosmtpd's EHLO reply lines with PIPELINING and ENHANCEDSTATUSCODES added, in
    `KEYWORD_ORDER`; a refusal (no 250) is left as it is."""
    if not lines or not lines[0].startswith("250"):
        return lines
    greeting, keywords = lines[0][4:], [line[4:] for line in lines[1:]]
    keywords += [extra for extra in ("PIPELINING", "ENHANCEDSTATUSCODES") if extra not in keywords]
    keywords.sort(key=lambda keyword: _rank(keyword.split(" ")[0].upper()))
    every = [greeting, *keywords]
    return [f"250-{text}" for text in every[:-1]] + [f"250 {every[-1]}"]


def _rank(keyword: str) -> int:
    return KEYWORD_ORDER.index(keyword) if keyword in KEYWORD_ORDER else len(KEYWORD_ORDER)
