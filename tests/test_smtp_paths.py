"""The fast reading of MAIL/RCPT paths (`ObservedSMTP._getaddr`) answers exactly as aiosmtpd's own
parser does, on seeded random paths: plain ones it reads itself and every other kind it hands over."""

from __future__ import annotations

import random
import string

import pytest
from aiosmtpd.smtp import SMTP

from simulator.transport.smtp import ObservedSMTP

NOISE = string.ascii_letters + string.digits + ".@<>-_+\" ()[]:;,=\\!#\t"
ATOM = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
LABEL = string.ascii_letters + string.digits + "-"
PARAMETERS = ("", " SIZE=5", "  BODY=8BITMIME SMTPUTF8", "x", " ", "\t", " (comment)", "SIZE=1")
KNOWN = ["<a@b>", "<a@b> SIZE=10", "<a.b@c.d> BODY=8BITMIME SMTPUTF8", "<>", "<a@b>x", "<a@b>  X",
         "<a..b@c>", "<.a@b>", "<a@-b>", "<a@b.>", "<a@[1.2.3.4]>", '<"q"@b>', "<a@b", "a@b", "<@x:a@b>"]


def plain_path(rng: random.Random) -> str:
    def word(alphabet: str) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))

    local = ".".join(word(ATOM) for _ in range(rng.randint(1, 3)))
    domain = ".".join(word(LABEL) for _ in range(rng.randint(1, 3)))
    return f"<{local}@{domain}>{rng.choice(PARAMETERS)}"


def noisy_path(rng: random.Random) -> str:
    return "<" + "".join(rng.choice(NOISE) for _ in range(rng.randint(1, 25))) + ">" + rng.choice(PARAMETERS)


def answer(reader: object, arg: str) -> object:
    try:
        return reader(arg)  # type: ignore[operator]
    except Exception as error:  # the same failure counts as the same answer
        return type(error).__name__


@pytest.mark.parametrize("limit", [0, 64])
def test_every_path_is_read_as_aiosmtpd_reads_it(limit: int) -> None:
    ours = ObservedSMTP.__new__(ObservedSMTP)
    ours.local_part_limit = limit
    rng = random.Random(13)
    cases = [*KNOWN, *(plain_path(rng) for _ in range(5000)), *(noisy_path(rng) for _ in range(5000)),
             f"<{'a' * 70}@b.example>"]
    differ = [arg for arg in cases
              if answer(ours._getaddr, arg) != answer(lambda a: SMTP._getaddr(ours, a), arg)]
    assert differ == []
