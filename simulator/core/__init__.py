"""The pure core: values, rules and formats, with no sockets, no files and no event loop.

Owns: the shared vocabulary (`errors`, `clock`, `replies`, `records`), the configuration model
(`config/`, BEHAVIOUR.md §5), the decisions about each message (`mail/`, §2-§4 and Threat
Defense's verdicts of §8.5-§8.6) and what the operator reads (`reports/`, §6-§7).
May import: the standard library, and `simulator.defaults`. Nothing else of the simulator.
"""
