"""What a provider's handler makes of a delivery: a Trigger for the pull request's session, or
an Ignored saying why nothing is done. Both are small and JSON-ready (a Trigger is stored on
its delivery, so a redelivery needs nothing else)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .choices import TriggerKind

TEXT_MAX = 4000  # characters of a comment or title carried into a message


@dataclass(frozen=True)
class Trigger:
    kind: str  # TriggerKind
    number: int  # the PR number or the MR's iid
    title: str = ""
    branch: str = ""
    job_name: str = ""
    log_url: str = ""
    comment: str = ""
    author: str = ""
    url: str = ""
    variables: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Trigger:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)

    def template_variables(self, repository: str) -> dict:
        """Every value a template may ask for; the launch keeps those it declares."""
        values = {
            "repo": repository,
            "branch": self.branch,
            "pr_number": self.number,
            "pr_title": self.title,
            "job_name": self.job_name,
            "log_url": self.log_url,
        }
        return {key: value for key, value in values.items() if value not in ("", None)}

    def follow_up(self) -> str:
        """The message a later event on the same PR sends to its session."""
        if self.kind == TriggerKind.CI_FAILURE:
            return (
                f"CI failed on {self.branch}: {self.job_name or 'a job'} "
                f"({self.log_url or 'no log link'}). Find the cause and fix it."
            )
        if self.kind == TriggerKind.MENTION:
            return f"{self.author or 'Someone'} commented on #{self.number}:\n\n{self.comment}"
        return f"New commits were pushed to #{self.number} ({self.branch}). Review the changes."


@dataclass(frozen=True)
class Ignored:
    reason: str


def text(value: object, limit: int = TEXT_MAX) -> str:
    return value[:limit] if isinstance(value, str) else ""


def number(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53:
        return value
    return 0


def mentions(body: str, handle: str) -> bool:
    """Whether `body` mentions `handle` as a word (`@claude`, not `@claudette`)."""
    if not handle:
        return False
    lowered, handle = body.lower(), handle.lower()
    start = lowered.find(handle)
    while start != -1:
        end = start + len(handle)
        before_ok = start == 0 or not (lowered[start - 1].isalnum() or lowered[start - 1] in "@_-")
        after_ok = end == len(lowered) or not (lowered[end].isalnum() or lowered[end] in "_-")
        if before_ok and after_ok:
            return True
        start = lowered.find(handle, end)
    return False
