"""The alerting API under generated input, as an organization admin (the one persona that
gets past the permission check): no operation answers a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.alerts.conftest import rule_of, slack_channel
from tests.conftest import api_token_for
from tests.test_schemathesis import schema

alerting = schema.include(path_regex="^/api/alerts")


@pytest.mark.django_db(transaction=True)
@alerting.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_alerting_operation_answers_500(case, owner, slack, live_server):
    # Objects for the generated ids to miss or (rarely) hit.
    rule_of(owner, "session_failed", [slack_channel(owner)])
    token = api_token_for(owner)
    response = case.call(base_url=live_server.url, headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
