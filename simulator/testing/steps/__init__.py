"""The Gherkin step definitions, grouped by concept; the plugin loads every module listed in
`STEP_MODULES`, so a suite's own `.feature` files can use them with no conftest edit.

May import: `simulator.testing` and everything below it.
"""

STEP_MODULES = [
    f"simulator.testing.steps.{name}"
    for name in ("sandbox_steps", "sending_steps", "delivery_steps", "journal_steps", "fault_steps",
                 "queue_steps", "admin_steps", "cluster_steps", "verdict_steps", "quarantine_steps",
                 "mail_log_steps", "lab_steps")
]
