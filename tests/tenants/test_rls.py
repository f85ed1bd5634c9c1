"""Row-level security, with the application connected as its restricted role (CI): no
context sees no tenant rows, one organization's context never sees another's, the role
cannot switch the policies off, a pooled connection carries nothing from one request to the
next, every route answers 404 for another organization's object, and the bypass is audited.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from alerts import services as alert_services
from alerts.conditions import Finding
from billing import services as billing_services
from billing.models import CostDrift
from integrations import services as integration_services
from integrations.models import Delivery, PullRequestThread
from orchestrator.asgi import application, websocket_urlpatterns
from sessions import services as session_services
from sessions.choices import SessionMode
from sessions.hooks import tokens as hook_tokens
from sessions.hooks.intake import receive_hook
from sessions.ingest import ingest
from sessions.models import CleanupAction
from templates import services as template_services
from templates.models import TemplateLaunch
from tenants import services as tenant_services
from tenants.choices import AuditAction
from tenants.context import NO_SCOPE, entered
from tenants.models import AuditEvent, IdempotencyKey
from tenants.tenancy import platform_bypass, tenant_context
from tests.conftest import PASSWORD, api_token_for, new_session
from tests.test_routes import routes

# The SSE stream is among them: refused before any stream starts, so the GET returns.
METHODS = ("get", "post", "put", "patch", "delete")
# Tables whose rows with no organization (platform templates) every organization reads.
SHARED_WHEN_NULL = {
    "session_templates_sessiontemplate",
    "session_templates_templateversion",
    "billing_toolrate",
}


def tenant_tables() -> list[str]:
    """Every table with an organization column: each must be held by row-level security."""
    tables = []
    for model in apps.get_models():
        names = {f.column for f in model._meta.concrete_fields}
        if "organization_id" in names and model._meta.db_table != "tenants_user":
            tables.append(model._meta.db_table)
    return sorted(tables)


def fill(user) -> dict:
    """One of each tenant-owned row for the user's organization; returns some of their ids."""
    organization = user.organization
    session = new_session(user, mode=SessionMode.ATTACHED, name=f"{organization.slug}-session")
    session_services.record_message(session=session, direction="user", content="hello")
    session_services.record_command(session=session, tool="Bash", input={"command": "ls"})
    session_services.record_cleanup(
        actor="test", action=CleanupAction.WORKSPACE_REMOVED, reason="test", session=session
    )
    token_row, _ = tenant_services.issue_api_token(user=user)
    IdempotencyKey.objects.create(
        organization=organization,
        user=user,
        endpoint="/api/sessions/",
        key=uuid.uuid4().hex,
        fingerprint="0" * 64,
        response_status=201,
        expires_at=token_row.created_at,
    )
    tenant_services.set_quotas(
        organization=organization, actor=None, changes={"max_active_sessions": 100}
    )
    tenant_services.record_usage(
        organization_id=organization.pk,
        workspaces=0,
        storage_bytes=0,
        measured_at=token_row.created_at,
    )
    template = template_services.create_template(
        actor=user,
        scope="organization",
        name=f"{organization.slug} template",
        config={"initial_prompt": "Look at {repo}", "variables": [{"name": "repo"}]},
    )
    # The fill's one session, as if it had been launched from the template.
    TemplateLaunch.objects.create(
        session=session,
        organization=organization,
        template=template,
        version=template.versions.get(),
    )
    hook_token = session_services.rotate_hook_token(session=session, actor=user)
    answer = receive_hook(
        authorization=f"Bearer {hook_token}",
        body=b'{"hook_event_name": "Notification", "message": "hi"}',
    )
    assert answer.status == 200, answer.body
    # Its Claude Code ends a turn: a SessionTurn row.
    answer = receive_hook(authorization=f"Bearer {hook_token}", body=b'{"hook_event_name": "Stop"}')
    assert answer.status == 200, answer.body
    fill_billing(user, session, hook_token)
    return {
        "session": session,
        "token": token_row,
        "hook_token": hook_token,
        "template": template,
        "alerting": fill_alerting(user),
        "integrations": fill_integrations(user, session),
    }


