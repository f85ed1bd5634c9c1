"""The agent's jail: where a managed turn's Claude Code runs and what it can reach.

`sandbox` decides whether a turn is jailed (AGENT_SANDBOX) and builds bubblewrap's arguments
from a typed description; `egress` serves, outside the jail, the only connections the agent
may open (the model endpoint and an allow-listed proxy). `launch` (run by the SDK in place of
the CLI) and `init` (the jail's first process) are standalone scripts, standard library only.
"""

# Where the jail mounts the session's workspace: the path its agent (and so every tool input)
# sees. Here, not in `sandbox`, so the dashboard can name it without loading the SDK.
JAIL_WORKSPACE = "/workspace"
