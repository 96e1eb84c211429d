"""The sandbox's TOML configuration file (placeholder: being written in this session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.cluster import ClusterConfig


@dataclass(frozen=True)
class ConfigFile:
    """What a `--config` file declares."""

    cluster: ClusterConfig
    intake_addresses: tuple[str, ...] | None = None


def load_config_file(path: Path) -> ConfigFile:
    """Read and check `path`; ConfigError names the key and line of the first problem."""
    raise NotImplementedError(path)
