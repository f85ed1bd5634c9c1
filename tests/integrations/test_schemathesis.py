"""The integrations API under generated input, as an organization admin (the one persona that
gets past the permission check): no operation answers a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from integrations.models import Integration
from tests.conftest import api_token_for
from tests.test_schemathesis import schema

from .conftest import make_integration

integrations = schema.include(path_regex="^/api/integrations")


@pytest.mark.django_db(transaction=True)
@integrations.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_integrations_operation_answers_500(case, owner, provider_api, templates, live_server):
    # An object for the generated ids to miss or (rarely) hit (examples share the database).
    if not Integration.objects.exists():
        make_integration(owner, provider_api.url, "")
    token = api_token_for(owner)
    response = case.call(base_url=live_server.url, headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
