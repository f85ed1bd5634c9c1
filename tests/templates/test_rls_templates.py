"""Row-level security on templates, with the application connected as its restricted role:
platform templates (no organization) are read by every organization's context and written
by none; an organization's templates stay its own."""

from __future__ import annotations

import pytest
from django.db import connection

from templates.models import SessionTemplate, TemplateVersion
from tenants.context import NO_SCOPE, entered
from tenants.tenancy import tenant_context
from tests.templates.conftest import make_template
from tests.tenants.test_rls import refused

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def visible_slugs() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT slug FROM session_templates_sessiontemplate")
        return {row[0] for row in cursor.fetchall()}


def test_platform_templates_are_shared_for_reading_only(builtins, member, outsider):
    make_template(member, slug="acme-only")
    make_template(outsider, slug="globex-only")
    with entered(NO_SCOPE):
        assert visible_slugs() == set()
    with tenant_context(member.organization):
        assert visible_slugs() == set(builtins) | {"acme-only"}
        with connection.cursor() as cursor:
            # Seen, but not the context's to change or remove.
            cursor.execute(
                "UPDATE session_templates_sessiontemplate SET name = 'mine now' "
                "WHERE organization_id IS NULL"
            )
            assert cursor.rowcount == 0
            cursor.execute(
                "DELETE FROM session_templates_templateversion WHERE organization_id IS NULL"
            )
            assert cursor.rowcount == 0
        assert refused(
            "INSERT INTO session_templates_sessiontemplate (id, slug, name, description, scope,"
            " latest_version, created_at, updated_at) VALUES (gen_random_uuid(), 'forged',"
            " 'Forged', '', 'platform', 0, now(), now())",
            [],
        )
    assert SessionTemplate.objects.get(slug="code-review").name == "Code review"


def test_a_version_cannot_hang_off_another_organizations_template(member, outsider):
    theirs = make_template(outsider)
    with tenant_context(member.organization):
        assert refused(
            "INSERT INTO session_templates_templateversion (id, template_id, organization_id,"
            " number, name, description, config, created_at) VALUES (gen_random_uuid(), %s, %s,"
            " 9, 'x', '', '{}', now())",
            [theirs.pk, member.organization_id],
        )
    assert TemplateVersion.objects.filter(template=theirs).count() == 1
