"""The sandbox's `--config` file (TOML): read, checked, and turned into a `ClusterConfig`; every
refusal names the dotted key and its line.

May import: `simulator.core`.
"""
