"""Quotas: the API that shows and sets them, and the limits a new session must pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.choices import SessionMode, SessionStatus
from sessions.models import Session
from tenants import quotas, services
from tenants.choices import AuditAction
from tenants.models import AuditEvent, OrganizationQuota
from tests.conftest import new_session

pytestmark = pytest.mark.django_db

URL = "/api/organizations/{}/quotas/"
BODY = {"name": "one more", "project_type": "github", "github_repo": "acme/widgets"}
LIMITS = ["max_active_sessions", "max_workspaces", "max_storage_gb", "max_sessions_per_day"]


def set_limits(org, **limits) -> None:
    services.set_quotas(organization=org, actor=None, changes=limits)


def attached(user, **extra) -> Session:
    return new_session(user, mode=SessionMode.ATTACHED, **extra)


# --- the API --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "member", "viewer", "superuser"])
def test_members_and_superusers_read_the_limits_with_the_usage(api, org, persona, request):
    user = request.getfixturevalue(persona)
    set_limits(org, max_active_sessions=5)
    attached(request.getfixturevalue("member"))
    body = api(user).get(URL.format("acme")).json()
    assert body["max_active_sessions"] == 5
    assert body["max_workspaces"] is None
    assert body["usage"]["active_sessions"] == 1
    assert body["usage"]["sessions_today"] == 1
    assert set(body["usage"]) == {
        "active_sessions",
        "workspaces",
        "storage_gb",
        "storage_bytes",
        "sessions_today",
        "measured_at",
    }


def test_an_organization_without_quotas_is_unlimited(api, member):
    body = api(member).get(URL.format("acme")).json()
    assert all(body[name] is None for name in LIMITS)


def test_an_outsider_gets_404(api, org, outsider):
    assert api(outsider).get(URL.format("acme")).status_code == 404


def test_anonymous_gets_401(api, org):
    assert api(None).get(URL.format("acme")).status_code == 401


def test_a_superuser_changes_some_limits_and_leaves_the_others(api, org, superuser):
    set_limits(org, max_workspaces=7)
    response = api(superuser).patch(
        URL.format("acme"), {"max_active_sessions": 3, "max_storage_gb": 10}, format="json"
    )
    assert response.status_code == 200, response.json()
    quota = OrganizationQuota.objects.get(organization=org)
    assert (quota.max_active_sessions, quota.max_storage_gb, quota.max_workspaces) == (3, 10, 7)
    assert response.json()["max_active_sessions"] == 3


def test_null_makes_a_limit_unlimited_again(api, org, superuser):
    set_limits(org, max_active_sessions=3)
    response = api(superuser).patch(
        URL.format("acme"), {"max_active_sessions": None}, format="json"
    )
    assert response.status_code == 200
    assert OrganizationQuota.objects.get(organization=org).max_active_sessions is None


def test_a_change_is_audited_with_what_changed(api, org, superuser):
    set_limits(org, max_active_sessions=3)
    api(superuser).patch(URL.format("acme"), {"max_active_sessions": 4}, format="json")
    event = AuditEvent.objects.filter(action=AuditAction.QUOTA_CHANGED).first()
    assert event.organization_id == org.pk
    assert event.actor == superuser
    assert event.details == {"max_active_sessions": {"from": 3, "to": 4}}


def test_an_unchanged_patch_writes_no_audit_event(api, org, superuser):
    set_limits(org, max_active_sessions=3)
    api(superuser).patch(URL.format("acme"), {"max_active_sessions": 3}, format="json")
    assert AuditEvent.objects.filter(action=AuditAction.QUOTA_CHANGED).count() == 1


@pytest.mark.parametrize("persona", ["owner", "member", "viewer", "outsider"])
def test_only_superusers_change_limits(api, org, persona, request):
    user = request.getfixturevalue(persona)
    response = api(user).patch(URL.format("acme"), {"max_active_sessions": 99}, format="json")
    assert response.status_code == 403
    assert not OrganizationQuota.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"max_sessions": 3}, "max_sessions"),
        ({"max_active_sessions": -1}, "max_active_sessions"),
        ({"max_active_sessions": 10**12}, "max_active_sessions"),
        ({"max_storage_gb": "lots"}, "max_storage_gb"),
        ({"max_workspaces": 1.5}, "max_workspaces"),
        ({"max_sessions_per_day": True}, "max_sessions_per_day"),
    ],
)
def test_bad_limits_are_400_naming_the_field_and_change_nothing(api, org, superuser, body, field):
    response = api(superuser).patch(URL.format("acme"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not OrganizationQuota.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.QUOTA_CHANGED).exists()


def test_a_body_that_is_not_an_object_is_400(api, org, superuser):
    response = api(superuser).patch(URL.format("acme"), [1, 2], format="json")
    assert response.status_code == 400


def test_the_service_refuses_non_superusers(org, owner):
    with pytest.raises(services.PermissionDenied):
        services.set_quotas(organization=org, actor=owner, changes={"max_workspaces": 1})


# --- the limits at creation -------------------------------------------------------------


def post(api, user, **overrides):
    return api(user).post("/api/sessions/", {**BODY, **overrides}, format="json")


def test_active_sessions_at_the_limit_answer_429_with_the_limit_usage_and_advice(api, org, member):
    set_limits(org, max_active_sessions=2)
    attached(member)
    attached(member)
    response = post(api, member, mode=SessionMode.ATTACHED)
    assert response.status_code == 429
    body = response.json()
    assert body["quota"] == "max_active_sessions"
    assert body["limit"] == 2
    assert body["usage"] == 2
    assert "Stop a session or wait for one to finish" in body["detail"]
    assert "ask an operator" in body["detail"]
    assert Session.objects.count() == 2
    assert not AuditEvent.objects.filter(
        action=AuditAction.SESSION_CREATED, details__mode="attached", target_repr="one more"
    ).exists()


def test_an_ended_session_frees_its_place(api, org, member):
    set_limits(org, max_active_sessions=1)
    Session.objects.filter(pk=attached(member).pk).update(status=SessionStatus.COMPLETED)
    assert post(api, member, mode=SessionMode.ATTACHED).status_code == 201


def test_sessions_per_day_at_the_limit_answer_429_with_retry_after(api, org, member):
    set_limits(org, max_sessions_per_day=2)
    for _ in range(2):
        Session.objects.filter(pk=attached(member).pk).update(status=SessionStatus.STOPPED)
    response = post(api, member, mode=SessionMode.ATTACHED)
    assert response.status_code == 429
    assert response.json()["quota"] == "max_sessions_per_day"
    assert 0 < int(response["Retry-After"]) <= 24 * 3600
    assert "Wait until midnight" in response.json()["detail"]


def test_yesterdays_sessions_do_not_count_for_today(api, org, member):
    set_limits(org, max_sessions_per_day=1)
    old = attached(member)
    Session.objects.filter(pk=old.pk).update(
        created_at=quotas.start_of_day() - timedelta(minutes=1), status=SessionStatus.STOPPED
    )
    assert post(api, member, mode=SessionMode.ATTACHED).status_code == 201


def test_workspaces_at_the_limit_refuse_managed_sessions_not_attached_ones(api, org, member):
    set_limits(org, max_workspaces=1)
    services.record_usage(
        organization_id=org.pk, workspaces=1, storage_bytes=0, measured_at=timezone.now()
    )
    response = post(api, member)
    assert response.status_code == 429
    assert response.json()["quota"] == "max_workspaces"
    assert "attached session" in response.json()["detail"]
    assert post(api, member, mode=SessionMode.ATTACHED).status_code == 201


def test_workspaces_made_since_the_last_measurement_count(api, org, member):
    services.record_usage(
        organization_id=org.pk,
        workspaces=0,
        storage_bytes=0,
        measured_at=timezone.now() - timedelta(minutes=5),
    )
    set_limits(org, max_workspaces=1)
    new_session(member)  # managed: its folder is not measured yet
    response = post(api, member)
    assert response.status_code == 429
    assert response.json()["usage"] == 1


def test_storage_at_the_limit_answers_429(api, org, member):
    set_limits(org, max_storage_gb=1)
    services.record_usage(
        organization_id=org.pk,
        workspaces=1,
        storage_bytes=2 * quotas.GB,
        measured_at=timezone.now(),
    )
    response = post(api, member)
    assert response.status_code == 429
    body = response.json()
    assert (body["quota"], body["limit"]) == ("max_storage_gb", 1)
    assert body["usage"] > 1
    assert Session.objects.count() == 0


def test_a_limit_of_zero_refuses_every_new_session(api, org, member):
    set_limits(org, max_active_sessions=0)
    assert post(api, member, mode=SessionMode.ATTACHED).status_code == 429


def test_one_organizations_limit_does_not_touch_another(api, org, other_org, outsider):
    set_limits(org, max_active_sessions=0)
    assert post(api, outsider, mode=SessionMode.ATTACHED).status_code == 201


def test_a_refused_create_with_an_idempotency_key_stores_nothing(api, org, member):
    set_limits(org, max_active_sessions=0)
    client = api(member)
    body = {**BODY, "mode": SessionMode.ATTACHED}
    first = client.post("/api/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 429
    set_limits(org, max_active_sessions=None)
    again = client.post("/api/sessions/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201


# --- the operations console -------------------------------------------------------------


def admin_form(org, **limits) -> dict:
    fields = {name: "" for name in LIMITS}
    return {"organization": str(org.pk), **fields, **limits}


def test_operators_set_quotas_in_the_admin_through_the_service(web, org, superuser):
    console = web(superuser)
    response = console.post(
        "/admin/tenants/organizationquota/add/", admin_form(org, max_active_sessions="3")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    url = f"/admin/tenants/organizationquota/{org.pk}/change/"
    page = console.get(url).content.decode()
    assert "0 active sessions" in page  # the usage now, beside the limits
    console.post(url, admin_form(org, max_active_sessions="3", max_workspaces="8"))
    quota = OrganizationQuota.objects.get(organization=org)
    assert (quota.max_active_sessions, quota.max_workspaces) == (3, 8)
    changes = AuditEvent.objects.filter(action=AuditAction.QUOTA_CHANGED).order_by("id")
    assert [event.details for event in changes] == [
        {"max_active_sessions": {"from": None, "to": 3}},
        {"max_workspaces": {"from": None, "to": 8}},
    ]
    assert all(event.actor == superuser for event in changes)


def test_the_admin_refuses_a_limit_beyond_its_maximum(web, org, superuser):
    response = web(superuser).post(
        "/admin/tenants/organizationquota/add/", admin_form(org, max_active_sessions="999999999")
    )
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to" in response.content.decode()
    assert not OrganizationQuota.objects.exists()
