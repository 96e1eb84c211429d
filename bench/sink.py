"""The baseline: a bare aiosmtpd server whose handler only answers 250, run as its own process.

Design rule: nothing but aiosmtpd's grammar and a constant reply, so the ratio sandbox/baseline
measures what the simulator adds over the SMTP library both are built on. It binds port 0 on
loopback, prints the port as its first stdout line, and runs until SIGTERM or SIGINT. With
`--certificates DIR` (`bench/tls.py`'s files) it offers STARTTLS with the certificate and server
context the mock Threat Defense is given in the `td_alone` phase.
Run: `python -m bench.sink [--host 127.0.0.1] [--certificates DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from bench import tls


class AcceptEverything:
    """aiosmtpd handler: every message gets `250 OK` and is thrown away."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


async def serve(host: str, context: ssl.SSLContext | None = None) -> None:
    """Listen on `host`, port 0, until a stop signal; STARTTLS offered with `context` if given."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    handler = AcceptEverything()

    def protocol() -> SMTP:
        return SMTP(handler, hostname="sink.bench.test", tls_context=context)

    server = await loop.create_server(protocol, host, 0)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        await stop.wait()
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--certificates", type=Path, metavar="DIR",
                        help="offer STARTTLS with the certificate in DIR (bench/tls.py)")
    options = parser.parse_args()
    asyncio.run(serve(options.host, tls.server(options.certificates) if options.certificates else None))


if __name__ == "__main__":
    main()
