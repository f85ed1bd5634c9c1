"""Members pages: an organization's admins list, add, re-role, deactivate and reactivate
its members and revoke their API tokens. Thin views over tenants.services and selectors."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import invitations, selectors, services, tenancy
from ..models import User
from .manage_access import dashboard_login_required, no_organization, require_org_admin
from .manage_forms import ADD_WITH_INVITE, AddMemberForm, RoleForm, SetPasswordForm


def _admin_page(request: HttpRequest) -> HttpResponse | None:
    answer = no_organization(request, "Members")
    if answer is None:
        require_org_admin(request)
    return answer


@require_GET
@dashboard_login_required
def member_list(request: HttpRequest) -> HttpResponse:
    answer = _admin_page(request)
    if answer is not None:
        return answer
    return _render_list(request, AddMemberForm())


def _render_list(request: HttpRequest, form: AddMemberForm, status: int = 200) -> HttpResponse:
    organization = request.user.organization
    members = selectors.members_of(request.user, organization)
    context = {"members": members, "form": form, "organization": organization}
    return render(request, "tenants/members.html", context, status=status)


@require_POST
@dashboard_login_required
def member_add(request: HttpRequest) -> HttpResponse:
    answer = _admin_page(request)
    if answer is not None:
        return answer
    form = AddMemberForm(request.POST)
    if not form.is_valid():
        return _render_list(request, form, status=400)
    fields = {key: form.cleaned_data[key] for key in ("username", "email", "role")}
    organization = request.user.organization
    try:
        if form.cleaned_data["method"] == ADD_WITH_INVITE:
            member = services.invite_member(
                organization=organization,
                actor=request.user,
                base_url=_base_url(request),
                **fields,
            )
        else:
            member, password = services.add_member_with_one_time_password(
                organization=organization, actor=request.user, **fields
            )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render_list(request, form, status=400)
    if form.cleaned_data["method"] == ADD_WITH_INVITE:
        messages.success(
            request, f"Invited {member.username}: a link was mailed to {member.email}."
        )
        return redirect("org-manage:members")
    # The one time the password can be shown: on this answer, never stored, never again.
    return render(request, "tenants/member_added.html", {"member": member, "password": password})


def _base_url(request: HttpRequest) -> str:
    return settings.PUBLIC_URL or request.build_absolute_uri("/")


@require_GET
@dashboard_login_required
def member_detail(request: HttpRequest, username: str) -> HttpResponse:
    answer = _admin_page(request)
    if answer is not None:
        return answer
    return _render_detail(request, _member(request, username), RoleForm())


def _member(request: HttpRequest, username: str) -> User:
    return selectors.get_member_for(request.user, request.user.organization, username)


def _render_detail(
    request: HttpRequest, member: User, form: RoleForm, status: int = 200
) -> HttpResponse:
    form.initial.setdefault("role", member.role)
    tokens = selectors.api_tokens_of_member(request.user, member)
    context = {"member": member, "role_form": form, "tokens": tokens}
    return render(request, "tenants/member_detail.html", context, status=status)


@require_POST
@dashboard_login_required
def member_role(request: HttpRequest, username: str) -> HttpResponse:
    answer = _admin_page(request)
    if answer is not None:
        return answer
    member = _member(request, username)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, member, form, status=400)
    return _change(
        request,
        member,
        lambda: services.change_member_role(
            member=member, actor=request.user, role=form.cleaned_data["role"]
        ),
        f"{member.username} is now {form.cleaned_data['role']}.",
    )


@require_POST
@dashboard_login_required
def member_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    return _member_action(
        request,
        username,
        lambda member: services.deactivate_member(member=member, actor=request.user),
        "{name} is deactivated; their API tokens are revoked.",
    )


@require_POST
@dashboard_login_required
def member_reactivate(request: HttpRequest, username: str) -> HttpResponse:
    return _member_action(
        request,
        username,
        lambda member: services.reactivate_member(member=member, actor=request.user),
        "{name} is active again.",
    )


@require_POST
@dashboard_login_required
def member_invite_again(request: HttpRequest, username: str) -> HttpResponse:
    return _member_action(
        request,
        username,
        lambda member: services.resend_invitation(
            member=member, actor=request.user, base_url=_base_url(request)
        ),
        "A new link was mailed to {email}.",
    )


def _member_action(request: HttpRequest, username: str, act, done: str) -> HttpResponse:
    """An admin's one-click change of a member: `act(member)` runs one service, `done` says
    what happened (formatted with the member's name and email)."""
    answer = _admin_page(request)
    if answer is not None:
        return answer
    member = _member(request, username)
    message = done.format(name=member.username, email=member.email)
    return _change(request, member, lambda: act(member), message)


@require_POST
@dashboard_login_required
def member_token_revoke(request: HttpRequest, username: str, token_id: uuid.UUID) -> HttpResponse:
    answer = _admin_page(request)
    if answer is not None:
        return answer
    member = _member(request, username)
    token = selectors.get_api_token_for(request.user, token_id)
    if token.user_id != member.pk:
        return redirect("org-manage:member", username=member.username)
    services.revoke_api_token(token=token, actor=request.user)
    messages.success(request, f"Token {token.prefix}… of {member.username} is revoked.")
    return redirect("org-manage:member", username=member.username)


def _change(request: HttpRequest, member: User, change, done: str) -> HttpResponse:
    """Run one service; its refusal (the last admin, say) is shown on the member's page."""
    try:
        change()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("org-manage:member", username=member.username)
    messages.success(request, done)
    request.user.refresh_from_db(fields=["role", "is_active"])
    if not request.user.is_org_admin:  # an admin who made themselves a user
        return redirect("sessions:list")
    return redirect("org-manage:member", username=member.username)


@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The page an invitation links to: the new member sets a password and is logged in."""
    user = invitations.invited_user(uidb64, token)
    if user is None:
        return render(request, "tenants/invite_invalid.html", status=400)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            # The link's token proved who this is: they act for their own organization.
            with tenancy.tenant_context(user.organization_id):
                services.accept_invitation(user=user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error("password", exc.message_dict.get("password", exc.messages))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {user.organization}.")
            return redirect("sessions:list")
    status = 400 if form.errors else 200
    context = {"form": form, "invited": user}
    return render(request, "tenants/invite_accept.html", context, status=status)
