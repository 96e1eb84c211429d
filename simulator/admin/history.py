"""What the operator committed and what is pending: the commit history and the pending diff.

Design rule: pure functions of the store's values, no I/O. The diff compares the committed and the
pending configuration level by level (cluster, then groups, then machines) and key by key; a key
that is not set at a level is `null` on that side, a set one is `{"value": ...}` (so a value that
is itself empty is told apart from "not set here").
"""

from __future__ import annotations

from typing import Any

from simulator.admin.actions import to_json
from simulator.core.config.cluster import SETTINGS, ClusterConfig
from simulator.core.config.store import Commit

NOT_SET = object()


def commits_json(commits: tuple[Commit, ...]) -> dict[str, Any]:
    """`{commits: [{at, comment}]}`, oldest first."""
    return {"commits": to_json(commits)}


def differences(committed: ClusterConfig, pending: ClusterConfig | None) -> dict[str, Any]:
    """`{uncommitted, changes: [{level, key, committed, pending}]}`: every key set differently."""
    if pending is None:
        return {"uncommitted": False, "changes": []}
    changes = []
    for level in sorted(set(committed.layers) | set(pending.layers)):
        before, after = committed.layers.get(level, {}), pending.layers.get(level, {})
        changes += [{"level": str(level), "key": key,
                     "committed": side(before, key), "pending": side(after, key)}
                    for key in SETTINGS if before.get(key, NOT_SET) != after.get(key, NOT_SET)]
    return {"uncommitted": True, "changes": changes}


def side(layer: Any, key: str) -> dict[str, Any] | None:
    """One side of a change: `{"value": ...}`, or None when the key is not set at that level."""
    return {"value": to_json(layer[key])} if key in layer else None
