"""Browser tests: Playwright driving the distribution's Chromium against the console (issue 12 point 4)."""
