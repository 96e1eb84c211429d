"""Binds every Gherkin feature under features/ to pytest (the steps live in simulator/testing/steps/)."""

from pytest_bdd import scenarios

scenarios(
    "inbound_only.feature",
    "attachment_format.feature",
    "bad_input.feature",
    "tls_error_logging.feature",
    "retries.feature",
    "connection_reuse.feature",
    "disable_flows.feature",
    "clustering.feature",
    "per_policy.feature",
    "smtp_routes.feature",
    "delivery_status.feature",
    "verdicts.feature",
    "quarantine.feature",
    "mail_log.feature",
    "training_labs.feature",
)
