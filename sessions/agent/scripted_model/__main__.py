"""Allow ``python -m sessions.agent.scripted_model``."""

from __future__ import annotations

from .server import main

if __name__ == "__main__":
    main()
