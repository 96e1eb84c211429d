"""The vendor conformance kit (BEHAVIOUR.md §10): Gherkin checks, one per rule, run by pytest-bdd
against a *target* -- a gateway under test (the kit plays Threat Defense and the next-hop mailbox
host) or an intake endpoint under test (the kit plays the gateway's connector) -- and one results
bundle per run.

Owns the rule outcomes (`outcomes.py`), the kit's features (`features/`, shipped in the wheel), each
direction's target, steps and bindings (`endpoint/`, `gateway/`), the driver protocol, the vendor
configuration file, the runner and the bundle.

May import: `simulator.admin` and everything below it (never the composition root or the CLI).
"""
