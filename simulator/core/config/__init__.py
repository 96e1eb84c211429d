"""The configuration model (BEHAVIOUR.md §5): frozen values, cluster/group/machine layers, Submit and
Commit, and the text forms of its values (addresses, routes, next hops) that every entry point reads.

May import: `simulator.core` (its shared modules and `reports.logformat`).
"""
