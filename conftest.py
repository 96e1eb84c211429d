"""Root conftest: loads the fixtures plugin and the step definitions (never defined in test_*.py)."""

pytest_plugins = [
    "fixtures.plugin",
    "steps.sandbox_steps",
    "steps.sending_steps",
    "steps.delivery_steps",
    "steps.journal_steps",
    "steps.fault_steps",
    "steps.queue_steps",
    "steps.admin_steps",
    "steps.cluster_steps",
    "steps.verdict_steps",
    "steps.quarantine_steps",
    "steps.mail_log_steps",
]
