"""The admin surface: operator actions on the Submit/Commit store, monitoring views, the HTTP API
(aiohttp), its OpenAPI description, and the small client the command line uses.

May import: `simulator.core`, `simulator.endpoints.faults` (fault syntax), `simulator.gateway.rolled`
(reading the mail log's files, rolled ones too). Never the running parts:
the API works on a `RunningSandbox` (`operated.py`), which the composition root implements.
`client.py` imports only the standard library, so the command line starts fast.
"""