def fill_billing(user, session, hook_token: str) -> None:
    """A tool-rate override, a budget, and (through a hook's tool call and a model response)
    the month's Spend rows and a TokenCharge, for the user's organization."""
    organization = user.organization
    billing_services.add_tool_rate(
        actor=user, organization=organization, tool="Bash", per_execution_usd=Decimal("0.01")
    )
    billing_services.set_budget(
        actor=user, organization=organization, monthly_limit_usd=Decimal(100)
    )
    for name in ("PreToolUse", "PostToolUse"):
        body = {"hook_event_name": name, "tool_name": "Bash", "tool_use_id": "toolu_rls"}
        answer = receive_hook(authorization=f"Bearer {hook_token}", body=json.dumps(body).encode())
        assert answer.status == 200, answer.body
    usage = {"input_tokens": 10, "output_tokens": 5}
    payload = {"hook_event_name": "AssistantMessage", "message_id": "m", "usage": usage}
    with tenant_context(organization):
        ingest(session=session, payload=payload)
        session.refresh_from_db()
        CostDrift.objects.create(
            session=session,
            organization=organization,
            recorded_usd=session.cost_usd,
            recomputed_usd=0,
            claude_usd=0,
            found_at=timezone.now(),
        )


def fill_alerting(user) -> list[str]:
    """A channel, a rule notifying it, a silence, an alert, its notification and delivery
    (every alerting table) for the user's organization; their ids."""
    organization = user.organization
    channel = alert_services.create_channel(
        actor=user,
        organization=organization,
        kind="email",
        name="mail",
        config={"to": ["ops@example.com"]},
    )
    rule = alert_services.create_rule(
        actor=user,
        organization=organization,
        name="failures",
        kind="session_failed",
        channels=[str(channel.pk)],
    )
    now = timezone.now()
    silence = alert_services.create_silence(
        actor=user,
        organization=organization,
        rule=rule,
        subject="nothing",
        reason="test",
        ends_at=now + timedelta(hours=1),
    )
    alert_services.apply_findings(
        rule=rule, findings=[Finding("subject", "summary")], now=now, complete=True
    )
    notification = alert_services.notify_due(rule=rule, now=now + timedelta(minutes=1))
    alert = rule.alerts.get()
    delivery = notification.deliveries.get()
    return [str(o.pk) for o in (channel, rule, silence, alert, notification, delivery)]


def fill_integrations(user, session) -> list[str]:
    """An integration, a pull request's thread on the fill's session and a delivery (every
    integrations table) for the user's organization; their ids."""
    with override_settings(INTEGRATION_ALLOWED_PRIVATE_HOSTS=["127.0.0.1"]):
        integration = integration_services.create_integration(
            actor=user,
            provider="github",
            repository=f"{user.organization.slug}/widgets",
            api_url="http://127.0.0.1:9",
            api_token="token",
        )
    thread = PullRequestThread.objects.create(
        organization=user.organization, integration=integration, number=1, session=session
    )
    delivery = integration_services.receive_delivery(
        integration=integration, delivery_key=uuid.uuid4().hex, event="ping", outcome="ping"
    )
    Delivery.objects.filter(pk=delivery.pk).update(thread=thread, session=session)
    return [str(o.pk) for o in (integration, thread, delivery)]


def sql_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT organization_id FROM "{table}"')
        return cursor.fetchall()


pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_application_role_is_restricted():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
            "AND tableowner = current_user"
        )
        assert cursor.fetchone() == (0,)


def test_every_tenant_table_is_forced_under_row_level_security():
    tables = tenant_tables()
    assert "agent_sessions_session" in tables and "agent_sessions_hookevent" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity "
            "AND relname = ANY(%s)",
            [tables],
        )
        forced = {row[0] for row in cursor.fetchall()}
    assert set(tables) - forced == set()


