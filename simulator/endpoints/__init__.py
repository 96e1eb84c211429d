"""The mock endpoints (BEHAVIOUR.md §8): Threat Defense's intake and the mailbox host, each the same
aiosmtpd listener with its own handler, and the scripted faults (§8.7) both play.

May import: `simulator.core`, `simulator.transport`. Not the gateway.
"""
