"""The composition root: builds the mock endpoints and the gateway's machines from settings, and runs them.

Design rule: the only room that knows how the parts fit: routes to Threat Defense and the mailbox
host are derived from the ports they actually bound. Two ways to run the same parts, built by the
same factories (`parts.py`): `single.Sandbox`, everything on one event loop (the test fixtures, in a
background thread), and `supervisor.ProcessSandbox`, each machine and each endpoint in its own OS
process like the appliances they stand for (`tdcsim sandbox`).

Owns: how the parts are built and wired, where they run, and `sandbox.json`.
May import: every room below it (core, transport, gateway, endpoints, settings, admin, console);
imported only by `cli` and `testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.sandbox.settings import TD_HOSTNAME, SandboxSettings

if TYPE_CHECKING:  # for the type checker only; at run time `__getattr__` below imports it on first use
    from simulator.sandbox.single import Sandbox

__all__ = ["TD_HOSTNAME", "Sandbox", "SandboxSettings"]


def __getattr__(name: str) -> Any:
    """`Sandbox` is imported on first use: a part's process imports this package too, and never needs
    the admin API and the console that `single.py` brings."""
    if name == "Sandbox":
        from simulator.sandbox.single import Sandbox
        return Sandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
