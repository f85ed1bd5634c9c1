"""The integrations API and dashboard page: organization admins configure integrations; the
webhook secret and API token are write-only (the secret answered once, at creation)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from integrations.models import Integration
from templates import services as template_services
from tenants.encryption import decrypt
from tenants.models import AuditEvent

from .conftest import SECRET, TOKEN, github_payload, post_github

pytestmark = pytest.mark.django_db


def create(client, url: str, **extra):
    body = {
        "provider": "github",
        "repository": "acme/widgets",
        "api_url": url,
        "api_token": TOKEN,
        "triggers": {"pull_request": "pr-review", "ci_failure": None},
        **extra,
    }
    return client.post("/api/integrations/", body, format="json")


def test_an_admin_creates_an_integration_and_sees_the_secret_once(
    api, owner, provider_api, templates
):
    client = api(owner)
    answer = create(client, provider_api.url)
    assert answer.status_code == 201, answer.content
    data = answer.json()
    integration = Integration.objects.get(pk=data["id"])
    assert (
        data["webhook_secret"]
        and decrypt(integration.webhook_secret_encrypted) == data["webhook_secret"]
    )
    assert decrypt(integration.api_token_encrypted) == TOKEN
    assert (
        data["webhook_url"] == f"http://testserver/api/integrations/github/{integration.pk}/webhook"
    )
    assert data["triggers"] == {
        "pull_request": "pr-review",
        "ci_failure": None,
        "mention": "@claude",
    }
    shown = client.get(f"/api/integrations/{integration.pk}/").json()
    assert "webhook_secret" not in shown and "api_token" not in shown
    assert shown["has_api_token"] is True
    assert TOKEN not in str(client.get("/api/integrations/").json())
    assert AuditEvent.objects.filter(action="integrations.created").count() == 1


def test_a_given_secret_is_kept_and_patch_keeps_what_is_left_out(
    api, owner, provider_api, templates
):
    client = api(owner)
    data = create(client, provider_api.url, webhook_secret=SECRET).json()
    changed = client.patch(
        f"/api/integrations/{data['id']}/",
        {"triggers": {"mention": "@bot"}, "enabled": False},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["triggers"] == {
        "pull_request": "pr-review",
        "ci_failure": None,
        "mention": "@bot",
    }
    integration = Integration.objects.get(pk=data["id"])
    assert decrypt(integration.webhook_secret_encrypted) == SECRET
    assert decrypt(integration.api_token_encrypted) == TOKEN and not integration.enabled


@pytest.mark.parametrize(
    "extra,field",
    [
        ({"repository": "not a repo"}, "repository"),
        ({"provider": "bitbucket"}, "provider"),
        ({"triggers": {"pull_request": "no-such-template"}}, "triggers"),
        ({"triggers": {"deploy": "x"}}, "triggers"),
        ({"triggers": {"mention": "claude"}}, "triggers"),
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"api_url": "https://127.0.0.2/api/v3"}, "api_url"),
        ({"api_url": "ftp://example.com"}, "api_url"),
        ({"clone_url": "ext::sh -c touch% /tmp/x"}, "clone_url"),
        ({"repository": "acme/\u0000widgets"}, "repository"),
    ],
)
def test_bad_values_are_a_400_naming_the_field_and_write_nothing(
    api, owner, provider_api, templates, extra, field
):
    answer = create(api(owner), provider_api.url, **extra)
    assert answer.status_code == 400, answer.content
    assert field in str(answer.json())
    assert not Integration.objects.exists()


def test_members_and_viewers_may_not_and_outsiders_see_nothing(
    api, owner, member, viewer, outsider, provider_api, templates
):
    data = create(api(owner), provider_api.url).json()
    for user in (member, viewer):
        assert api(user).get("/api/integrations/").status_code == 403
        assert create(api(user), provider_api.url).status_code == 403
    outsider.role = "admin"
    outsider.save()
    assert api(outsider).get(f"/api/integrations/{data['id']}/").status_code == 404
    assert api(outsider).get("/api/integrations/").json()["results"] == []


def test_the_delivery_log_lists_what_came(api, owner, integration):
    post_github(Client(), integration, "ping", github_payload("ping_payload"), "d-ping")
    log = api(owner).get(f"/api/integrations/{integration.pk}/deliveries/")
    assert log.status_code == 200
    (row,) = log.json()
    assert (row["event"], row["delivery_key"], row["signature_ok"], row["outcome"]) == (
        "ping",
        "d-ping",
        True,
        "ping",
    )


def test_delete_removes_it_with_its_log(api, owner, integration):
    assert api(owner).delete(f"/api/integrations/{integration.pk}/").status_code == 204
    assert not Integration.objects.exists()


def test_the_dashboard_creates_shows_the_secret_once_tests_and_disables(
    web, owner, provider_api, templates
):
    client = web(owner)
    page = client.get("/org/integrations/")
    assert page.status_code == 200 and b"New integration" in page.content
    created = client.post(
        "/org/integrations/new/",
        {
            "provider": "github",
            "repository": "acme/widgets",
            "api_url": provider_api.url,
            "api_token": TOKEN,
            "pull_request": "pr-review",
            "mention": "@claude",
        },
    )
    assert created.status_code == 201, created.content
    integration = Integration.objects.get()
    secret = decrypt(integration.webhook_secret_encrypted)
    assert secret.encode() in created.content
    assert f"/api/integrations/github/{integration.pk}/webhook".encode() in created.content
    assert secret.encode() not in client.get("/org/integrations/").content
    tested = client.post(f"/org/integrations/{integration.pk}/test/", follow=True)
    assert b"is reachable" in tested.content
    assert provider_api.of("GET")[0].path == "/repos/acme/widgets"
    client.post(f"/org/integrations/{integration.pk}/toggle/")
    integration.refresh_from_db()
    assert not integration.enabled


def test_the_dashboard_page_is_for_admins(web, member):
    assert web(member).get("/org/integrations/").status_code == 403


def test_a_template_may_ask_for_a_pull_request_with_its_changes(owner):
    config = {"initial_prompt": "Fix it", "metadata": {"createPullRequest": True}}
    made = template_services.create_template(
        actor=owner, scope="organization", name="Fixer", config=config
    )
    assert made.versions.get().config["metadata"] == {"createPullRequest": True}
    with pytest.raises(ValidationError) as refused:
        template_services.create_template(
            actor=owner,
            scope="organization",
            name="Bad",
            config={"metadata": {"createPullRequest": "yes"}},
        )
    assert "createPullRequest must be true or false" in str(refused.value)
