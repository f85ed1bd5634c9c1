"""Benchmarks for claude-orchestrator: `make bench` (`python -m bench`) measures and prints.

What is measured, against the real ASGI server started as a subprocess on loopback:

1. Hook ingestion throughput: PostToolUse events (shaped like Claude Code 2.1's hook JSON,
   a unique tool_use_id each) posted to `POST /api/hooks/` with the session's hook token by
   1, 8 and 32 concurrent senders, all on ONE shared attached session (the session row lock is
   the realistic worst case). Each sender is a thread with its own keep-alive
   `http.client` connection. Reported: events/s, p50/p99 latency, errors, the server's CPU
   (user+sys seconds per wall second, from /proc/<pid>/stat, summed over its process tree),
   its peak RSS (VmHWM), this process's CPU (the load generator) and the whole machine's.
2. PreToolUse decision latency: sequential PreToolUse posts on one connection, p50/p99.
3. Session start: a managed `local` session on a 10,000-file git repository created through
   the API, run in a server thread by the real Claude Code CLI against the scripted model;
   create -> first CommandLog visible through `GET /api/sessions/{id}/logs/`, with its parts
   (workspace preparation = started_at - created_at). Median of 3.

Backing services: PostgreSQL at postgres://postgres@127.0.0.1:5432/orchestrator_bench when it
answers (the database is created if missing), else SQLite in a temporary DATA_DIR (`--sqlite`
forces it); Redis at redis://127.0.0.1:6379/0 for the channel layer when it answers, else the
in-memory layer. Everything else (DATA_DIR, workspaces, the git repository) lives in a
temporary directory removed at the end.
"""
