"""The fast reading of MAIL/RCPT paths (`ObservedSMTP._getaddr`) answers exactly as aiosmtpd's own
parser does, on seeded random paths: plain ones it reads itself and every other kind it hands over.

A path that we hand over gets aiosmtpd's answer by construction, so only the paths we read ourselves
are compared: our reading runs under a stand-in parent that answers `HANDED_OVER` in aiosmtpd's place
(an answer that comes back changed is compared too, and differs). aiosmtpd's reading is pure (the same
path and local-part limit, the same answer or the same error), and so are the email package's parsers
under it: the test remembers their answers, so each path is parsed once for both limits.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator
from email._header_value_parser import get_angle_addr
from functools import cache, partial

import pytest
from aiosmtpd import smtp as aiosmtpd_smtp
from aiosmtpd.smtp import SMTP

from simulator.transport.smtp import ObservedSMTP

NOISE = string.ascii_letters + string.digits + ".@<>-_+\" ()[]:;,=\\!#\t"
ATOM = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
LABEL = string.ascii_letters + string.digits + "-"
PARAMETERS = ("", " SIZE=5", "  BODY=8BITMIME SMTPUTF8", "x", " ", "\t", " (comment)", "SIZE=1")
KNOWN = ["<a@b>", "<a@b> SIZE=10", "<a.b@c.d> BODY=8BITMIME SMTPUTF8", "<>", "<a@b>x", "<a@b>  X",
         "<a..b@c>", "<.a@b>", "<a@-b>", "<a@b.>", "<a@[1.2.3.4]>", '<"q"@b>', "<a@b", "a@b", "<@x:a@b>"]
#: What aiosmtpd's reading or a parser under it gave, for a key naming the call: returned or raised.
Memory = dict[tuple[object, ...], tuple[bool, object]]


def plain_path(rng: random.Random) -> str:
    def word(alphabet: str) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))

    local = ".".join(word(ATOM) for _ in range(rng.randint(1, 3)))
    domain = ".".join(word(LABEL) for _ in range(rng.randint(1, 3)))
    return f"<{local}@{domain}>{rng.choice(PARAMETERS)}"


def noisy_path(rng: random.Random) -> str:
    return "<" + "".join(rng.choice(NOISE) for _ in range(rng.randint(1, 25))) + ">" + rng.choice(PARAMETERS)


@cache
def cases() -> tuple[str, ...]:
    """The known paths, 5000 seeded plain ones, 5000 seeded noisy ones and one with a long local part."""
    rng = random.Random(13)
    return (*KNOWN, *(plain_path(rng) for _ in range(5000)), *(noisy_path(rng) for _ in range(5000)),
            f"<{'a' * 70}@b.example>")


def answer(reader: object, arg: str) -> object:
    try:
        return reader(arg)  # type: ignore[operator]
    except Exception as error:  # the same failure counts as the same answer
        return type(error).__name__


def remembered(memory: Memory, key: tuple[object, ...], work: Callable[[], object]) -> object:
    """What `work` returned (or raised: raised again) the first time `key` was asked of `memory`."""
    if key not in memory:
        try:
            memory[key] = (True, work())
        except Exception as error:
            memory[key] = (False, error)
    returned, found = memory[key]
    if not returned:
        assert isinstance(found, Exception)
        raise found
    return found


def _remembered_parser(memory: Memory, name: str, parser: Callable[[str], object]) -> Callable[[str], object]:
    return lambda arg: remembered(memory, (name, arg), partial(parser, arg))


@pytest.fixture(scope="module")
def memory() -> Memory:
    """What this module's tests remember (the parsed paths: let go of when the module is done)."""
    return {}


@pytest.fixture
def remembering(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aiosmtpd's `_getaddr` (per limit and path) and its parsers (per path), remembered."""
    getaddr = SMTP._getaddr
    monkeypatch.setattr(SMTP, "_getaddr", lambda self, arg: remembered(
        memory, ("_getaddr", self.local_part_limit, arg), partial(getaddr, self, arg)))
    for name in ("get_angle_addr", "get_addr_spec"):
        parser = getattr(aiosmtpd_smtp, name)
        monkeypatch.setattr(aiosmtpd_smtp, name, _remembered_parser(memory, name, parser))
    yield


def test_a_remembered_answer_is_the_first_one_and_an_error_is_raised_again() -> None:
    memory: Memory = {}
    calls: list[str] = []

    def parse(arg: str) -> object:
        calls.append(arg)
        return get_angle_addr(arg)

    for arg in ("<a@b> SIZE=1", "no angle", "<a@b> SIZE=1", "no angle"):
        assert answer(lambda a: remembered(memory, (a,), partial(parse, a)), arg) == answer(parse, arg)
    assert calls == ["<a@b> SIZE=1", "<a@b> SIZE=1", "no angle", "no angle", "<a@b> SIZE=1", "no angle"]
    assert answer(lambda a: remembered(memory, (a,), partial(parse, a)), "no angle") == "HeaderParseError"
    assert len(calls) == 6


HANDED_OVER = ("handed over", "to aiosmtpd")


class HandingOver(SMTP):
    """In aiosmtpd's place under `ObservedSMTP` (see `Probe`): what our reading hands over comes back as
    `HANDED_OVER`, without aiosmtpd's parse."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return HANDED_OVER


class Probe(ObservedSMTP, HandingOver):
    """`ObservedSMTP` whose parent reading is `HandingOver` (its method resolution order puts that class
    between ours and aiosmtpd's)."""


@pytest.mark.parametrize("limit", [0, 64])
@pytest.mark.usefixtures("remembering")
def test_every_path_is_read_as_aiosmtpd_reads_it(limit: int) -> None:
    ours = Probe.__new__(Probe)
    ours.local_part_limit = limit
    read = {arg: answer(ours._getaddr, arg) for arg in cases()}
    own = [arg for arg, ours_read in read.items() if ours_read != HANDED_OVER]
    assert 1000 < len(own) < len(read) - 1000, "both kinds are many: read by us, handed over"
    differ = [arg for arg in own if read[arg] != answer(lambda a: SMTP._getaddr(ours, a), arg)]
    assert differ == []
