"""Step definitions for the Gherkin features, grouped by concept; loaded by the root conftest."""
