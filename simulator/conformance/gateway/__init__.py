"""The gateway direction of the conformance kit: the product under test is a gateway, and the kit
plays its counterparts -- Threat Defense (the intake endpoint) and the next-hop mailbox host -- then
injects mail into the gateway's listeners and judges what arrives (BEHAVIOUR.md §1-§4).

Owns the vendor's `[gateway]` section (`section.py`) and the target built from it (`target.py`);
the counterparts (`counterparts.py`: our mock endpoints' handlers on the vendor's addresses, with a
certificate from the vendor's CA or a fresh one, served from `loop.py`'s thread); the SMTP injector
with its transcript (`injector.py`); the evidence and its waits (`evidence.py`); one scenario's state
(`check.py`) and the verdicts (`judge.py`); the driver protocol (`driver.py`) and our sandbox's
driver (`sandbox_driver.py`); the step definitions (`steps.py`) and the binding of
`features/gateway.feature` (`scenarios.py`).

May import: `simulator.conformance.outcomes` and `simulator.conformance.endpoint.target` (one
address parser), `simulator.admin` (the sandbox driver's client), `simulator.endpoints` (the
counterparts), `simulator.core`, `simulator.transport` and `simulator.defaults`; never the
composition root, the CLI or the testing package.
"""
