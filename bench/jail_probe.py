"""The jail's own start cost, without the model or the workspace: the launcher starting
`claude --version` unjailed and jailed (bubblewrap, namespaces, the jail's init), alternated,
median of N each. Run by `bench.cli` as `python -m bench.jail_probe N` under the server's
environment; prints JSON."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(runs: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    django.setup()
    from sessions.agent.jail import sandbox

    launcher = str(sandbox.launcher_path())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("workspace", "state"):
            (folder / name).mkdir()
        spec = sandbox.JailSpec(
            workspace=folder / "workspace",
            state_dir=folder / "state",
            run_dir=folder / "run",
            forwards=(sandbox.Forward(3128, "egress.sock"),),
            env={"PATH": sandbox.JAIL_PATH},
        )
        modes = {"unjailed": sandbox.launch_spec(None, env={"PATH": sandbox.JAIL_PATH})}
        if sandbox.unavailable_reason() is None:
            modes["jailed"] = sandbox.launch_spec(spec)
        times: dict[str, list[float]] = {mode: [] for mode in modes}
        for _ in range(runs):
            for mode, launch in modes.items():
                env = {**os.environ, **sandbox.launch_environment(launch)}
                began = time.perf_counter()
                subprocess.run([launcher, "--version"], env=env, capture_output=True, check=True)
                times[mode].append((time.perf_counter() - began) * 1000)
    return {mode: statistics.median(values) for mode, values in times.items()}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)))
