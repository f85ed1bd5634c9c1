"""Property-based bad input: schemathesis drives every operation of the OpenAPI schema with
generated requests; none may answer a 500."""

from __future__ import annotations

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from tests.conftest import api_token_for

# The schema as the API serves it, with JSON-only types (UUIDs, dates as strings).
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
)


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_500(case, member, live_server, monkeypatch):
    # Sessions created here are never run: nothing is queued for them.
    monkeypatch.setattr("sessions.turns._dispatcher", lambda *args: None)
    token = api_token_for(member)
    response = case.call(base_url=live_server.url, headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
