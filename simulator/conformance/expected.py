"""The kit's rules (read from its feature files) and the vendor's expected-failures file: the rules
their product is known to break, each with a reason, and how a run's outcomes are read against it.

Design rule: a listed rule turns only a verdict the product earned: failed -> expected-failure,
passed -> unexpected-pass (reported, not a failure); a check that was not run or errored stays so.
An entry naming no rule of the kit (a typo would silently expect nothing) or giving no reason is
refused like any configuration error, naming its key and line.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError

from simulator.conformance.bundle import RuleResult
from simulator.conformance.outcomes import Outcome, rule_of
from simulator.core.errors import ConfigError
from simulator.settings.refusals import Section, refusal, rule, unique
from simulator.settings.toml_lines import key_lines, where

FEATURES = Path(__file__).parent / "features"
DIRECTIONS = ("endpoint", "gateway")

#: What a listing does to each outcome; the others stay as they are.
_LISTED = {Outcome.FAILED: Outcome.EXPECTED_FAILURE, Outcome.PASSED: Outcome.UNEXPECTED_PASS}


def feature_path(direction: str) -> Path:
    """The feature file of `direction` (`endpoint` or `gateway`)."""
    return FEATURES / f"{direction}.feature"


def scenario_names(direction: str) -> list[str]:
    """The name of each scenario the feature file of `direction` runs (an outline's, once per example
    row, as pytest-bdd renders it), in the file's order."""
    return list(_parsed_scenario_names(direction))


@functools.cache
def _parsed_scenario_names(direction: str) -> tuple[str, ...]:
    """`scenario_names`, parsed once: the feature files are the package's own and never change while
    it runs (a run reads both files' rules to check the expected failures, then its own again)."""
    from pytest_bdd.parser import FeatureParser  # the parser pytest-bdd runs the scenarios with

    path = feature_path(direction)
    templates = FeatureParser(str(path.parent), path.name).parse().scenarios.values()
    return tuple(template.render(context).name if template.examples else template.name
                 for template in templates
                 for context in ([context for examples in template.examples
                                  for context in examples.as_contexts()] or [{}]))


def kit_rules(direction: str) -> dict[str, str]:
    """Each rule id the feature file of `direction` checks, with its title, in the file's order."""
    named = (rule_of(name) for name in scenario_names(direction))
    return {declared[0]: declared[1] for declared in named if declared}


class ExpectedFailure(Section):
    """`[[expected_failure]]`: a rule the product under test is known to break, and why."""

    rule: str
    reason: Annotated[str, rule(str.strip, "give a reason: why is this failure expected?")]


class ExpectedFile(Section):
    """The expected-failures file."""

    expected_failure: Annotated[list[ExpectedFailure], unique("{} is listed twice", "rule")] = Field(
        default_factory=list)


def load_expected(path: Path, known: Iterable[str]) -> dict[str, str]:
    """The rules `path` lists, each with its reason; ConfigError names the key and line of a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("file", f"cannot read it: {error}") from None
    return read_expected(text, known)


def read_expected(text: str, known: Iterable[str]) -> dict[str, str]:
    """The rules TOML `text` lists (each one of `known`), with their reasons."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("TOML syntax", str(error)) from None
    lines, rules = key_lines(text), list(known)
    try:
        listed = ExpectedFile.model_validate(data).expected_failure
    except ValidationError as error:
        raise refusal(error, lines) from None
    for index, entry in enumerate(listed):
        if entry.rule not in rules:
            near = difflib.get_close_matches(entry.rule, rules, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(where(lines, ("expected_failure", index, "rule")),
                              f"not a rule of the kit: {entry.rule!r}{hint}")
    return {entry.rule: entry.reason.strip() for entry in listed}


def apply_expected(results: Iterable[RuleResult], expected: Mapping[str, str]) -> list[RuleResult]:
    """`results` read against the expected failures: each listed rule carries its reason."""
    return [result if result.rule not in expected else
            replace(result, outcome=_LISTED.get(result.outcome, result.outcome),
                    expected_reason=expected[result.rule])
            for result in results]