def test_raw_sql_without_context_sees_no_rows(owner, outsider):
    fill(owner), fill(outsider)
    with entered(NO_SCOPE):
        for table in tenant_tables():
            assert sql_rows(table) == [], table


def test_one_organizations_context_never_sees_anothers(owner, outsider):
    fill(owner), fill(outsider)
    for user, other in ((owner, outsider), (outsider, owner)):
        with tenant_context(user.organization):
            for table in tenant_tables():
                seen = {row[0] for row in sql_rows(table)}
                assert other.organization_id not in seen, table
                if table in SHARED_WHEN_NULL:
                    # Platform rows (the built-ins) are every organization's to read.
                    seen.discard(None)
                if table not in ("tenants_auditevent",):
                    assert seen == {user.organization_id}, table


def refused(statement: str, params: list) -> bool:
    """Whether the statement (its deferred keys checked at once) fails."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except DatabaseError:
        return True
    return False


def test_a_context_cannot_write_into_another_organization(owner, outsider):
    fill(owner)
    theirs = fill(outsider)["session"]
    with tenant_context(owner.organization):
        # Its own organization column, someone else's session: the composite key refuses it.
        assert refused(
            "INSERT INTO agent_sessions_sessionmessage "
            "(session_id, organization_id, seq, direction, content, created_at) "
            "VALUES (%s, %s, 99, 'user', 'x', now())",
            [theirs.pk, owner.organization_id],
        )
        # Moving its rows to another organization: the policy's check refuses it.
        assert refused(
            "UPDATE agent_sessions_session SET organization_id = %s",
            [outsider.organization_id],
        )
        assert not refused("UPDATE agent_sessions_session SET name = name", [])


@pytest.mark.parametrize(
    "statement",
    [
        'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
        'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        'DROP POLICY tenant_isolation ON "{table}"',
        'ALTER POLICY tenant_isolation ON "{table}" USING (true)',
        'CREATE POLICY everything ON "{table}" USING (true)',
        "SET ROLE {owner}",
    ],
)
def test_the_application_role_cannot_switch_security_off(statement, settings):
    from tenants.db_roles import role_of

    owner = role_of(settings.DATABASE_OWNER_URL)[0] if settings.DATABASE_OWNER_URL else "postgres"
    for table in tenant_tables():
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(table=table, owner=f'"{owner}"'))


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_carries_nothing_between_requests(owner, outsider):
    mine, theirs = fill(owner)["session"], fill(outsider)["session"]
    seen = []
    for user, session in ((owner, mine), (outsider, theirs), (owner, mine)):
        client = Client()
        assert client.login(username=user.username, password=PASSWORD)
        with entered(NO_SCOPE):
            listed = client.get("/api/sessions/").json()["results"]
            # Back from the request (its connection handed back to the pool): nothing is set.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_backend_pid(), current_setting('app.current_org_id', true), "
                    "(SELECT count(*) FROM agent_sessions_session)"
                )
                pid, left_over, visible = cursor.fetchone()
        assert [row["id"] for row in listed] == [str(session.pk)]
        assert (left_over or "", visible) == ("", 0)
        seen.append(pid)
        connection.close()
    assert len(seen) == 3


def test_the_bypass_writes_an_audit_event(superuser, owner, outsider):
    fill(owner), fill(outsider)
    with platform_bypass("count every session", actor=superuser):
        assert {row[0] for row in sql_rows("agent_sessions_session")} == {
            owner.organization_id,
            outsider.organization_id,
        }
    event = AuditEvent.objects.filter(action=AuditAction.BYPASS_USED).get()
    assert (event.actor, event.organization, event.details) == (
        superuser,
        None,
        {"reason": "count every session"},
    )


def test_a_superuser_request_goes_through_the_audited_bypass(api, superuser, owner):
    fill(owner)
    client = api(superuser)
    with entered(NO_SCOPE):
        answer = client.get("/api/sessions/")
    assert answer.status_code == 200 and answer.json()["count"] == 1
    reasons = [
        e.details["reason"] for e in AuditEvent.objects.filter(action=AuditAction.BYPASS_USED)
    ]
    assert "superuser GET /api/sessions/" in reasons


# --- another organization's object is a 404 on every route ----------------------------------


def candidates(route: str, theirs: dict) -> list[tuple[str, str]]:
    """(path, ghost) pairs: the route with its parameters filled with another organization's
    objects (each of their uuids for a uuid parameter, so a route naming a new kind of object
    is tried with all), and the same route naming objects that do not exist."""
    slug = theirs["session"].organization.slug
    if not re.search(r"<[^>]+>|\(\?P<", route):
        return []
    pairs = []
    ids = (str(theirs["session"].pk), str(theirs["token"].pk), str(theirs["template"].pk))
    for value in (*ids, *theirs["alerting"], *theirs["integrations"]):
        pairs.append((_fill(route, value, slug), _fill(route, str(uuid.uuid4()), "no-such-org")))
    return sorted(set(pairs))


def _fill(route: str, value: str, slug: str) -> str:
    path = re.sub(r"<uuid:\w+>|\(\?P<pk>[^)]*\)", value, route)
    path = re.sub(r"<(?:slug:)?slug>|\(\?P<slug>[^)]*\)", slug, path)
    return "/" + path.replace("^", "").replace("$", "")


@pytest.mark.django_db(transaction=True)
def test_every_route_answers_404_for_another_organizations_object(owner, outsider):
    """Walks the URL configuration: a new route is covered as it is added. Each answer is a
    404 (or 405), or exactly what the same route answers for an object that does not exist
    (a permission refused before any lookup): never a success, never a tell."""
    theirs = fill(outsider)
    client = Client(raise_request_exception=False)
    assert client.login(username=owner.username, password=PASSWORD)
    checked, failures = [], []
    for route in routes():
        if route.startswith("^static"):
            continue
        for path, ghost in candidates(route, theirs):
            for method in METHODS:
                with entered(NO_SCOPE):
                    answer = getattr(client, method)(path, {}, content_type="application/json")
                    if answer.status_code not in (404, 405):
                        absent = getattr(client, method)(ghost, {}, content_type="application/json")
                        if answer.status_code < 400 or answer.status_code != absent.status_code:
                            failures.append((method, path, answer.status_code))
                checked.append((method, path))
    assert len(checked) > 40
    assert f"/api/sessions/{theirs['session'].pk}/stream" in {p for _, p in checked}
    assert f"/sessions/{theirs['session'].pk}/" in {p for _, p in checked}
    assert not failures, failures


def test_hook_posts_reach_no_other_organizations_session(owner, outsider):
    mine, theirs = fill(owner), fill(outsider)
    recorded = theirs["session"].hook_events.count()  # what fill itself posted
    forged = f"{theirs['session'].pk.hex}.{mine['hook_token'].partition('.')[2]}"
    with entered(NO_SCOPE):
        answer = receive_hook(authorization=f"Bearer {forged}", body=b"{}")
        assert answer.status == 401
        answer = receive_hook(
            authorization=f"Bearer {mine['hook_token']}",
            body=b'{"hook_event_name": "Notification"}',
            expected_session=str(theirs["session"].pk),
        )
        assert answer.status == 403
    assert theirs["session"].hook_events.count() == recorded
    assert hook_tokens.session_id_of(forged) == theirs["session"].pk


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_websocket_route_refuses_another_organizations_session(owner, outsider):
    theirs = await sync_to_async(fill)(outsider)
    token = await sync_to_async(api_token_for)(owner)
    routes = [str(p.pattern) for p in websocket_urlpatterns if "<uuid:" in str(p.pattern)]
    assert routes
    for route in routes:
        path = "/" + re.sub(r"<uuid:\w+>", str(theirs["session"].pk), route)
        with entered(NO_SCOPE):
            communicator = WebsocketCommunicator(
                application,
                f"{path}?after=0&token={token}",
                headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")],
            )
            connected, _ = await communicator.connect(timeout=5)
        assert not connected, path
        await communicator.wait()
