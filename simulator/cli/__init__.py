"""`tdcsim`, the command line: run the sandbox, track a message, and the operator's commands (which
talk to a running sandbox through the admin API's client).

May import: everything below it. The sandbox and its servers load only for `tdcsim sandbox`.
"""
