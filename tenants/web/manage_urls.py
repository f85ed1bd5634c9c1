"""The organization management pages under /org/ (namespace `org-manage`): members,
settings, the audit trail, and the page an invitation links to."""

from __future__ import annotations

from django.urls import path

from . import audit_views, members, org_settings_views

app_name = "org-manage"

USERNAME = "<str:username>"

urlpatterns = [
    path("members/", members.member_list, name="members"),
    path("members/add/", members.member_add, name="member-add"),
    path(f"members/{USERNAME}/", members.member_detail, name="member"),
    path(f"members/{USERNAME}/role/", members.member_role, name="member-role"),
    path(f"members/{USERNAME}/deactivate/", members.member_deactivate, name="member-deactivate"),
    path(f"members/{USERNAME}/reactivate/", members.member_reactivate, name="member-reactivate"),
    path(f"members/{USERNAME}/invite/", members.member_invite_again, name="member-invite"),
    path(
        f"members/{USERNAME}/tokens/<uuid:token_id>/revoke/",
        members.member_token_revoke,
        name="member-token-revoke",
    ),
    path("settings/", org_settings_views.settings_page, name="settings"),
    path("settings/git-credential/", org_settings_views.git_credential_set, name="git-credential"),
    path(
        "settings/git-credential/remove/",
        org_settings_views.git_credential_remove,
        name="git-credential-remove",
    ),
    path("audit/", audit_views.audit_list, name="audit"),
    path("invite/<str:uidb64>/<str:token>/", members.invite_accept, name="invite-accept"),
]
