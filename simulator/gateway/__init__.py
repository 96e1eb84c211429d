"""One simulated gateway machine's I/O shell: listeners, the pipeline that stores and queues what the
core planned, the destination queues and their outbound SMTP client, the durable spool, the
quarantines and the mail-log writer; `machine.py` wires one machine together.

May import: `simulator.core`, `simulator.transport`, `simulator.defaults`. Not the endpoints.
"""
