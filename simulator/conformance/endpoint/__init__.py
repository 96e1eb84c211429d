"""The endpoint direction of the conformance kit: the product under test is an intake endpoint, and
the kit plays our gateway's Threat Defense Connector towards it (BEHAVIOUR.md §8).

Owns the vendor's `[endpoint]` section and the target built from it (`target.py`); the evidence:
transcripts (`transcript.py`), the protocol probes (`smtp_probe.py`, `tls_versions.py`, `probes.py`)
and the connector's journals, sent with the gateway's own outbound session (`journals.py`,
`wire.py`, `connector.py`); the step definitions that judge it (`steps.py`) and the binding of
`features/endpoint.feature` (`scenarios.py`).

May import: `simulator.conformance.outcomes`, `simulator.gateway` (the outbound session),
`simulator.core` (journals, configuration defaults, errors), `simulator.transport` (TLS) and
`simulator.defaults`; never the composition root, the CLI or the testing package.
"""
