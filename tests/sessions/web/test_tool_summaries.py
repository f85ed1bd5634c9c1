"""The command log's one-line summaries name files relative to the workspace the agent saw:
`/workspace` in the jail, the session's folder on disk when it ran unsandboxed. Paths
elsewhere are shown as typed. (toolcalls.js applies the same rule to rows that arrive live;
the browser test checks both.)"""

from __future__ import annotations

import pytest

from sessions import services
from sessions.choices import SessionMode
from sessions.models import Session
from sessions.web import views
from tests.sessions.web.test_dashboard import live_config, make_session

pytestmark = pytest.mark.django_db

JAILED = "/workspace"
ON_DISK = "/srv/data/workspaces/7/0b5c"


def summary(tool: str, tool_input: object, workspace: str = JAILED) -> str:
    return views.input_summary(tool_input, tool=tool, workspace=workspace)


def test_a_file_in_the_workspace_is_named_relative_to_it():
    assert summary("Read", {"file_path": "/workspace/src/app.py"}) == "src/app.py"
    assert summary("Write", {"file_path": f"{ON_DISK}/README.md"}, ON_DISK) == "README.md"
    assert summary("NotebookEdit", {"notebook_path": "/workspace/a.ipynb"}) == "a.ipynb"


def test_a_path_outside_the_workspace_stays_as_typed():
    assert summary("Read", {"file_path": "/etc/passwd"}) == "/etc/passwd"
    # A sibling that merely starts with the same letters is not inside it.
    assert summary("Read", {"file_path": "/workspace2/x.py"}) == "/workspace2/x.py"
    assert summary("Read", {"file_path": "src/app.py"}) == "src/app.py"
    # With no known workspace (an attached session), every path is as typed.
    assert summary("Read", {"file_path": "/workspace/a.py"}, "") == "/workspace/a.py"


def test_grep_and_glob_say_what_they_looked_for_and_where():
    assert summary("Grep", {"pattern": "TODO", "path": "/workspace/src"}) == "TODO in src"
    assert summary("Glob", {"pattern": "**/*.py", "path": "/workspace"}) == "**/*.py"
    assert summary("Glob", {"pattern": "*.md", "path": "/workspace/"}) == "*.md"
    assert summary("Grep", {"pattern": "x", "path": "/opt/lib"}) == "x in /opt/lib"
    assert summary("Grep", {"pattern": "TODO"}) == "TODO"


def test_bash_shows_its_command_as_typed():
    command = "cat /workspace/src/app.py"
    assert summary("Bash", {"command": command, "description": "show"}) == command


def test_a_long_path_keeps_its_file_name():
    deep = "/workspace/" + "/".join(["folder"] * 40) + "/the_file.py"
    line = summary("Read", {"file_path": deep})
    assert len(line) == views.SUMMARY_CHARS
    assert line.startswith("…") and line.endswith("/the_file.py")


def test_a_jailed_managed_session_sees_the_jails_mount_point(member):
    session = make_session(member)
    assert session.mode == SessionMode.MANAGED
    assert views.agent_workspace(session) == "/workspace"


def test_an_unsandboxed_or_attached_session_sees_its_folder_on_disk(member):
    unsandboxed = make_session(member, name="loose")
    Session.objects.filter(pk=unsandboxed.pk).update(unsandboxed=True, project_path=ON_DISK)
    unsandboxed.refresh_from_db()
    assert views.agent_workspace(unsandboxed) == ON_DISK
    attached = make_session(member, name="attached", mode=SessionMode.ATTACHED)
    assert views.agent_workspace(attached) == ""


def test_the_page_shows_relative_paths_and_hands_the_workspace_to_the_live_client(web, member):
    session = make_session(member)
    services.record_command(
        session=session, tool="Read", input={"file_path": "/workspace/src/app.py"}, result="x"
    )
    response = web(member).get(f"/sessions/{session.pk}/")
    body = response.content.decode()
    assert '<code class="log-summary" data-slot="summary">src/app.py</code>' in body
    assert live_config(response)["workspacePath"] == "/workspace"
