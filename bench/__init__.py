"""`make bench`: throughput against a bare SMTP sink, journal latency, soak memory (issue 5)."""
