"""The labs' check kinds: each reads a snapshot of the sandbox's real state and says done or not done.

Design rule: pure. A check kind is a function of a `LabState` (`labs_state.py`) and its parameters that
answers a `Result` whose one-line reason says what is still missing, with the console's click-path.
Nothing here knows which buttons were pressed (BEHAVIOUR.md §11.2): a lab is done when the sandbox is
so. "A journal arrived" means Threat Defense holds it and its copy was created at or after the last
commit, so an earlier journal never passes a later exercise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simulator.admin.labs_state import FAILED, LabState, Result, arrived, copies, done, missing, since_commit
from simulator.core.config.cluster import CLUSTER, ClusterConfig, Level
from simulator.core.config.text import format_destination
from simulator.core.config.values import MailPolicy, domain_of
from simulator.core.mail.messages import TDC_QUEUE
from simulator.core.mail.routing import route_for

ENDPOINT_NAMES = {"threat_defense": "Threat Defense", "mailbox": "the mailbox host"}
CONNECTOR_PAGE = "Security Services > Threat Defense Connector"
ACCOUNT_DETAILS = "Threat Defense Portal: Settings (gear) > Administration > Business, Account Details"



def cluster_enabled(config: ClusterConfig, tenant: str) -> bool:
    at_cluster = config.at(CLUSTER)
    return at_cluster.get("tdc.enabled") is True and at_cluster.get("tdc.intake_address") == tenant


def connector_enabled(state: LabState, _: Mapping[str, Any]) -> Result:
    """Enabled at cluster level with the tenant's intake address, committed, and running everywhere."""
    config, tenant = state.committed, state.tenant
    if not cluster_enabled(config, tenant):
        if state.pending is not None and cluster_enabled(state.pending, tenant):
            return missing("the connector is enabled with the tenant's intake address but not committed "
                           "(Commit Changes)")
        if config.at(CLUSTER).get("tdc.enabled") is not True:
            return missing(f"the connector is disabled at cluster level ({CONNECTOR_PAGE}, "
                           "Edit Global Settings)")
        address = config.at(CLUSTER).get("tdc.intake_address") or "(none)"
        return missing(f"the cluster's intake address is {address}, not the tenant's ({ACCOUNT_DETAILS})")
    off = [f"{machine} (at {config.resolve(machine, 'tdc.enabled').level})" for machine in state.machines
           if not config.resolve(machine, "tdc.enabled").value]
    if off:
        return missing(f"enabled at cluster level, but still disabled on {', '.join(off)}")
    return done(f"the connector is enabled at cluster level with {tenant}, committed")


def custom_policies(config: ClusterConfig) -> list[tuple[str, MailPolicy]]:
    """(machine, policy) for each policy with a Custom Message Intake Address."""
    return [(machine, policy) for machine in config.topology.machines
            for policy in config.resolve(machine, "incoming_policies").value if policy.tdc == "custom"]


def journal_arrived(state: LabState, params: Mapping[str, Any]) -> Result:
    """Threat Defense holds a journal for the address, of a copy created at or after `state.since` (the
    lab's start, else the last commit)."""
    if params.get("to", "tenant") == "custom":
        addresses = {policy.tdc_intake.lower() for _, policy in custom_policies(state.committed)}
        if not addresses:
            return missing("no committed policy has a Custom Message Intake Address, so no copy goes to one")
    else:
        addresses = {state.tenant.lower()}
    recent = [copy for copy in copies(state) if copy.intake_address.lower() in addresses
              and (state.since is None or copy.at >= state.since)]
    landed = [copy for copy in recent if arrived(state, copy)]
    if landed:
        copy = landed[-1]
        return done(f"Threat Defense received the journal of message {copy.original_mid} "
                    f"({copy.machine}, copy {copy.copy_mid}) for {copy.intake_address}")
    wanted = " or ".join(sorted(addresses))
    if recent:
        copy = recent[-1]
        return missing(f"copy {copy.copy_mid} of message {copy.original_mid} ({copy.machine}) was made for "
                       f"{copy.intake_address} but has not arrived at Threat Defense (System > Mail Log: "
                       "TDC:, Monitor > Delivery Status: the.tdc.queue)")
    return missing(f"no journal for {wanted} has arrived at Threat Defense {since_commit(state)}: send a "
                   "message (Training > Traffic Generator)")


