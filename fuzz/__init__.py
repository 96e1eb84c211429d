"""`make fuzz`: seeded SMTP sessions against a `tdcsim sandbox` child (issue 9).

Owns the session generator (`words`, `content`, `sessions`: pure, seeded), the raw-socket client
(`wire`), the pass criteria (`judge`, `legit`), the child process (`child`) and the command line
(`run`, `report`). Imports the simulator only for nothing: it sees the sandbox from outside, through
its sockets, its files and its stderr, like any client would.
"""
