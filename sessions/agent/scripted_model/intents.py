"""What the scripted demo model does with a prompt: a small, fixed rule set.

A prompt is cut into clauses ("explain main.py, create test_main.py, then run the
tests"); a clause whose first verb names an intent is acted on, in order, with real
tool calls. Each intent is a plan: a pure function of its clause and of the tool
results it has seen so far, returning the next step in the scenario step format
(``{"text", "tool", "input"}``) or, with no tool, its final sentence. Being pure, a
plan replays identically on every request of a turn: the server keeps no state.

No clause recognized, or fewer than half of them: :func:`plan_step` returns None and the
server plays a scenario.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

Step = dict[str, Any]

# A path as people type it: ``hello.py``, ``src/app.js``, ``Makefile``, optionally quoted.
PATH = r"[`'\"]?(?P<path>[\w./-]*\w\.\w+|[\w./-]*(?:Makefile|Dockerfile|LICENSE))[`'\"]?"
POLITE = r"\s*(?:(?:please|can you|could you|now|and|then|also)\b[\s,]*)*"
# Clauses split at commas, semicolons, "then" and line breaks, never inside quotes.
QUOTED = r"(?<!\w)(?:'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`)(?!\w)"
SEPARATOR = r",\s*(?:and\s+)?(?:then\s+)?|;\s*|\s+(?:and\s+)?then\s+|\.\s+(?=[A-Z])|\n+"
CLAUSE_PARTS = re.compile(f"({QUOTED})|{SEPARATOR}")

BASH_LIST_FILES = r"find . -path ./.git -prune -o -type f -print | sed 's|^\./||' | sort"
# The project's own test runner when it has one, else Python's.
BASH_RUN_TESTS = (
    "if [ -f package.json ]; then npm test; "
    "elif [ -f Makefile ] && grep -q '^test:' Makefile; then make test; "
    "elif python3 -c 'import pytest' 2>/dev/null; then python3 -m pytest -q; "
    "else python3 -m unittest discover -v; fi"
)
LISTED_NAMES = 20
DEFAULT_NOTE = "Edited by the scripted demo model"


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool


@dataclass(frozen=True)
class Turn:
    """What a plan may look at: its clause's results so far and the tools on offer."""

    results: tuple[ToolResult, ...]
    tools: frozenset[str]
    cwd: str | None


Plan = Callable[[re.Match[str], Turn], Step]


@dataclass(frozen=True)
class Intent:
    name: str
    pattern: re.Pattern[str]
    plan: Plan
    example: str


# --------------------------------------------------------------------------
# Reading prompts and results
# --------------------------------------------------------------------------


def clauses(prompt: str) -> list[str]:
    """The prompt cut at its separators; quoted text stays whole."""
    parts, start = [], 0
    for match in CLAUSE_PARTS.finditer(prompt):
        if match.group(1):
            continue
        parts.append(prompt[start : match.start()])
        start = match.end()
    parts.append(prompt[start:])
    return [part.strip(" .") for part in parts if part.strip(" .")]


