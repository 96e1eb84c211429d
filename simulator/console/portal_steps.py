"""The chapter's three steps to connect the gateway to Threat Defense (BEHAVIOUR.md §11.3), as the
portal's home page guides a trainee through them, each marked done or not.

Design rule: pure, and the marks come from the sandbox's state alone (the console keeps none of its
own, §11.2): step 1 is done while Threat Defense has tenants and is not scripted down; step 2 once
the gateway's configuration (pending or committed) enables the connector with a tenant's address,
the proof the address was read; step 3 once the *committed* configuration does, on some machine.
The words are the vendor chapter's ("How to configure the gateway to use the Threat Defense
Connector"), in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulator.endpoints.faults import Fault


@dataclass(frozen=True)
class Step:
    """One step of the chapter's procedure, and what the sandbox shows of it now."""

    number: int
    action: str  # the chapter's words
    where: str  # where it is done, as click-path
    done: bool
    state: str  # what the sandbox's state shows, in words
    link: str = ""  # the page that does it ("" when the sandbox did it)
    link_label: str = ""


def using_tenant(machines: Sequence[dict[str, Any]], tenants: Sequence[str]) -> dict[str, list[str]]:
    """The machines whose connector is enabled with one of `tenants`' addresses, by address.

    `machines` are rows of `ConfigAdmin.tdc(state)["machines"]`."""
    known = {tenant.lower(): tenant for tenant in tenants}
    used: dict[str, list[str]] = {}
    for row in machines:
        address = str(row["intake_address"] or "").lower()
        if row["enabled"] and address in known:
            used.setdefault(known[address], []).append(row["machine"])
    return used


def in_words(used: dict[str, list[str]]) -> str:
    """`enabled with a@b on esa1, esa2`, one clause per address."""
    return "; ".join(f"enabled with {address} on {', '.join(machines)}" for address, machines in used.items())


def set_up(tenants: Sequence[str], faults: Sequence[Fault]) -> Step:
    down = any(fault.kind == "down" for fault in faults)
    state = ("Threat Defense is down (a fault is scripted on it): it receives nothing." if down else
             f"Done by the sandbox: the portal receives for {len(tenants)} tenant(s)." if tenants else
             "Threat Defense has no tenant.")
    return Step(1, "Set up the Secure Email Threat Defense portal to receive messages from the Secure "
                   "Email Cloud Gateway.", "Threat Defense portal (see Setting up Secure Email Threat "
                   "Defense in the user guide)", bool(tenants) and not down, state)


def address_read(pending: dict[str, list[str]], committed: dict[str, list[str]], details: str) -> Step:
    used = pending or committed
    state = (f"Used on the gateway: {in_words(used)}." if used else
             "Not yet used on the gateway: read it under Account Details.")
    return Step(2, "Get the Message Intake Address from the Secure Email Threat Defense portal.",
                "Settings (gear icon) > Administration > Business, Account Details", bool(used), state,
                details, "Account Details")


def connector_enabled(pending: dict[str, list[str]], committed: dict[str, list[str]],
                      edit: str, commit: str) -> Step:
    action = "Enable and configure the Threat Defense Connector on the Secure Email Cloud Gateway."
    where = ("Security Services > Threat Defense Connector > Edit Global Settings: tick Enable Threat "
             "Defense Connector, enter the Message Intake Address, Submit, then Commit Changes")
    if committed:
        return Step(3, action, where, True, f"Committed: {in_words(committed)}.", edit,
                    "Edit Global Settings")
    if pending:
        return Step(3, action, where, False, f"Submitted, not committed yet: {in_words(pending)}.",
                    commit, "Commit Changes")
    return Step(3, action, where, False, "The connector is not enabled with a tenant's address.", edit,
                "Edit Global Settings")


def guide(tenants: Sequence[str], faults: Sequence[Fault], pending: Sequence[dict[str, Any]],
          committed: Sequence[dict[str, Any]], links: dict[str, str]) -> tuple[Step, Step, Step]:
    """The three steps; `links` names the pages: `details`, `edit` and `commit`."""
    now, then = using_tenant(pending, tenants), using_tenant(committed, tenants)
    return (set_up(tenants, faults), address_read(now, then, links["details"]),
            connector_enabled(now, then, links["edit"], links["commit"]))
