"""The ingestion pipeline as production runs it: uvicorn with several worker processes (each
with its own writer), PostgreSQL, Redis, real HTTP and WebSockets, the hook client's spool.

What is asserted is behaviour (order, counts, answers), never time."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from websockets.sync.client import connect

from sessions.models import CommandLog, HookEvent
from sessions.services import rotate_hook_token, stop_session
from tests.conftest import api_token_for, new_session
from tests.live_server import ServerProcess, running_server
from tests.sessions.conftest import captured

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CLIENT = Path(__file__).resolve().parents[3] / "sessions" / "hooks" / "client.py"


def tool_use(tag: str, name: str = "PostToolUse") -> dict:
    return {**captured()["PostToolUse"], "hook_event_name": name, "tool_use_id": f"toolu_{tag}"}


class Poster:
    """One keep-alive connection posting hook events, as Claude Code's http hooks do."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, payload: dict) -> tuple[int, dict]:
        self.connection.request("POST", "/api/hooks/", json.dumps(payload), self.headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")

    def close(self) -> None:
        self.connection.close()


def post_once(port: int, token: str, payload: dict) -> tuple[int, dict]:
    """On a connection of its own: the kernel hands it to whichever worker accepts first."""
    poster = Poster(port, token)
    try:
        return poster.post(payload)
    finally:
        poster.close()


def logged_seqs(session) -> list[int]:
    return list(
        CommandLog.objects.filter(session=session).order_by("seq").values_list("seq", flat=True)
    )


def test_seq_stays_gap_free_and_ordered_under_32_senders_into_8_sessions(member, tmp_path):
    sessions = [new_session(member, name=f"busy {n}", mode="attached") for n in range(8)]
    per_sender = 15

    def send(sender: int) -> tuple[int, list[tuple[int, dict]]]:
        session = sessions[sender % len(sessions)]
        poster = Poster(server.port, session.new_hook_token)
        try:
            return sender, [poster.post(tool_use(f"{sender}_{n}")) for n in range(per_sender)]
        finally:
            poster.close()

    with (
        running_server(tmp_path / "server.log", workers=2) as server,
        ThreadPoolExecutor(32) as pool,
    ):
        answers = dict(pool.map(send, range(32)))

    for sender, posted in answers.items():
        assert [status for status, _ in posted] == [200] * per_sender, posted
        seqs = [body["seq"] for _, body in posted]
        assert seqs == sorted(seqs), f"sender {sender}: its events out of order: {seqs}"
    for index, session in enumerate(sessions):
        acknowledged = sorted(
            body["seq"]
            for sender, posted in answers.items()
            if sender % 8 == index
            for _, body in posted
        )
        expected = list(range(1, 4 * per_sender + 1))  # 4 senders per session
        assert acknowledged == expected
        assert logged_seqs(session) == expected  # committed, gap-free, each once
        ids = CommandLog.objects.filter(session=session).values_list("tool_use_id", flat=True)
        assert len(set(ids)) == len(expected)


def test_token_rotation_and_stop_take_effect_on_the_next_post_in_every_worker(
    attached, member, tmp_path
):
    old = attached.new_hook_token
    with running_server(tmp_path / "server.log", workers=2) as server:
        # Fresh connections land on both workers, and each caches the credential.
        assert {post_once(server.port, old, tool_use(f"warm{n}"))[0] for n in range(12)} == {200}

        new = rotate_hook_token(session=attached, actor=member)
        refused = [post_once(server.port, old, tool_use(f"old{n}")) for n in range(12)]
        assert {status for status, _ in refused} == {401}, refused
        assert {post_once(server.port, new, tool_use(f"new{n}"))[0] for n in range(6)} == {200}

        stop_session(session=attached, actor=member, reason="enough")
        asks = [post_once(server.port, new, tool_use(f"ask{n}", "PreToolUse")) for n in range(12)]
        decisions = {body["hookSpecificOutput"]["permissionDecision"] for _, body in asks}
        assert decisions == {"deny"}
        assert {post_once(server.port, new, tool_use("late"))[0] for _ in range(6)} == {403}
    assert CommandLog.objects.filter(session=attached).count() == 12 + 6


def run_hook(payload: dict, server_url: str, token: str, spool: Path, home: Path):
    return subprocess.Popen(
        [sys.executable, str(CLIENT), "--url", server_url, "--token", token]
        + ["--spool-dir", str(spool), "--timeout", "10"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )


def hook(payload: dict, *args) -> subprocess.CompletedProcess:
    process = run_hook(payload, *args)
    out, err = process.communicate(json.dumps(payload).encode(), timeout=60)
    assert process.returncode == 0, err
    return subprocess.CompletedProcess(process.args, 0, out, err)


def test_a_crash_loses_only_unacknowledged_events_and_the_spool_resends_them(attached, tmp_path):
    token, spool = attached.new_hook_token, tmp_path / "spool"
    # A batch waits two seconds for company: a wide window to crash in with an event received
    # and not yet committed.
    server = ServerProcess(
        tmp_path / "server.log", workers=1, env={"INGEST_BATCH_LINGER_MS": "2000"}
    )
    with server:
        args = (server.url, token, spool, tmp_path)
        hook(tool_use("acknowledged"), *args)  # answered, so committed
        in_flight = run_hook(tool_use("in_flight"), *args)
        in_flight.stdin.write(json.dumps(tool_use("in_flight")).encode())
        in_flight.stdin.close()
        time.sleep(1.0)  # sent, and waiting in the writer's batch
        server.kill()
        assert in_flight.wait(30) == 0  # the hook fails open: Claude Code goes on
        assert list(CommandLog.objects.values_list("tool_use_id", flat=True)) == [
            "toolu_acknowledged"
        ]
        assert "toolu_in_flight" in "".join(p.read_text() for p in spool.glob("*.jsonl"))

        server.start()
        hook(tool_use("after"), *args)  # replays the spool first, then sends its own
    logs = CommandLog.objects.order_by("seq").values_list("seq", "tool_use_id")
    assert list(logs) == [(1, "toolu_acknowledged"), (2, "toolu_in_flight"), (3, "toolu_after")]
    assert HookEvent.objects.filter(session=attached).count() == 3


@pytest.mark.redis
def test_every_viewer_sees_each_event_once_and_in_order_across_two_web_processes(
    attached, member, tmp_path
):
    events, api_token = 60, api_token_for(member)
    with (
        running_server(tmp_path / "one.log", workers=1) as one,
        running_server(tmp_path / "two.log", workers=1) as two,
    ):
        viewers = [_Viewer(s.port, attached.pk, api_token, events) for s in (one, two) * 3]
        for viewer in viewers:
            viewer.start()
        for viewer in viewers:
            viewer.subscribed.wait(30)

        def send(server, half: int) -> None:
            poster = Poster(server.port, attached.new_hook_token)
            for n in range(events // 2):
                assert poster.post(tool_use(f"{half}_{n}"))[0] == 200
            poster.close()

        senders = [threading.Thread(target=send, args=(s, i)) for i, s in enumerate((one, two))]
        for thread in senders:
            thread.start()
        for thread in senders + viewers:
            thread.join(60)
    for viewer in viewers:
        assert viewer.error is None, viewer.error
        assert viewer.seqs == list(range(1, events + 1)), viewer.seqs


class _Viewer(threading.Thread):
    """A WebSocket viewer that records the seqs of the log events it is sent."""

    def __init__(self, port: int, session_id, api_token: str, expected: int) -> None:
        super().__init__(daemon=True)
        self.expected = expected
        self.url = f"ws://127.0.0.1:{port}/ws/sessions/{session_id}/?token={api_token}"
        self.origin = f"http://127.0.0.1:{port}"
        self.subscribed = threading.Event()
        self.seqs: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(self.url, origin=self.origin, open_timeout=30) as socket:
                self.subscribed.set()
                while len(self.seqs) < self.expected:
                    event = json.loads(socket.recv(timeout=30))
                    if event.get("kind") == "log":
                        self.seqs.append(event["seq"])
        except BaseException as exc:
            self.error = exc
            self.subscribed.set()
