"""The core of claude-orchestrator: sessions, their events and where they run.

At the top of the app, the core: `models`, `choices`, `validators`, `policies` (the PreToolUse
registry), `signals` (after-commit domain signals), `turns` (the seam the agent fills in),
`services` (every write), `ingest` (the one path of an event), `selectors` (reads),
`reconcile` and `admin`. Around it, packages by concern, each saying what it may import:
`agent/`, `hooks/`, `live/`, `workspaces/`, `web/` and `api/`. Nothing here imports a
feature app; features connect to `signals` and `policies` instead.
"""
