"""The training console (issue 12, BEHAVIOUR.md §11): a server-rendered web console (aiohttp and
Jinja2, its own CSS, nothing fetched from elsewhere) with the vendor's menu names, a login, sessions
and CSRF protection.

Owns: the console's pages, their templates and static files, its sessions (the one state it keeps:
every change goes through the admin actions and the Submit/Commit store, as the API's and the CLI's).
May import: `simulator.admin` (the actions, the views and the `RunningSandbox` protocol) and the rooms
below it. Never the sandbox or the command line: the sandbox (`simulator.sandbox`) starts and stops
`ConsoleServer`, which builds the pages (`app.py`) when its first client connects.
"""
