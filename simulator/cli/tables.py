"""The operator CLI's readable tables, laid out from the admin API's JSON answers.

Design rule: pure text layout, no I/O, in the one column layout (`core/reports/layout.py`);
delivery status and `tophosts` reuse `core/reports/status.py`'s vendor layouts on
`DestinationStatus` values rebuilt from the JSON.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from simulator.core.reports.layout import aligned
from simulator.core.reports.logformat import format_timestamp
from simulator.core.reports.status import DestinationStatus, format_delivery_status, format_tophosts

NO_CHANGES = "There are no pending changes."
NO_COMMITS = "There are no commits yet."
PENDING_HEAD = "Pending changes (- committed, + after commit):"
UNCOMMITTED = "There are uncommitted changes: `tdcsim commit` applies them, `tdcsim clear` discards them."


def tdc_table(answer: dict[str, Any]) -> str:
    """The connector per machine and the levels its values come from."""
    rows = [[row["machine"], row["group"], "enabled" if row["enabled"] else "disabled", row["enabled_level"],
             row["intake_address"] or "-", row["address_level"]] for row in answer["machines"]]
    return aligned(["Machine", "Group", "Connector", "Set at", "Intake address", "Set at"], rows)


def policies_table(answer: dict[str, Any]) -> str:
    """Each machine's incoming mail policies with their Threat Defense mode."""
    rows = [[machine, policy["name"], ", ".join(policy["recipients"]) or "(everyone)", policy["tdc"],
             policy["tdc_intake"] or "-", entry["level"]]
            for machine, entry in answer["machines"].items() for policy in entry["policies"]]
    headings = ["Machine", "Policy", "Recipients", "Threat Defense", "Custom intake address", "Set at"]
    return aligned(headings, rows)


def commits_table(answer: dict[str, Any]) -> str:
    """The commit history, oldest first."""
    rows = [[str(number), format_timestamp(datetime.fromisoformat(commit["at"])), commit["comment"] or "-"]
            for number, commit in enumerate(answer["commits"], 1)]
    return aligned(["#", "Committed at", "Comment"], rows) if rows else NO_COMMITS


def diff_text(answer: dict[str, Any]) -> str:
    """Each pending change: its level and key, `-` what runs and `+` what runs after commit."""
    if not answer["uncommitted"]:
        return NO_CHANGES
    blocks = [f"{change['level']}  {change['key']}\n" + "\n".join(change_lines(change))
              for change in answer["changes"]]
    return "\n".join([PENDING_HEAD, *blocks, UNCOMMITTED])


def change_lines(change: dict[str, Any]) -> list[str]:
    """`- old` and `+ new`; of a list, only the items that differ (all of them if only the order does)."""
    old, new = side_lines(change["committed"]), side_lines(change["pending"])
    gone, added = [line for line in old if line not in new], [line for line in new if line not in old]
    if not gone and not added:
        gone, added = old, new
    return [f"  - {line}" for line in gone] + [f"  + {line}" for line in added]


def side_lines(side: dict[str, Any] | None) -> list[str]:
    """One side of a change: `(not set at this level)`, a value, or a list's items one a line."""
    if side is None:
        return ["(not set at this level)"]
    value = side["value"]
    items = value if isinstance(value, list) and value else [value]
    return [json.dumps(item, ensure_ascii=False) for item in items]


def routes_table(answer: dict[str, Any]) -> str:
    head = f"SMTP routes at {answer['level']} (set at {answer['from']}):"
    if not answer["routes"]:
        return f"{head}\nnone: every domain is delivered by DNS (MX)"
    rows = [[route["domain"], route["destination"]] for route in answer["routes"]]
    return f"{head}\n{aligned(['Domain', 'Destination'], rows)}"


def zone_table(answer: dict[str, Any]) -> str:
    head = f"DNS zone at {answer['level']} (set at {answer['from']}):"
    rows = [[r["domain"], str(r["priority"]), r["host"], str(r["port"])] for r in answer["records"]]
    return f"{head}\n{aligned(['Domain', 'Priority', 'Host', 'Port'], rows)}"


def destination(row: dict[str, Any]) -> DestinationStatus:
    """A delivery-status row from its JSON."""
    last = row.get("last_attempt")
    fields = {**row, "last_attempt": datetime.fromisoformat(last) if last else None}
    return DestinationStatus(**fields)


def status_text(answer: dict[str, Any]) -> str:
    """Delivery status, one table per machine."""
    return "\n\n".join(f"{machine}:\n{format_delivery_status(map(destination, rows))}"
                       for machine, rows in answer["machines"].items())


def tophosts_text(answer: dict[str, Any]) -> str:
    rows = [destination(row) for row in answer["hosts"]]
    return format_tophosts(rows, datetime.fromisoformat(answer["as_of"]), answer["sort"])


def faults_text(answer: dict[str, list[str]]) -> str:
    return "\n".join(f"{endpoint}: {', '.join(faults) or 'no faults'}" for endpoint, faults in answer.items())
