"""Sockets shared by the gateway and the mock endpoints: the SMTP server runner around aiosmtpd
(port 0, pause/resume, connection hooks) and the sandbox's TLS contexts (trustme, TLS 1.2 minimum).

May import: `simulator.core`.
"""
