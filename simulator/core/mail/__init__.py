"""What the gateway decides about each message (BEHAVIOUR.md §2-§4), as pure functions and values:
inspection, policies, scanning, the processing plan, the connector and its journal copy (builder
and checker), the queue entry's lifecycle, the retry schedule, routing, DSNs, and Threat Defense's
verdicts and true sender (§8.5-§8.6); and the seeded sample messages (`samples`) that the tests,
the bench and the console's Traffic Generator send.

May import: `simulator.core` (shared modules and `config`).
"""
