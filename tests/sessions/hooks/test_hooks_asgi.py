"""The lean ASGI hook route answers exactly as the DRF view does."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from orchestrator.asgi import application
from sessions.models import CommandLog
from tests.sessions.conftest import captured

pytestmark = pytest.mark.django_db(transaction=True)


def both(path: str, body: bytes, headers: dict) -> tuple[httpx.Response, httpx.Response]:
    """The same post through the ASGI route and through Django + DRF (the test client)."""
    from rest_framework.test import APIClient

    async def via_asgi():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.post(path, content=body, headers=headers)

    lean = asyncio.run(via_asgi())
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    drf = APIClient().post(path, data=body, content_type="application/json", **meta)
    return lean, drf


@pytest.mark.parametrize(
    "case",
    ["ok", "no-token", "bad-token", "bad-json", "not-object", "reserved", "too-large", "other"],
)
def test_lean_route_and_view_agree(attached, member, settings, case):
    settings.HOOK_MAX_BODY_BYTES = 4000
    token = attached.new_hook_token
    payload = captured()["Stop"]
    body, headers, path = (
        json.dumps(payload).encode(),
        {"Authorization": f"Bearer {token}"},
        ("/api/hooks/"),
    )
    if case == "no-token":
        headers = {}
    elif case == "bad-token":
        headers["Authorization"] = "Bearer " + token[:-2] + "00"
    elif case == "bad-json":
        body = b"{nope"
    elif case == "not-object":
        body = b"[]"
    elif case == "reserved":
        body = json.dumps({"hook_event_name": "TurnResult"}).encode()
    elif case == "too-large":
        body = json.dumps({**payload, "pad": "x" * 5000}).encode()
    elif case == "other":
        path = f"/api/hooks/?session={member.organization_id}"
    lean, drf = both(path, body, headers)
    assert lean.status_code == drf.status_code, (lean.text, drf.content)
    if case == "ok":
        assert lean.json()["ok"] and drf.json()["duplicate"] is True  # the second is a replay
    else:
        assert lean.json() == drf.json()
        assert lean.status_code in (400, 401, 403, 413)


def test_tool_complete_alias_on_the_lean_route(attached):
    payload = {k: v for k, v in captured()["PostToolUse"].items() if k != "hook_event_name"}

    async def post():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.post(
                "/api/hooks/tool-complete",
                json=payload,
                headers={"Authorization": f"Bearer {attached.new_hook_token}"},
            )

    assert asyncio.run(post()).status_code == 200
    assert CommandLog.objects.get(session=attached).tool == "Bash"