def machines(state: LabState, params: Mapping[str, Any]) -> Result:
    """The sandbox runs at least `at_least` machines."""
    least, names = int(params["at_least"]), state.machines
    if len(names) < least:
        return missing(f"this lab needs at least {least} machines and the sandbox runs {len(names)} "
                       f"({', '.join(names)}): stop it and start it with "
                       f'`make sandbox ARGS="--machines {least}"`')
    return done(f"the sandbox runs {len(names)} machines ({', '.join(names)})")


def disabled_at_machine(config: ClusterConfig) -> list[str]:
    return [machine for machine in config.topology.machines
            if config.at(Level("machine", machine)).get("tdc.enabled") is False]


def disabled_on_a_machine(state: LabState, _: Mapping[str, Any]) -> Result:
    """Some machine has the connector disabled at machine level, committed."""
    chosen = disabled_at_machine(state.committed)
    if chosen:
        return done(f"the connector is disabled at machine level on {', '.join(chosen)}, committed")
    submitted = disabled_at_machine(state.pending) if state.pending is not None else []
    if submitted:
        return missing(f"the connector is disabled on {', '.join(submitted)} but not committed "
                       "(Commit Changes)")
    return missing(f"no machine has the connector disabled at machine level ({CONNECTOR_PAGE}: mode "
                   "Machine, Change mode, Edit Global Settings, untick Enable, Submit)")


def connector_off_everywhere(state: LabState, _: Mapping[str, Any]) -> Result:
    """No machine runs the connector; each machine's setting and where it comes from."""
    config = state.committed
    found = {machine: config.resolve(machine, "tdc.enabled") for machine in state.machines}
    running = [f"{machine} (enabled at {value.level or 'default'})" for machine, value in found.items()
               if value.value]
    if running:
        return missing(f"the connector still runs on {', '.join(running)}")
    where = ", ".join(f"{machine} (disabled at {value.level or 'default'})"
                      for machine, value in found.items())
    return done(f"the connector runs on no machine: {where}")


def policy_custom(state: LabState, _params: Mapping[str, Any]) -> Result:
    """A committed policy sends its copies to another Threat Defense tenant (a Custom address)."""
    chosen = custom_policies(state.committed)
    if not chosen:
        if state.pending is not None and custom_policies(state.pending):
            return missing("a policy's Custom Message Intake Address is submitted but not committed "
                           "(Commit Changes)")
        return missing("no incoming mail policy has a Custom Message Intake Address (Mail Policies > "
                       "Incoming Mail Policies, Threat Defense column: Custom)")
    tenants = {tenant.lower() for tenant in state.tenants}
    for _machine, policy in chosen:
        if policy.tdc_intake.lower() not in tenants:
            return missing(f"policy {policy.name}'s custom address {policy.tdc_intake} is not a Threat "
                           f"Defense tenant (tenants: {', '.join(state.tenants)})")
        if policy.tdc_intake.lower() == state.tenant.lower():
            return missing(f"policy {policy.name}'s custom address is the default tenant's: choose another "
                           "tenant's intake address")
    machine, policy = chosen[0]
    return done(f"policy {policy.name} sends its copies to {policy.tdc_intake} (on {machine}), committed")


def no_faults(state: LabState, params: Mapping[str, Any]) -> Result:
    """The endpoint is scripted with no fault."""
    endpoint = str(params["endpoint"])
    name, plan = ENDPOINT_NAMES.get(endpoint, endpoint), state.faults.get(endpoint, ())
    if plan:
        return missing(f"{name} is still scripted with {', '.join(plan)} (Training > Faults)")
    return done(f"no fault is scripted on {name}")


