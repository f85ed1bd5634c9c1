"""The periodic job that measures each organization's workspaces on disk for its quotas."""

from __future__ import annotations

import os

import pytest
from django_celery_beat.models import PeriodicTask

from sessions import tasks
from sessions.workspaces import folders
from tenants import quotas, services
from tenants.models import OrganizationUsage

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspaces(settings, tmp_path):
    settings.WORKSPACES_DIR = tmp_path / "workspaces"
    return settings.WORKSPACES_DIR


def make_workspace(org, name: str, files: dict[str, int]):
    path = folders.workspace_path(organization_id=org.pk, session_id=name)
    for relative, size in files.items():
        (path / relative).parent.mkdir(parents=True, exist_ok=True)
        (path / relative).write_bytes(b"x" * size)
    return path


def test_the_job_stores_each_organizations_workspaces_and_bytes(workspaces, org, other_org):
    make_workspace(org, "s1", {"README.md": 1000, "src/app.py": 500})
    second = make_workspace(org, "s2", {"data.bin": 3000})
    os.link(second / "data.bin", second / "same-data.bin")  # a hard link takes space once
    (second / "link").symlink_to("/etc/passwd")  # a link counts as itself, never followed
    make_workspace(other_org, "s3", {"x": 7})

    assert tasks.measure_usage() == 2

    mine = OrganizationUsage.objects.get(organization=org)
    assert mine.workspaces == 2
    assert mine.storage_bytes == 4500 + len("/etc/passwd")
    assert mine.measured_at is not None
    theirs = OrganizationUsage.objects.get(organization=other_org)
    assert (theirs.workspaces, theirs.storage_bytes) == (1, 7)


def test_an_organization_with_no_folder_measures_zero(workspaces, org):
    tasks.measure_usage()
    usage = OrganizationUsage.objects.get(organization=org)
    assert (usage.workspaces, usage.storage_bytes) == (0, 0)


def test_a_removed_workspace_is_gone_from_the_next_measurement(workspaces, org):
    path = make_workspace(org, "s1", {"a": 10})
    tasks.measure_usage()
    folders.remove_workspace(path)
    tasks.measure_usage()
    assert OrganizationUsage.objects.get(organization=org).workspaces == 0


def test_the_measurement_feeds_the_storage_quota(workspaces, org, member):
    make_workspace(org, "s1", {"big": 2048})
    tasks.measure_usage()
    services.set_quotas(organization=org, actor=None, changes={"max_storage_gb": 0})
    with pytest.raises(quotas.QuotaExceeded) as refused:
        quotas.check_new_session(org, with_workspace=True)
    assert refused.value.quota == "max_storage_gb"
    assert quotas.usage_of(org).storage_bytes == 2048


def test_the_job_is_scheduled_and_editable_in_the_admin(db):
    task = PeriodicTask.objects.get(task="sessions.tasks.measure_usage")
    assert task.enabled
    assert task.interval.every == 10
