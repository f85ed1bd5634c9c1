"""The pieces a template is made of: human durations, the merge of overrides, and filling a
prompt's variables."""

from __future__ import annotations

import pytest

from templates.durations import NotADuration, seconds
from templates.launch import deep_merge, fill


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 hours", 7200),
        ("90 minutes", 5400),
        ("1h30m", 5400),
        ("1 hour and 30 minutes", 5400),
        ("45s", 45),
        ("1 day", 86400),
        ("600", 600),
        (600, 600),
    ],
)
def test_human_durations_are_seconds(text, expected):
    assert seconds(text) == expected


@pytest.mark.parametrize(
    "text", ["soon", "2 fortnights", "", "h", "2 hours later", True, 1.5, "9" * 200]
)
def test_anything_else_is_not_a_duration(text):
    with pytest.raises(NotADuration):
        seconds(text)


def test_overrides_merge_objects_replace_values_and_null_removes():
    base = {"name": "a", "metadata": {"maxTurns": 5, "allowedTools": ["Read"], "model": "m"}}
    changes = {"metadata": {"maxTurns": 2, "allowedTools": ["Bash"], "model": None}, "x": 1}
    assert deep_merge(base, changes) == {
        "name": "a",
        "metadata": {"maxTurns": 2, "allowedTools": ["Bash"]},
        "x": 1,
    }
    assert base["metadata"]["maxTurns"] == 5  # the template's config is not changed


def test_only_declared_placeholders_are_filled():
    prompt = "Fix {repo}; keep {this} and function f() {return 1}; {repo} again"
    assert fill(prompt, {"repo": "acme/w"}) == (
        "Fix acme/w; keep {this} and function f() {return 1}; acme/w again"
    )
