"""The sandbox's `--config` file (TOML): read, checked by pydantic models that call the core's own
validators, and turned into a `ClusterConfig`; every refusal names the dotted key and its line.

May import: `simulator.core`, pydantic (only on the `--config` path: see schema.py).
"""
