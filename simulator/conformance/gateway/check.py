"""One gateway check while its scenario runs: what it injected, what it switched, how it waits.

Design rule: the steps stay thin by asking this object; it holds the scenario's state (the
messages injected, `it` being the last; whether the connector is on; whether a retry is awaited)
and turns every failure into an AssertionError carrying the SMTP transcripts and what the
counterparts saw. What a scenario switched (faults, the connector, the intake address) is put
back by `undo`, run after the scenario whatever its outcome.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.conformance.gateway.evidence import (
    Mark,
    copies_of,
    deliveries_of,
    mark,
    seen_since,
    wait,
)
from simulator.conformance.gateway.injector import Injection, Mail, compose, inject
from simulator.conformance.gateway.target import GatewayTarget
from simulator.conformance.outcomes import HookMissing
from simulator.core.records import Records
from simulator.endpoints.threat_defense import JournalRecord


class ConfigMissing(HookMissing):
    """The vendor's configuration leaves out `key`, which the check needs: it is *not run*."""

    def __init__(self, key: str) -> None:
        Exception.__init__(self, f"the configuration has no gateway.{key}")
        self.hook = f"gateway.{key}"


class GatewayCheck:
    """The state and the actions of one scenario against a `GatewayTarget`."""

    def __init__(self, target: GatewayTarget, rule: str = "") -> None:
        self.target, self.counterparts, self.rule = target, target.counterparts, rule
        self.start: Mark = mark(target.counterparts)
        self.mails: list[Mail] = []
        self.injections: list[Injection] = []
        self.connector_on = True
        self.retrying = False
        self.log_baseline = 0  # the seed's TLS Error lines in the gateway's log before the check
        self.notes: list[str] = []  # what a passed check says about itself (its detail)
        self._undo: list[Callable[[], None]] = []

    @property
    def it(self) -> Mail:
        assert self.mails, "the scenario injected nothing yet"
        return self.mails[-1]

    @property
    def timeout(self) -> float:
        waits = self.target.section.waits
        return waits.retry if self.retrying else waits.arrival

    def need(self, key: str) -> Any:
        """The section's value for `key`; ConfigMissing if the vendor left it out."""
        value = getattr(self.target.section, key)
        if value is None:
            raise ConfigMissing(key)
        return value

    def hook(self, name: str, *args: Any) -> Any:
        """Run a driver hook (HookMissing / DriverError as the driver raises them)."""
        return self.target.driver.call(name, *args)

    def note(self, text: str) -> None:
        """Say what the check found although it passed: printed in its transcript, and its detail."""
        print(f"Note: {text}")
        self.notes.append(text)

    def on_undo(self, action: Callable[[], None]) -> None:
        self._undo.append(action)

    def undo(self) -> None:
        """Put back what the scenario switched, last first."""
        for action in reversed(self._undo):
            action()
        self._undo.clear()

    def td_faults(self, *specs: str) -> None:
        """Script the kit's Threat Defense; the scenario's end clears it and lets the copies the
        faults held back go (so that they do not arrive during the next check)."""
        self.counterparts.set_td_faults(*specs)
        if specs:
            self.on_undo(self._flush)
            self.on_undo(self.counterparts.set_td_faults)

    def _flush(self) -> None:
        with contextlib.suppress(HookMissing):
            self.hook("let_retries_run")

    def inject(self, direction: str, recipients: tuple[str, ...], label: str, body: str = "",
               count: int = 1) -> list[Mail]:
        """Inject `count` messages on one session into the `incoming` or `outgoing` listener."""
        section = self.target.section
        sender = section.sender if direction == "incoming" else section.recipients[0]
        mails = [compose(sender, recipients, f"{self.rule} {label}".strip(), body) for _ in range(count)]
        injection = self._send(direction, mails)
        self.mails += mails
        if not all(injection.accepted):
            raise self.failure(f"the gateway under test did not accept the kit's {direction} message")
        return mails

    def _send(self, direction: str, mails: list[Mail]) -> Injection:
        listener = self.target.listener(direction)
        if listener is None:
            raise ConfigMissing(direction)
        injection = inject(*listener, mails, self.target.section.waits.smtp)
        print(injection.text())  # the collector keeps captured stdout
        self.injections.append(injection)
        return injection

    def let_retries_run(self) -> None:
        """Make the gateway retry now (the driver's hook), else wait up to the retry wait."""
        try:
            self.hook("let_retries_run")
        except HookMissing:
            self.retrying = True

    def wait(self, records: Records[Any], found: Callable[[], bool], what: str) -> None:
        """Until `found()` holds; after the wait, a failure with the transcripts."""
        try:
            wait(records, found, self.timeout, what)
        except AssertionError as error:
            raise self.failure(str(error)) from None

    def wait_copies(self, mail: Mail, count: int = 1) -> list[JournalRecord]:
        """At least `count` copies of `mail` at the kit's Threat Defense."""
        def arrived() -> bool:
            return len(copies_of(self.counterparts, mail.token)) >= count

        what = f"{count} cop{'y' if count == 1 else 'ies'} of {mail.token} at the kit's Threat Defense"
        self.wait(self.counterparts.journals.records, arrived, what)
        return copies_of(self.counterparts, mail.token)

    def wait_delivered(self, mail: Mail) -> None:
        """The original of `mail` delivered to each of its recipients at the kit's mailbox host."""
        def arrived() -> bool:
            return len(deliveries_of(self.counterparts, mail.token)) >= len(mail.recipients)

        self.wait(self.counterparts.mailbox.deliveries, arrived,
                  f"the original {mail.token} at the kit's mailbox host for {', '.join(mail.recipients)}")

    def settle(self) -> None:
        """Give a copy that should not come every chance to come: with the connector on, a later
        incoming message's copy must arrive first; then the driver's retries, then the quiet wait."""
        if self.connector_on:
            section = self.target.section
            sentinel = compose(section.sender, (section.recipients[0],), f"{self.rule} sentinel".strip())
            self._send("incoming", [sentinel])
            self.wait_copies(sentinel)
            self.wait_delivered(sentinel)
        self._flush()
        time.sleep(self.target.section.waits.quiet)

    def keep(self, folder: Path) -> None:
        """Write into `folder` (the bundle's, for this check) the transcripts, what Threat Defense
        saw, and the copies of the scenario's messages."""
        folder.mkdir(parents=True, exist_ok=True)
        transcripts = "\n\n".join(injection.text() for injection in self.injections)
        (folder / "transcript.txt").write_text(transcripts + "\n", encoding="utf-8")
        (folder / "threat-defense.txt").write_text(seen_since(self.counterparts, self.start) + "\n",
                                                   encoding="utf-8")
        tokens = [mail.token.encode() for mail in self.mails]
        received = self.counterparts.journals.records.snapshot()[self.start.journals:]
        for record in (r for r in received if any(token in r.data for token in tokens)):
            (folder / f"copy-{record.number}-{record.intake_address}.eml").write_bytes(record.data)

    def failure(self, text: str) -> AssertionError:
        """An AssertionError with `text`, the transcripts and what Threat Defense saw."""
        transcripts = [injection.text() for injection in self.injections]
        return AssertionError("\n".join([text, *transcripts, seen_since(self.counterparts, self.start)]))
