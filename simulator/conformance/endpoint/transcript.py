"""What a check said to the endpoint under test and what it answered, line by line.

Design rule: a transcript is evidence, so it is written as things happen (never rebuilt from a
summary): `C:` lines the kit sent, `S:` lines the endpoint answered, `--` lines for what happened
around them (connections, TLS handshakes, closes, time-outs). A message's content is one line naming
its size (the journal itself is kept as an artifact). Every check prints its transcript (the kit keeps
a check's stdout), saves it among the run's artifacts and quotes it in its failure message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ARTIFACT_NAME = "smtp-transcript.txt"
_UNSAFE = re.compile(r"[^\x20-\x7e]")


def printable(text: str) -> str:
    """`text` with every control or non-ASCII character escaped: a transcript line is one line."""
    return _UNSAFE.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


@dataclass
class Transcript:
    """The lines of one check's conversation with the endpoint under test."""

    title: str
    lines: list[str] = field(default_factory=list)

    def sent(self, line: str) -> None:
        self.lines.append(f"C: {printable(line)}")

    def received(self, line: str) -> None:
        self.lines.append(f"S: {printable(line)}")

    def note(self, text: str) -> None:
        self.lines.append(f"-- {printable(text)}")

    def sent_bytes(self, data: bytes) -> None:
        """A write of the client: command lines one by one, a message's content as one line."""
        lines = data.split(b"\r\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if len(lines) > 1:
            self.sent(f"[message content: {len(data)} bytes, {len(lines)} lines, ending with '.']")
            return
        for line in lines:
            self.sent(line.decode("utf-8", "backslashreplace"))

    def received_bytes(self, data: bytes) -> None:
        for line in data.decode("utf-8", "backslashreplace").splitlines():
            self.received(line)

    def text(self) -> str:
        """The whole transcript, headed by its title."""
        return "\n".join([f"== {self.title}", *self.lines]) + "\n"

    def show(self, artifacts: Path) -> None:
        """Print the transcript (the kit keeps stdout) and save it in the check's `artifacts` folder."""
        print(self.text(), end="")
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / ARTIFACT_NAME).write_text(self.text(), encoding="utf-8")


def failure(message: str, *transcripts: Transcript) -> str:
    """An assertion message: what went wrong, then the transcripts that show it."""
    return "\n".join([message, "", *(transcript.text() for transcript in transcripts)])
