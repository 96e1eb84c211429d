"""The installable pytest plugin and step library: what an outside acceptance suite gets from
`pip install tdc-simulator` (registered through the `pytest11` entry point `tdc_simulator`).

Owns the fixtures (`plugin.py`), the synchronous facade over a sandbox running in a background thread
(`harness.py`, `runner.py`), the seeded message factory, the test SMTP client, and the Gherkin step
definitions (`steps/`). Opt out with `pytest -p no:tdc_simulator`.

May import: everything, the composition root and the command line included (it drives what users drive).
"""
