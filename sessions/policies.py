"""The PreToolUse decision registry.

Feature apps register policies in their AppConfig.ready() (billing: budgets; tenants:
quotas). Claude Code waits for the answer, so a policy must be a few indexed reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: str = ""
    policy: str = ""


ALLOW = Decision(allow=True)

# A policy takes the session and the PreToolUse payload and returns a denial or None.
Policy = Callable[[object, dict], Decision | None]
_policies: dict[str, Policy] = {}


def register_policy(name: str, policy: Policy) -> None:
    _policies[name] = policy


def unregister_policy(name: str) -> None:
    _policies.pop(name, None)


def decide(session, payload: dict) -> Decision:
    """The first denial wins; no policy, or none objecting, means allow."""
    for name, policy in _policies.items():
        decision = policy(session, payload)
        if decision is not None and not decision.allow:
            return Decision(allow=False, reason=decision.reason, policy=name)
    return ALLOW
