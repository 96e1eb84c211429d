"""Sockets shared by the gateway and the mock endpoints: aiosmtpd's SMTP protocol as every server
here speaks it (`smtp.py`: connection hooks, RFC 5321 addresses, named replies for exceptions),
the server runner (`server.py`: port 0, pause/resume), connection limits, and the sandbox's TLS
contexts (trustme, TLS 1.2 minimum).

May import: `simulator.core`.
"""
