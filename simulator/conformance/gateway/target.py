"""The gateway under test: the target the checks use, built from the vendor's `[gateway]` section.

Design rule: `gateway_target_from` starts the counterparts on the addresses the section names, loads
the driver, tells the driver where the counterparts listen (`prepare`), and stops everything when the
`with` block ends, after telling the driver the run is over (`finish`). The checks never read the
configuration again: they ask the `GatewayTarget`. The section's models live in `section.py` and are
named here too, where the kit looks for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from simulator.conformance.endpoint.target import split_target
from simulator.conformance.gateway.counterparts import Counterparts
from simulator.conformance.gateway.driver import Driver, load_driver
from simulator.conformance.gateway.section import (
    SAMPLES,
    DriverSection,
    GatewaySection,
    MailboxSection,
    ThreatDefenseSection,
    WaitsSection,
    sample_text,
)
from simulator.conformance.outcomes import DriverError, HookMissing

__all__ = ["SAMPLES", "DriverSection", "GatewaySection", "GatewayTarget", "MailboxSection",
           "ThreatDefenseSection", "WaitsSection", "gateway_target_from", "sample_text"]


@dataclass(frozen=True)
class GatewayTarget:
    """The gateway under test as the checks see it: its listeners, the counterparts, the driver."""

    section: GatewaySection
    counterparts: Counterparts
    driver: Driver
    artifacts: Path
    problems: list[str] = field(default_factory=list)  # what went wrong around the checks (`finish`)

    def listener(self, direction: str) -> tuple[str, int] | None:
        """("host", port) of the `incoming` or `outgoing` listener; None if not configured."""
        value = self.section.incoming if direction == "incoming" else self.section.outgoing
        return None if value is None else split_target(value)


@contextmanager
def gateway_target_from(
    section: GatewaySection, artifacts: Path, driver: Driver | None = None,
) -> Iterator[GatewayTarget]:
    """Start the counterparts, load the driver (or use `driver`, built already) and `prepare` it;
    call the driver's `finish` when the block ends, then stop the counterparts (their records and
    logs are written to `artifacts` then). A `prepare` hook that raises is re-raised as DriverError:
    no check can be judged against an unprepared gateway. A `finish` that raises is kept in the
    target's `problems`, never raised: the checks' verdicts stand."""
    artifacts.mkdir(parents=True, exist_ok=True)
    counterparts = Counterparts.from_section(section, artifacts)
    with counterparts.running():
        driver = driver if driver is not None else load_driver(section.driver)
        with contextlib.suppress(HookMissing):  # prepare is optional: routes may be set by hand
            driver.call("prepare", counterparts.describe())
        target = GatewayTarget(section, counterparts, driver, artifacts)
        try:
            yield target
        finally:
            target.problems.extend(finish(driver))


def finish(driver: Driver) -> list[str]:
    """Tell the driver the run is over (its optional `finish` hook); what it raised, if it did."""
    try:
        driver.call("finish")
    except HookMissing:
        return []
    except DriverError as error:
        return [str(error)]
    return []
