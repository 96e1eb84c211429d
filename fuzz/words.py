"""The fuzzer's vocabulary: verbs in any case, hostile addresses, and MAIL/RCPT parameters.

Design rule: every word is bytes drawn from one `random.Random`, so a session is a pure function of
its seed; the hostile forms are listed by name (what BEHAVIOUR.md §9 and issue 9 call out) and then
combined at random. No word ends in "Error" or "Exception": a reply that echoes one must never pass
for internal error text (see `judge`).
"""

from __future__ import annotations

import random

LOCAL_DOMAIN = "example.com"
OUTSIDE_DOMAIN = "outside.test"
TENANT = "sandbox-tenant@intake.threatdefense.test"
VERBS = ("HELO", "EHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
         "STARTTLS", "AUTH", "BDAT", "ETRN", "TURN", "XCLIENT")

# local part, or the whole address when it has an "@"; {d} is the domain the session aims at
ADDRESS_FORMS: dict[str, list[bytes]] = {
    "plain": [b"bob@{d}", b"alice@{d}", b"Carol.Smith@{d}", b"bob+tag@{d}", b"BOB@{D}"],
    "quoted": [b'"john doe"@{d}', b'"a\\"b"@{d}', b'"a@b"@{d}', b'""@{d}', b'"\\\\"@{d}'],
    "cr": [b'"p\\\rq"@{d}', b'"p\rq"@{d}', b"a\rb@{d}", b"bob@{d}\r", b"\rbob@{d}"],
    "controls": [b"a\x00b@{d}", b"\x1b[31mred@{d}", b"bell\x07@{d}", b"del\x7f@{d}", b"tab\tx@{d}",
                 b'"nul\x00"@{d}', b"bob@{d}\x00", b"\x01\x02\x03@{d}"],
    "non_ascii": ["jösé@{d}".encode(), "用户@{d}".encode(), "bob@exämple.com".encode(),
                  "ñ@例え.jp".encode(), "bob@{d}\u2028".encode(), "\u202ebob@{d}".encode()],
    "bad_utf8": [b"\xff\xfe@{d}", b"a\xc3(@{d}", b"\xed\xa0\x80@{d}", b"\xc0\xaf@{d}", b"bob@\xe9.test"],
    "long": [b"a" * 65 + b"@{d}", b"b" * 300 + b"@{d}", b"bob@" + b"x" * 256 + b".test",
             b"c" * 2000 + b"@{d}"],
    "syntax": [b"bob", b"bob@", b"@{d}", b"bob@@{d}", b"bob@{d}..", b"bob@.{d}", b"bob@{d}.",
               b".bob@{d}", b"bob.@{d}", b"bo..b@{d}", b"bob @{d}", b" bob@{d}", b"bob@-x.test",
               b"postmaster", b"Postmaster", b"bob@[127.0.0.1]", b"bob@[IPv6:::1]", b"bob@[999.1.1.1]",
               b"bob@[", b"@a.test,@b.test:bob@{d}", b"bob%{d}@outside.test", b"a/b@{d}",
               b"../../etc@{d}", b"bob@{d}/x", b"a\\b@{d}", b"(comment)bob@{d}", b"bob@{d}(c)"],
}
PARAMETERS = [b"SIZE=123", b"SIZE=abc", b"SIZE=99999999999999999999999999", b"SIZE=", b"SIZE=-1",
              b"BODY=8BITMIME", b"BODY=7BIT", b"BODY=BINARYMIME", b"BODY=junk", b"SMTPUTF8",
              b"smtputf8", b"SMTPUTF8=yes", b"AUTH=<>", b"AUTH=bob@x", b"RET=FULL", b"ENVID=x\x00",
              b"NOTIFY=SUCCESS,FAILURE", b"NOTIFY=NEVER", b"ORCPT=rfc822;bob@example.com", b"FOO=BAR",
              b"=", b"=x", "X=ñ".encode(), b"\xff=1", b"SIZE=1 SIZE=2", b"BODY=8BITMIME SMTPUTF8"]


def mixed_case(rng: random.Random, word: str) -> bytes:
    """`word` as written, lower case, or each letter's case at random."""
    style = rng.random()
    if style < 0.6:
        return word.encode()
    if style < 0.75:
        return word.lower().encode()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word).encode()


def domain_for(rng: random.Random, target: str) -> str:
    """The domain a session's addresses mostly use: one the target accepts, now and then another."""
    usual = {"inbound": LOCAL_DOMAIN, "relay": OUTSIDE_DOMAIN, "threat_defense": TENANT.split("@")[1],
             "mailbox": LOCAL_DOMAIN}[target]
    return usual if rng.random() < 0.8 else rng.choice([LOCAL_DOMAIN, OUTSIDE_DOMAIN, "nowhere.invalid"])


def address(rng: random.Random, domain: str, hostile: float) -> bytes:
    """An address for `domain`: a plain one, or (with probability `hostile`) any named form."""
    kind = rng.choice(list(ADDRESS_FORMS)) if rng.random() < hostile else "plain"
    form = rng.choice(ADDRESS_FORMS[kind])
    if domain == TENANT.split("@")[1] and kind == "plain":
        return TENANT.encode()
    return form.replace(b"{d}", domain.encode()).replace(b"{D}", domain.upper().encode())


def path(rng: random.Random, mailbox: bytes, hostile: float) -> bytes:
    """The argument after `FROM:`/`TO:`: `<mailbox>`, or (with probability `hostile`) an odd one."""
    forms = [b" <%s>", b"%s", b"<%s", b"%s>", b"<<%s>>", b"Bob <%s>", b"<>", b"<", b"", b"<%s> <%s>"]
    form = rng.choice(forms) if rng.random() < hostile else b"<%s>"
    return form.replace(b"%s", mailbox)


def parameters(rng: random.Random, wanted: tuple[bytes, ...], hostile: float) -> bytes:
    """`wanted`, then (with probability `hostile`) one or two from the whole list, each after a space."""
    chosen = list(wanted) + ([rng.choice(PARAMETERS) for _ in range(rng.choice([1, 2]))]
                             if rng.random() < hostile else [])
    return b"".join(b" " + parameter for parameter in chosen)
