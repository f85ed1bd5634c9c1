"""A session's files on disk: preparing (clone or copy), measuring and removing workspaces,
and the path checks that keep every path inside its root.

A leaf: imports settings and the core's `choices` and `validators` only; services call it.
"""
