"""The OTLP/HTTP receiver: an attached session's Claude Code exports its usage and cost."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import TokenCharge
from sessions import services as session_services
from sessions.choices import SessionMode
from tests.billing.conftest import set_price
from tests.conftest import new_session

pytestmark = pytest.mark.django_db


def attr(key: str, value) -> dict:
    if isinstance(value, str):
        return {"key": key, "value": {"stringValue": value}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"intValue": str(value)}}


def api_request(sequence: int, **tokens) -> dict:
    """A log record shaped as Claude Code exports its api_request event."""
    return {
        "timeUnixNano": str(1_764_000_000_000_000_000 + sequence),
        "body": {"stringValue": "claude_code.api_request"},
        "attributes": [
            attr("event.name", "api_request"),
            attr("event.sequence", sequence),
            attr("prompt.id", "p1"),
            attr("model", "claude-test"),
            attr("cost_usd", 0.5),
            *(attr(k, v) for k, v in tokens.items()),
        ],
    }


def logs_export(*records) -> dict:
    return {"resourceLogs": [{"scopeLogs": [{"logRecords": list(records)}]}]}


def cost_export(value: float, temporality: int = 1) -> dict:
    metric = {
        "name": "claude_code.cost.usage",
        "sum": {
            "aggregationTemporality": temporality,
            "dataPoints": [{"asDouble": value, "timeUnixNano": "1764000000000000001"}],
        },
    }
    return {"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}


@pytest.fixture
def attached_with_token(member):
    session = new_session(member, name="otel", mode=SessionMode.ATTACHED)
    return session, session.new_hook_token


def post(path: str, token: str, body: dict, content_type: str = "application/json"):
    return Client().post(
        path, json.dumps(body), content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_api_request_events_are_priced_once(attached_with_token, superuser):
    session, token = attached_with_token
    set_price(superuser, "claude-test", "1000000", "1000000")  # a dollar a token
    export = logs_export(
        api_request(1, input_tokens=2, output_tokens=1), api_request(2, input_tokens=1)
    )
    answer = post("/api/otlp/v1/logs", token, export)
    assert answer.status_code == 200 and answer.json() == {}
    post("/api/otlp/v1/logs", token, export)  # the exporter's retry
    session.refresh_from_db()
    assert session.cost_usd == Decimal(4)  # 2 + 1 (output), then 1
    assert TokenCharge.objects.filter(session=session).count() == 2


def test_claude_codes_own_cost_comes_from_the_cost_metric(attached_with_token):
    session, token = attached_with_token
    assert post("/api/otlp/v1/metrics", token, cost_export(0.25)).status_code == 200
    assert post("/api/otlp/v1/metrics", token, cost_export(9.0, temporality=2)).status_code == 200
    session.refresh_from_db()
    assert session.total_cost_usd == Decimal("0.25") and session.cost_usd == 0


def test_the_receiver_wants_the_sessions_hook_token_and_json(attached_with_token):
    session, token = attached_with_token
    assert post("/api/otlp/v1/logs", "wrong", logs_export()).status_code == 401
    assert (
        post("/api/otlp/v1/logs", token, logs_export(), "application/x-protobuf").status_code == 415
    )
    bad = Client().post(
        "/api/otlp/v1/logs",
        b"{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert bad.status_code == 400
    session_services.stop_session(session=session, actor=None)
    assert (
        post("/api/otlp/v1/logs", token, logs_export(api_request(1, input_tokens=1))).status_code
        == 403
    )


def test_hook_config_shows_the_telemetry_environment(api, member, attached_with_token):
    session, _ = attached_with_token
    config = api(member).get(f"/api/sessions/{session.pk}/hook-config/").json()
    env = config["telemetry_env"]
    assert env["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/json"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].endswith("/api/otlp")
    assert env["OTEL_EXPORTER_OTLP_HEADERS"].startswith("Authorization=Bearer ")
