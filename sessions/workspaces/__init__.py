"""A session's files on disk: the sources a session may start from and how git fetches them,
preparing, measuring and removing workspaces, each session's Claude state folder, and the
path checks that keep every path inside its root.

Below the services, which call it: imports settings, the core's `choices` and `tenants`'
validators only.
"""
