"""A session's files on disk: preparing (clone or copy), measuring and removing workspaces,
and the path checks that keep every path inside its root.

A leaf: imports settings, the core's `choices` and tenants' `validators` only; the core's
validators and services call it.
"""
