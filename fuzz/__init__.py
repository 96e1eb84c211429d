"""`make fuzz`: seeded SMTP sessions against a `tdcsim sandbox` child (issue 9).

Owns the session generator (`words`, `content`, `sessions`: pure, seeded), the raw-socket client
(`wire`), the pass criteria (`judge`, `legit`), the child process (`child`), which session a log
line is about (`owners`), the run (`campaign`) and the command line (`run`, `report`). It imports
nothing from `simulator`: it sees the sandbox from outside, through its sockets, its files and its
stderr, as an operator would (`fixtures.processes` only starts the child).
"""