def tdc_queue_empty(state: LabState, _: Mapping[str, Any]) -> Result:
    """No copy waits in the.tdc.queue on any machine."""
    waiting = {machine: count for machine, count in state.tdc_queue.items() if count}
    if waiting:
        where = ", ".join(f"{count} on {machine}" for machine, count in waiting.items())
        return missing(f"copies wait in {TDC_QUEUE}: {where} (Monitor > Delivery Status; "
                       "delivernow tries them now)")
    return done(f"{TDC_QUEUE} is empty on every machine")


def failed_copy_arrived(state: LabState, params: Mapping[str, Any]) -> Result:
    """A copy failed for `reason` (the seed's TLS Error) and every such copy has arrived since."""
    reason = str(params.get("reason", "TLS Error"))
    failed = {(machine, int(found[1])) for machine, lines in state.log.items() for line in lines
              if (found := FAILED.search(line.text)) and found[2] == reason}
    if not failed:
        return missing(f"no copy has failed with a {reason} yet: send a message (Training > Traffic "
                       "Generator) and read System > Mail Log for its TDC: lines")
    made = {(copy.machine, copy.copy_mid): copy for copy in copies(state)}
    for key in sorted(failed):
        copy = made.get(key)
        if copy is None or not arrived(state, copy):
            of = f" of message {copy.original_mid}" if copy else ""
            return missing(f"copy {key[1]}{of} ({key[0]}) failed with a {reason} and has not arrived at "
                           "Threat Defense yet")
    return done(f"every copy that failed with a {reason} ({len(failed)}) has arrived at Threat Defense")


def uses_dns(config: ClusterConfig, machine: str, domain: str) -> bool:
    route = route_for(domain, config.resolve(machine, "routes").value)
    return route is not None and route.domain.lower() == domain and route.use_dns


def intake_route_uses_dns(state: LabState, _: Mapping[str, Any]) -> Result:
    """Every machine has a committed route for the intake domain itself, with USEDNS."""
    domain, config = domain_of(state.tenant).lower(), state.committed
    for machine in state.machines:
        if uses_dns(config, machine, domain):
            continue
        if state.pending is not None and uses_dns(state.pending, machine, domain):
            return missing(f"the route for {domain} with USEDNS is submitted but not committed "
                           "(Commit Changes)")
        route = route_for(domain, config.resolve(machine, "routes").value)
        taken = f"takes the route {route.domain} -> {format_destination(route)}" if route else "has no route"
        return missing(f"on {machine}, mail for {domain} {taken}: add a route for {domain} with destination "
                       "USEDNS (Network > SMTP Routes) and commit")
    return done(f"mail for {domain} goes by DNS (a route with USEDNS) on every machine, committed")


CheckKind = Callable[[LabState, Mapping[str, Any]], Result]
#: Each check kind: its function and its parameters (name -> the values allowed, or the type wanted).
CHECKS: dict[str, tuple[CheckKind, dict[str, tuple[str, ...] | type]]] = {
    "connector_enabled": (connector_enabled, {}),
    "journal_arrived": (journal_arrived, {"to": ("tenant", "custom")}),
    "machines": (machines, {"at_least": int}),
    "disabled_on_a_machine": (disabled_on_a_machine, {}),
    "connector_off_everywhere": (connector_off_everywhere, {}),
    "policy_custom": (policy_custom, {}),
    "no_faults": (no_faults, {"endpoint": tuple(ENDPOINT_NAMES)}),
    "tdc_queue_empty": (tdc_queue_empty, {}),
    "failed_copy_arrived": (failed_copy_arrived, {"reason": str}),
    "intake_route_uses_dns": (intake_route_uses_dns, {}),
}