def unquote(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return text[1:-1]
    return text


def outside_workspace(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return path.startswith(("/", "~")) or ".." in parts


def file_text(read_output: str) -> str:
    """The file as Claude Code's Read showed it: ``N<tab>line`` rows, reminders dropped."""
    shown = re.sub(r"<system-reminder>.*?</system-reminder>", "", read_output, flags=re.S)
    lines = re.findall(r"^\s*\d+(?:\t|\u2192)(.*)$", shown, flags=re.M)
    return "\n".join(lines)


def output_lines(result: ToolResult) -> list[str]:
    lines = [line for line in result.text.splitlines() if line.strip()]
    if result.is_error and lines and lines[0].startswith("Exit code"):
        lines = lines[1:]
    return lines


def relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1 :]
    return path


def _error(result: ToolResult) -> str:
    text = re.sub(r"</?tool_use_error>", "", result.text).strip()
    return text.splitlines()[0] if text else "no reason given"


def _outside(path: str) -> Step:
    return {"text": f"I only work on files inside the workspace; {path} is outside it."}


# --------------------------------------------------------------------------
# Create a file
# --------------------------------------------------------------------------

COMMENT = {".py": "#", ".sh": "#", ".rb": "#", ".yml": "#", ".yaml": "#", ".toml": "#"}
COMMENT |= {".js": "//", ".ts": "//", ".go": "//", ".rs": "//", ".c": "//", ".java": "//"}
RUNNERS = {".py": "python3", ".sh": "sh", ".js": "node"}
NOT_READ = re.compile(r"has not been read|read it first", re.I)


def _print_statement(suffix: str, text: str) -> str:
    """One line that prints ``text`` in the file's language (JSON quoting suits py and js)."""
    statements = {
        ".py": f"print({json.dumps(text)})",
        ".js": f"console.log({json.dumps(text)});",
        ".ts": f"console.log({json.dumps(text)});",
        ".sh": f"echo {shlex.quote(text)}",
        ".rb": f"puts {json.dumps(text)}",
    }
    return statements.get(suffix, text) + "\n"


def starter_content(path: str) -> str:
    """A small sensible file for the extension when the prompt names no content."""
    name, suffix = PurePosixPath(path).stem, PurePosixPath(path).suffix.lower()
    if suffix == ".py" and name.startswith("test_"):
        subject = name.removeprefix("test_").title().replace("_", "")
        return (
            "import unittest\n\n\n"
            f"class {subject}Test(unittest.TestCase):\n"
            "    def test_arithmetic_still_works(self):\n"
            "        self.assertEqual(1 + 1, 2)\n\n\n"
            'if __name__ == "__main__":\n    unittest.main()\n'
        )
    starters = {
        ".py": f'"""{name}."""\n\n\ndef main():\n    print("Hello from {name}")\n\n\n'
        'if __name__ == "__main__":\n    main()\n',
        ".md": f"# {name}\n\nWritten by the scripted demo model.\n",
        ".sh": f'#!/bin/sh\nset -eu\necho "Hello from {name}"\n',
        ".js": f'console.log("Hello from {name}");\n',
        ".json": json.dumps({"name": name}, indent=2) + "\n",
        ".html": f"<!doctype html>\n<title>{name}</title>\n<h1>{name}</h1>\n",
        ".css": "body {\n  font-family: sans-serif;\n}\n",
        ".yml": f"name: {name}\n",
        ".yaml": f"name: {name}\n",
        ".toml": f'name = "{name}"\n',
    }
    return starters.get(suffix, f"{name}: written by the scripted demo model.\n")


def requested_content(path: str, rest: str) -> tuple[str, bool]:
    """The content the clause asks for, and whether it is a program meant to print."""
    suffix = PurePosixPath(path).suffix.lower()
    prints = re.search(r"\bprints?\s+(?P<text>.+)", rest, re.I | re.S)
    if prints:
        return _print_statement(suffix, unquote(prints["text"])), suffix in RUNNERS
    says = re.search(
        r"\b(?:containing|that says|saying|with(?: the)? (?:content|text))\s+(?P<text>.+)",
        rest,
        re.I | re.S,
    )
    if says:
        return unquote(says["text"]) + "\n", False
    return starter_content(path), False


def plan_create(match: re.Match[str], turn: Turn) -> Step:
    path = match["path"]
    if outside_workspace(path):
        return _outside(path)
    content, runnable = requested_content(path, match["rest"])
    write = {"file_path": path, "content": content}
    results = list(turn.results)
    if results and results[0].is_error and NOT_READ.search(results[0].text):
        # Claude Code writes over a file only once it has read it: read, then write again.
        if len(results) == 1:
            note = f"{path} exists; reading it before writing over it."
            return {"text": note, "tool": "Read", "input": {"file_path": path}}
        if len(results) == 2:
            return {"text": f"Writing {path} again.", "tool": "Write", "input": write}
        results = results[2:]
    if not results:
        return {"text": f"I'll create {path}.", "tool": "Write", "input": write}
    if results[0].is_error:
        return {"text": f"I could not create {path}: {_error(results[0])}"}
    lines = content.count("\n")
    verb = "Replaced" if re.search(r"\bupdated\b", results[0].text) else "Created"
    created = f"{verb} {path} ({lines} line{'s' if lines != 1 else ''})."
    if not runnable:
        return {"text": created}
    if len(results) == 1:
        command = f"{RUNNERS[PurePosixPath(path).suffix.lower()]} {shlex.quote(path)}"
        return {
            "text": f"Running {path}.",
            "tool": "Bash",
            "input": {"command": command, "description": f"Run {path}"},
        }
    shown = " / ".join(output_lines(results[1])[-3:]) or "nothing"
    if results[1].is_error:
        return {"text": f"{created} Running it failed ({shown})."}
    return {"text": f'{created} Running it prints "{shown}".'}


# --------------------------------------------------------------------------
# Edit a file
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What an edit clause asks: replace ``old`` by ``new``, or append the line ``new``."""

    new: str
    old: str | None = None


def requested_change(path: str, rest: str, line: str | None) -> Change:
    if line:
        return Change(new=unquote(line))
    replace = re.search(
        r"\b(?:replac\w*|chang\w*|renam\w*)\s+(?P<old>.+?)\s+(?:with|by|to|into)\s+(?P<new>.+)",
        rest,
        re.I | re.S,
    )
    if replace:
        return Change(old=unquote(replace["old"]), new=unquote(replace["new"]))
    added = re.search(
        r"\b(?:add|append|say|says|mention)\s+(?:a\s+line\s+(?:saying\s+)?)?(?P<new>.+)",
        rest,
        re.I | re.S,
    )
    if added:
        return Change(new=unquote(added["new"]))
    asked = unquote(re.sub(r"^\s*(?:to|so that|so)\s+", "", rest, flags=re.I))
    note = f"{DEFAULT_NOTE}: {asked}." if asked else f"{DEFAULT_NOTE}."
    comment = COMMENT.get(PurePosixPath(path).suffix.lower())
    return Change(new=f"{comment} {note}" if comment else note)


def unique_tail(text: str) -> str:
    """The shortest run of last lines found once in the file: Edit's old_string must be."""
    lines = text.rstrip("\n").split("\n")
    for count in range(1, len(lines) + 1):
        tail = "\n".join(lines[-count:])
        if tail.strip() and text.count(tail) == 1:
            return tail
    return text.rstrip("\n")


def _edit_step(path: str, change: Change, text: str) -> Step:
    if change.old is None:
        if not text.strip():
            return _write(path, change.new + "\n", f"{path} is empty; writing the line.")
        tail = unique_tail(text)
        edit = {"file_path": path, "old_string": tail, "new_string": f"{tail}\n{change.new}"}
        return {"text": f"Appending a line to {path}.", "tool": "Edit", "input": edit}
    if change.old not in text:
        return {"text": f"I found no '{change.old}' in {path}, so I left it unchanged."}
    edit = {"file_path": path, "old_string": change.old, "new_string": change.new}
    if text.count(change.old) > 1:
        edit["replace_all"] = True
    return {"text": f"Replacing '{change.old}' in {path}.", "tool": "Edit", "input": edit}


def _write(path: str, content: str, note: str) -> Step:
    return {"text": note, "tool": "Write", "input": {"file_path": path, "content": content}}


def _edit_summary(path: str, change: Change, text: str) -> str:
    if change.old is None:
        return f"Edited {path}: appended the line '{change.new}'."
    times = text.count(change.old)
    places = f"{times} place{'s' if times != 1 else ''}"
    return f"Edited {path}: replaced '{change.old}' with '{change.new}' in {places}."


def plan_edit(match: re.Match[str], turn: Turn) -> Step:
    path = match["path"]
    if outside_workspace(path):
        return _outside(path)
    change = requested_change(path, match["rest"] or "", match.groupdict().get("line"))
    if not turn.results:
        return {"text": f"I'll read {path} first.", "tool": "Read", "input": {"file_path": path}}
    read = turn.results[0]
    if len(turn.results) == 1:
        if not read.is_error:
            return _edit_step(path, change, file_text(read.text))
        if change.old is not None:
            return {"text": f"I could not read {path}: {_error(read)}"}
        return _write(path, change.new + "\n", f"{path} does not exist yet; creating it.")
    edited = turn.results[1]
    if edited.is_error:
        return {"text": f"I could not edit {path}: {_error(edited)}"}
    if read.is_error:
        return {"text": f"Created {path} with the line '{change.new}'."}
    return {"text": _edit_summary(path, change, file_text(read.text))}


# --------------------------------------------------------------------------
# Run the tests, list the files, explain a file
# --------------------------------------------------------------------------


def plan_run_tests(match: re.Match[str], turn: Turn) -> Step:
    if not turn.results:
        return {
            "text": "Running the project's tests.",
            "tool": "Bash",
            "input": {"command": BASH_RUN_TESTS, "description": "Run the project's tests"},
        }
    ran = turn.results[0]
    summary = " / ".join(output_lines(ran)[-2:]) or "no output"
    if ran.is_error:
        return {"text": f"The tests failed ({summary})."}
    return {"text": f"The tests passed ({summary})."}


def plan_list_files(match: re.Match[str], turn: Turn) -> Step:
    if not turn.results:
        if "Glob" in turn.tools:
            return {"text": "Listing the files.", "tool": "Glob", "input": {"pattern": "**/*"}}
        return {
            "text": "Listing the files.",
            "tool": "Bash",
            "input": {"command": BASH_LIST_FILES, "description": "List the workspace's files"},
        }
    listed = turn.results[0]
    if listed.is_error:
        return {"text": f"I could not list the files: {_error(listed)}"}
    names = [relative(line.strip(), turn.cwd) for line in output_lines(listed)]
    names = [name for name in names if name and name != "No files found"]
    if not names:
        return {"text": "The workspace has no files."}
    shown = ", ".join(names[:LISTED_NAMES])
    more = f" and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else ""
    return {"text": f"The workspace has {len(names)} file(s): {shown}{more}."}


LANGUAGES = {
    ".py": "Python",
    ".js": "JavaScript",
    ".ts": "TypeScript",
    ".md": "Markdown",
    ".sh": "shell",
    ".json": "JSON",
    ".html": "HTML",
    ".css": "CSS",
    ".toml": "TOML",
    ".yml": "YAML",
    ".yaml": "YAML",
    ".txt": "text",
}
# What a file defines, per language: (kind, pattern capturing the name).
DEFINITIONS = {
    ".py": [("class", r"^\s*class\s+(\w+)"), ("function", r"^\s*(?:async\s+)?def\s+(\w+)")],
    ".js": [("class", r"^\s*class\s+(\w+)"), ("function", r"^\s*(?:export\s+)?function\s+(\w+)")],
    ".ts": [("class", r"^\s*class\s+(\w+)"), ("function", r"^\s*(?:export\s+)?function\s+(\w+)")],
    ".sh": [("function", r"^\s*(\w+)\s*\(\)\s*\{")],
    ".md": [("section", r"^#+\s+(.+)$")],
}


def _named(kind: str, names: list[str]) -> str:
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"{len(names)} {kind}{'s' if len(names) != 1 else ''} ({shown})"


def describe(path: str, text: str) -> str:
    """A factual summary: language, size, and what the file defines."""
    suffix = PurePosixPath(path).suffix.lower()
    language = LANGUAGES.get(suffix) or (suffix.lstrip(".").upper() if suffix else "plain")
    lines = len(text.splitlines())
    found = [
        _named(kind, re.findall(pattern, text, re.M))
        for kind, pattern in DEFINITIONS.get(suffix, [])
        if re.search(pattern, text, re.M)
    ]
    summary = f"{path} is {'an' if language[0] in 'AEIOU' else 'a'} {language} file of {lines} "
    summary += f"line{'s' if lines != 1 else ''}"
    if found:
        return f"{summary}. It defines {' and '.join(found)}."
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{summary}; it begins with: {first[:120]}" if first else f"{summary}; it is empty."


def plan_explain(match: re.Match[str], turn: Turn) -> Step:
    path = match["path"]
    if outside_workspace(path):
        return _outside(path)
    if not turn.results:
        return {"text": f"Reading {path}.", "tool": "Read", "input": {"file_path": path}}
    read = turn.results[0]
    if read.is_error:
        return {"text": f"I could not read {path}: {_error(read)}"}
    return {"text": describe(path, file_text(read.text))}


# --------------------------------------------------------------------------
# The rule set
# --------------------------------------------------------------------------


def _rule(verbs: str, tail: str = "") -> re.Pattern[str]:
    return re.compile(f"^{POLITE}(?:{verbs}){tail}", re.I | re.S)


ARTICLE = r"\s+(?:an?\s+|the\s+)?(?:new\s+)?(?:file\s+)?(?:called\s+|named\s+)?"
INTENTS: tuple[Intent, ...] = (
    Intent(
        "create",
        _rule(r"create|write|make|add|touch", f"{ARTICLE}{PATH}(?P<rest>.*)$"),
        plan_create,
        "create hello.py that prints hi",
    ),
    Intent(
        "append",
        _rule(r"add|append", rf"\s+(?:a\s+line\s+)?(?P<line>.+?)\s+to\s+{PATH}(?P<rest>)\s*$"),
        plan_edit,
        "add a line 'Tested nightly.' to README.md",
    ),
    Intent(
        "edit",
        _rule(r"edit|change|update|modify|fix|append\s+to", f"{ARTICLE}{PATH}(?P<rest>.*)$"),
        plan_edit,
        "edit README.md to replace widgets with gadgets",
    ),
    Intent(
        "run_tests",
        _rule(r"run|execute", r"\s+(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:unit\s+)?tests?\b"),
        plan_run_tests,
        "run the tests",
    ),
    Intent(
        "list_files",
        _rule(r"list|show|find", r"\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?files\b"),
        plan_list_files,
        "list the files",
    ),
    Intent(
        "explain",
        _rule(
            r"explain|describe|summari[sz]e|read|what\s+(?:does|is\s+in)",
            f"{ARTICLE}{PATH}",
        ),
        plan_explain,
        "explain main.py",
    ),
)


def recognize(clause: str) -> tuple[Intent, re.Match[str]] | None:
    """The first intent whose rule matches the clause's opening verb."""
    for intent in INTENTS:
        match = intent.pattern.match(clause)
        if match:
            return intent, match
    return None


def plan_step(
    prompt: str, results: list[ToolResult], tools: frozenset[str], cwd: str | None
) -> Step | None:
    """The next step for the prompt given the turn's results so far; None: play a scenario.

    Each recognized clause's plan is replayed over the results it consumed; the first
    one still wanting a tool call gives the step. When all are done the final text joins
    their sentences, and names the clauses the rules did not understand.
    """
    recognized, ignored = [], []
    for clause in clauses(prompt):
        found = recognize(clause)
        if found:
            recognized.append(found)
        else:
            ignored.append(clause)
    # A prompt mostly beyond the rules (a template's numbered instructions, say) is not
    # one to act on clause by clause: it plays a scenario, like a prompt with no intent.
    if not recognized or len(recognized) < len(ignored):
        return None
    sentences, used = [], 0
    for intent, match in recognized:
        seen = 0
        step = intent.plan(match, Turn(tuple(results[used : used + seen]), tools, cwd))
        while "tool" in step and used + seen < len(results):
            seen += 1
            step = intent.plan(match, Turn(tuple(results[used : used + seen]), tools, cwd))
        if "tool" in step:
            return step
        sentences.append(_sentence(step["text"]))
        used += seen
    if ignored:
        sentences.append(not_understood(ignored))
    return {"text": " ".join(sentences)}


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def not_understood(ignored: list[str]) -> str:
    quoted = "; ".join(f"'{clause}'" for clause in ignored)
    return (
        f"I skipped {quoted}: the scripted demo model only knows how to "
        + ", ".join(intent.example for intent in INTENTS)
        + "."
    )
