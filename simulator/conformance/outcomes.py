"""What a check can come to, and the two exceptions a step raises to say it was not judged.

Design rule: a check is judged only by evidence. A step that needs a driver hook the vendor did not
provide raises `HookMissing` (the check is *not run*, never passed); a hook that raised is wrapped in
`DriverError` (the check is an *error*, with the exception); anything else that goes wrong is a
failure, with the transcript in its message.
"""

from __future__ import annotations

import re
from enum import StrEnum

#: A kit scenario's name: `<rule id> — <what it checks>`; the rule id names its BEHAVIOUR.md section.
#: The name of the user property a check records a note under (`item.user_properties`): what a passed
#: check says about itself becomes its detail.
NOTE = "tdc-conform-note"
SCENARIO_NAME_RE = re.compile(r"^(?P<rule>\d+(?:\.\d+)*-[a-z0-9]+(?:-[a-z0-9]+)*) — (?P<title>\S.*)$")


class Outcome(StrEnum):
    """A rule's result in a run."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not-run"  # a driver hook it needs is missing
    ERROR = "error"  # a driver hook raised
    EXPECTED_FAILURE = "expected-failure"  # failed, and listed in the expected-failures file
    UNEXPECTED_PASS = "unexpected-pass"  # passed, though listed in the expected-failures file


class HookMissing(Exception):
    """The driver does not provide `hook`, so the check that needs it cannot be judged."""

    def __init__(self, hook: str) -> None:
        super().__init__(f"the driver has no {hook!r} hook")
        self.hook = hook


class DriverError(Exception):
    """The driver's `hook` raised `cause`."""

    def __init__(self, hook: str, cause: BaseException) -> None:
        super().__init__(f"driver hook {hook!r} raised {type(cause).__name__}: {cause}")
        self.hook = hook


def rule_of(scenario_name: str) -> tuple[str, str] | None:
    """The (rule id, title) a kit scenario's name declares, or None if it declares none."""
    match = SCENARIO_NAME_RE.match(scenario_name)
    return (match["rule"], match["title"]) if match else None
