"""What the operator reads (BEHAVIOUR.md §6-§7): the mail log's line form, message tracking, and the
delivery-status counters with their `tophosts` and status tables.

May import: `simulator.core` shared modules (`errors`, `clock`).
"""
