"""The scripted demo model answers to the prompt: its intent rules, over HTTP, and through
the real Claude Code CLI acting on real files. No Django."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessions.agent.scripted_model import intents
from sessions.agent.scripted_model.intents import ToolResult, clauses, plan_step, recognize
from sessions.agent.scripted_model.server import (
    PREFIX,
    ScriptedModelServer,
    load_scenario,
    scenario_names,
)
from sessions.management.commands.bootstrap_demo import DEMO_PROMPT
from tests.sessions.agent.test_scripted_model import _post, _request, _run

README = Path(__file__).resolve().parents[3] / "README.md"
NO_TOOLS: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as running:
        yield running


def ok(text: str) -> ToolResult:
    return ToolResult(text, is_error=False)


def failed(text: str) -> ToolResult:
    return ToolResult(text, is_error=True)


# --------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "intent", "path"),
    [
        ("create hello.py that prints hi", "create", "hello.py"),
        ("Please write a new file called `src/app.js`", "create", "src/app.js"),
        ("edit README.md to replace widgets with gadgets", "edit", "README.md"),
        ("Could you update notes.txt", "edit", "notes.txt"),
        ("add a line 'Tested, nightly.' to README.md", "append", "README.md"),
        ("run the tests", "run_tests", None),
        ("Run all the unit tests", "run_tests", None),
        ("list the files", "list_files", None),
        ("show me all files", "list_files", None),
        ("explain main.py", "explain", "main.py"),
        ("what does Makefile do?", "explain", "Makefile"),
    ],
)
def test_the_opening_verb_picks_the_intent(prompt: str, intent: str, path: str | None) -> None:
    found = recognize(prompt)
    assert found is not None
    assert found[0].name == intent
    assert found[1].groupdict().get("path") == path


@pytest.mark.parametrize(
    "prompt",
    [
        "Look around the project and leave some notes.",
        "Show me what you can do",
        "Make a result file",
        "Fix the failing test",
        "hurry",
        "Again, please.",
        "",
    ],
)
def test_prompts_without_an_intent_plan_nothing(prompt: str) -> None:
    assert plan_step(prompt, [], NO_TOOLS, "/w") is None


def test_clauses_split_at_commas_and_then_but_never_inside_quotes() -> None:
    prompt = "Explain a.py, create b.py; run the tests, then add a line 'x, then y.' to c.md"
    assert clauses(prompt) == [
        "Explain a.py",
        "create b.py",
        "run the tests",
        "add a line 'x, then y.' to c.md",
    ]


def test_create_writes_what_the_prompt_says_and_runs_a_program_that_prints() -> None:
    prompt = "create hello.py that prints hi"
    write = plan_step(prompt, [], NO_TOOLS, "/w")
    assert write == {
        "text": "I'll create hello.py.",
        "tool": "Write",
        "input": {"file_path": "hello.py", "content": 'print("hi")\n'},
    }
    run = plan_step(prompt, [ok("File created")], NO_TOOLS, "/w")
    assert run and run["tool"] == "Bash" and run["input"]["command"] == "python3 hello.py"
    done = plan_step(prompt, [ok("File created"), ok("hi")], NO_TOOLS, "/w")
    assert done == {"text": 'Created hello.py (1 line). Running it prints "hi".'}


def test_create_refused_for_an_unread_file_reads_it_then_writes_again() -> None:
    prompt = "create notes.txt containing hi"
    refused = failed("<tool_use_error>File has not been read yet. Read it first.</tool_use_error>")
    read = plan_step(prompt, [refused], NO_TOOLS, "/w")
    assert read and read["tool"] == "Read" and read["input"] == {"file_path": "notes.txt"}
    again = plan_step(prompt, [refused, ok("1\told\n")], NO_TOOLS, "/w")
    assert again and again["tool"] == "Write" and again["input"]["content"] == "hi\n"
    updated = ok("The file /w/notes.txt has been updated successfully.")
    done = plan_step(prompt, [refused, ok("1\told\n"), updated], NO_TOOLS, "/w")
    assert done == {"text": "Replaced notes.txt (1 line)."}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("test_widgets.py", "class WidgetsTest(unittest.TestCase)"),
        ("tool.py", 'print("Hello from tool")'),
        ("NOTES.md", "# NOTES"),
        ("run.sh", "#!/bin/sh"),
        ("data.json", '"name": "data"'),
    ],
)
def test_create_with_no_content_named_writes_a_starter_for_the_extension(
    path: str, expected: str
) -> None:
    step = plan_step(f"create {path}", [], NO_TOOLS, "/w")
    assert step and step["tool"] == "Write" and expected in step["input"]["content"]


def test_create_containing_writes_that_text_and_does_not_run_it() -> None:
    prompt = "create notes.txt containing 'buy milk'"
    step = plan_step(prompt, [], NO_TOOLS, "/w")
    assert step and step["input"]["content"] == "buy milk\n"
    assert plan_step(prompt, [ok("created")], NO_TOOLS, "/w") == {
        "text": "Created notes.txt (1 line)."
    }


READ_README = ok("1\t# widgets\n2\t\n3\tA demo project for widgets.\n4\t")


def test_edit_reads_then_replaces_a_word_that_is_in_the_file() -> None:
    prompt = "edit README.md to replace widgets with gadgets"
    assert plan_step(prompt, [], NO_TOOLS, "/w") == {
        "text": "I'll read README.md first.",
        "tool": "Read",
        "input": {"file_path": "README.md"},
    }
    edit = plan_step(prompt, [READ_README], NO_TOOLS, "/w")
    assert edit and edit["tool"] == "Edit"
    assert edit["input"] == {
        "file_path": "README.md",
        "old_string": "widgets",
        "new_string": "gadgets",
        "replace_all": True,
    }
    done = plan_step(prompt, [READ_README, ok("updated")], NO_TOOLS, "/w")
    assert done == {"text": "Edited README.md: replaced 'widgets' with 'gadgets' in 2 places."}


def test_edit_of_a_word_not_in_the_file_changes_nothing() -> None:
    prompt = "edit README.md to replace sprockets with gadgets"
    step = plan_step(prompt, [READ_README], NO_TOOLS, "/w")
    assert step == {"text": "I found no 'sprockets' in README.md, so I left it unchanged."}


def test_append_anchors_at_a_tail_found_once_in_the_file() -> None:
    read = ok("1\tx = 1\n2\tend\n3\tx = 2\n4\tend\n5\t")
    step = plan_step("add a line 'done' to a.py", [read], NO_TOOLS, "/w")
    assert step and step["tool"] == "Edit"
    assert step["input"]["old_string"] == "x = 2\nend"
    assert step["input"]["new_string"] == "x = 2\nend\ndone"


def test_append_to_a_missing_file_creates_it() -> None:
    prompt = "add a line 'hello' to new.md"
    missing = failed("File does not exist. Note: your current working directory is /w.")
    step = plan_step(prompt, [missing], NO_TOOLS, "/w")
    assert step and step["tool"] == "Write" and step["input"]["content"] == "hello\n"
    done = plan_step(prompt, [missing, ok("created")], NO_TOOLS, "/w")
    assert done == {"text": "Created new.md with the line 'hello'."}


def test_an_edit_with_no_instruction_appends_a_note_in_the_files_comment_syntax() -> None:
    step = plan_step("edit app.py to tidy it", [ok("1\tprint(1)\n2\t")], NO_TOOLS, "/w")
    assert step and step["input"]["new_string"].endswith(
        "# Edited by the scripted demo model: tidy it."
    )


@pytest.mark.parametrize("path", ["../secret.py", "/etc/passwd.txt", "a/../../b.md"])
def test_paths_outside_the_workspace_are_refused_without_a_tool_call(path: str) -> None:
    for prompt in (f"create {path}", f"edit {path}", f"explain {path}"):
        step = plan_step(prompt, [], NO_TOOLS, "/w")
        assert step == {"text": f"I only work on files inside the workspace; {path} is outside it."}


def test_run_tests_reports_passed_or_failed_from_the_exit_status() -> None:
    assert plan_step("run the tests", [], NO_TOOLS, "/w")["tool"] == "Bash"
    passed = ok("test_a (t.T) ... ok\n\nRan 1 test in 0.001s\n\nOK")
    assert plan_step("run the tests", [passed], NO_TOOLS, "/w") == {
        "text": "The tests passed (Ran 1 test in 0.001s / OK)."
    }
    broken = failed("Exit code 1\nFAIL: test_a\nRan 1 test in 0.001s\nFAILED (failures=1)")
    assert plan_step("run the tests", [broken], NO_TOOLS, "/w") == {
        "text": "The tests failed (Ran 1 test in 0.001s / FAILED (failures=1))."
    }


def test_list_files_uses_glob_when_offered_else_bash() -> None:
    assert plan_step("list the files", [], frozenset({"Glob", "Bash"}), "/w")["tool"] == "Glob"
    assert plan_step("list the files", [], frozenset({"Bash"}), "/w")["tool"] == "Bash"
    globbed = ok("/w/a.py\n/w/docs/b.md")
    assert plan_step("list the files", [globbed], NO_TOOLS, "/w") == {
        "text": "The workspace has 2 file(s): a.py, docs/b.md."
    }


def test_explain_summarises_what_the_file_defines() -> None:
    source = ["import os", "", "class Widget:", "    pass", "", "def make():", "    pass"]
    read = ok("".join(f"{number}\t{line}\n" for number, line in enumerate(source, 1)))
    assert plan_step("explain main.py", [read], NO_TOOLS, "/w") == {
        "text": "main.py is a Python file of 7 lines. It defines 1 class (Widget) and "
        "1 function (make)."
    }
    missing = failed("File does not exist.")
    assert plan_step("explain gone.py", [missing], NO_TOOLS, "/w") == {
        "text": "I could not read gone.py: File does not exist."
    }


def test_clauses_play_in_order_and_the_final_text_joins_them() -> None:
    prompt = "explain a.py, create b.txt, then dance a jig"
    first = plan_step(prompt, [], NO_TOOLS, "/w")
    assert first and first["tool"] == "Read"
    second = plan_step(prompt, [ok("1\tx = 1\n")], NO_TOOLS, "/w")
    assert second and second["tool"] == "Write" and second["input"]["file_path"] == "b.txt"
    final = plan_step(prompt, [ok("1\tx = 1\n"), ok("created")], NO_TOOLS, "/w")
    assert final and "tool" not in final
    assert final["text"].startswith("a.py is a Python file of 1 line")
    assert "Created b.txt (1 line)." in final["text"]
    assert "I skipped 'dance a jig'" in final["text"]


# --------------------------------------------------------------------------
# Over HTTP: which rule wins
# --------------------------------------------------------------------------


def _reply(server: ScriptedModelServer, messages: list[dict[str, Any]]) -> dict[str, Any]:
    status, raw, _ = _post(server, "/v1/messages", _request(messages, stream=False))
    assert status == 200
    return json.loads(raw)


def _first_tool(message: dict[str, Any]) -> dict[str, Any]:
    return next(block for block in message["content"] if block["type"] == "tool_use")


def test_an_intent_answers_with_an_absolute_path_in_the_cwd(server: ScriptedModelServer) -> None:
    message = _reply(server, [{"role": "user", "content": "create hello.py that prints hi"}])
    tool = _first_tool(message)
    assert message["content"][0]["text"] == f"{PREFIX} I'll create hello.py."
    assert tool["name"] == "Write" and tool["input"]["file_path"] == "/home/dev/demo/hello.py"


def test_the_scenario_switch_wins_over_an_intent(server: ScriptedModelServer) -> None:
    prompt = {"role": "user", "content": "create hello.py [scenario:fail]"}
    assert "exit 3" in _first_tool(_reply(server, [prompt]))["input"]["command"]


def test_a_follow_up_takes_its_own_intent_and_a_plain_one_the_earlier_scenario(
    server: ScriptedModelServer,
) -> None:
    earlier = [
        {"role": "user", "content": "go [scenario:fail]"},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ]
    follow_up = _reply(server, [*earlier, {"role": "user", "content": "list the files"}])
    assert "find ." in _first_tool(follow_up)["input"]["command"]
    plain = _reply(server, [*earlier, {"role": "user", "content": "again"}])
    assert "exit 3" in _first_tool(plain)["input"]["command"]


def test_an_unknown_prompt_plays_the_default_scenario(server: ScriptedModelServer) -> None:
    message = _reply(server, [{"role": "user", "content": "sing me a song"}])
    first = load_scenario("default").steps[0]
    assert _first_tool(message)["input"] == first["input"]


# --------------------------------------------------------------------------
# Through the real Claude Code CLI
# --------------------------------------------------------------------------


def _tools(run: dict[str, Any]) -> list[str]:
    return [h["tool_name"] for h in run["hooks"] if h["hook_event_name"] == "PostToolUse"]


def _answers(run: dict[str, Any]) -> list[str]:
    return [result.result for result in run["results"]]


@pytest.mark.e2e
def test_cli_create_writes_the_file_runs_it_and_says_so(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    run = _run(server, tmp_path, "create hello.py that prints hi")
    assert (tmp_path / "hello.py").read_text() == 'print("hi")\n'
    assert _tools(run) == ["Write", "Bash"]
    assert _answers(run) == [f'{PREFIX} Created hello.py (1 line). Running it prints "hi".']


@pytest.mark.e2e
def test_cli_create_over_an_existing_file_replaces_it(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("old notes\n")
    run = _run(server, tmp_path, "create notes.txt containing 'new notes'")
    assert (tmp_path / "notes.txt").read_text() == "new notes\n"
    # CLI 2.1.x writes over a file it has not read (an "update"); no retry needed.
    assert _tools(run) == ["Write"]
    assert _answers(run) == [f"{PREFIX} Replaced notes.txt (1 line)."]


@pytest.mark.e2e
def test_cli_edit_reads_then_edits_the_real_file(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    (tmp_path / "README.md").write_text("# widgets\n\nA demo project for widgets.\n")
    run = _run(
        server,
        tmp_path,
        "edit README.md to replace widgets with gadgets",
        "add a line 'Tested nightly.' to README.md",
    )
    assert (tmp_path / "README.md").read_text() == (
        "# gadgets\n\nA demo project for gadgets.\nTested nightly.\n"
    )
    assert _tools(run) == ["Read", "Edit", "Read", "Edit"]
    assert _answers(run) == [
        f"{PREFIX} Edited README.md: replaced 'widgets' with 'gadgets' in 2 places.",
        f"{PREFIX} Edited README.md: appended the line 'Tested nightly.'.",
    ]


@pytest.mark.e2e
def test_cli_follow_ups_each_take_their_own_intent(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "test_calc.py").write_text(
        "import unittest\n\nfrom calc import add\n\n\n"
        "class AddTest(unittest.TestCase):\n"
        "    def test_adds(self):\n        self.assertEqual(add(2, 2), 4)\n"
    )
    run = _run(server, tmp_path, "list the files", "explain calc.py", "run the tests")
    assert _tools(run) == ["Bash", "Read", "Bash"]
    listed, explained, tested = _answers(run)
    assert listed == f"{PREFIX} The workspace has 2 file(s): calc.py, test_calc.py."
    assert explained == (
        f"{PREFIX} calc.py is a Python file of 2 lines. It defines 1 function (add)."
    )
    assert tested.startswith(f"{PREFIX} The tests passed (")


@pytest.mark.e2e
def test_cli_failing_tests_are_reported_as_failed(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    (tmp_path / "test_broken.py").write_text(
        "import unittest\n\n\nclass Broken(unittest.TestCase):\n"
        "    def test_fails(self):\n        self.assertEqual(1, 2)\n"
    )
    [answer] = _answers(_run(server, tmp_path, "run the tests"))
    assert answer.startswith(f"{PREFIX} The tests failed (")


@pytest.mark.e2e
def test_cli_scenario_switch_wins_over_the_intent(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    run = _run(server, tmp_path, "create hello.py [scenario:bash_write]")
    assert (tmp_path / "result.txt").exists() and not (tmp_path / "hello.py").exists()
    assert _tools(run) == ["Bash", "Write"]


@pytest.mark.e2e
def test_cli_the_demo_prompt_is_answered_by_its_intents(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    (tmp_path / "README.md").write_text("# widgets\n\nA demo project.\n")
    (tmp_path / "widgets.py").write_text("def widget():\n    return 'widget'\n")
    run = _run(server, tmp_path, DEMO_PROMPT)
    assert "[scenario:" not in DEMO_PROMPT
    assert _tools(run) == ["Read", "Write", "Bash", "Read", "Edit"]
    assert (tmp_path / "test_widgets.py").exists()
    assert (tmp_path / "README.md").read_text().endswith("\n")
    [answer] = _answers(run)
    assert "widgets.py is a Python file" in answer and "The tests passed" in answer


# --------------------------------------------------------------------------
# The README documents what ships
# --------------------------------------------------------------------------


def _readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## The scripted demo model\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "README.md has no '## The scripted demo model' section"
    return match.group(1)


def test_the_readme_lists_every_shipped_scenario_with_its_description() -> None:
    documented = dict(re.findall(r"^\| `([\w-]+)` \| (.+?) \|$", _readme_section(), re.M))
    shipped = {name: load_scenario(name).description for name in scenario_names()}
    assert documented == shipped, (
        "README's scenario table differs from the scenario files; print the table with "
        "`python -m sessions.agent.scripted_model.server --scenario-table`"
    )


def test_the_readme_shows_an_example_of_every_intent() -> None:
    section = _readme_section()
    for intent in intents.INTENTS:
        assert intent.example in section, intent.name


def test_a_prompt_mostly_beyond_the_rules_plays_a_scenario() -> None:
    # A template's numbered instructions: "Read package.json" alone is no request to act on.
    prompt = (
        "Convert the JavaScript to TypeScript.\n\n"
        "1. Read package.json and the build and test setup first.\n"
        "2. Convert files one module at a time, leaves first.\n"
        "3. Keep behaviour identical."
    )
    assert plan_step(prompt, [], NO_TOOLS, "/w") is None
    # Half recognized is enough: the other half is named as skipped.
    assert plan_step("explain a.py, then dance a jig", [], NO_TOOLS, "/w")["tool"] == "Read"
