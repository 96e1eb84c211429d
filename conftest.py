"""Root conftest. The fixtures and the step library come from the installed plugin (`pytest11` entry
point `tdc_simulator` -> `simulator.testing.plugin`), exactly as an outside suite gets them; step
definitions are never written in test_*.py."""
