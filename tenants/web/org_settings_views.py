"""The organization settings page: admins edit, members read. Local roots are shown only
(operators grant them); the git credential can be set, replaced or removed, never read."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors, services
from .manage_access import dashboard_login_required, no_organization, require_org_admin
from .manage_forms import GitCredentialForm, OrganizationSettingsForm


@require_http_methods(["GET", "POST"])
@dashboard_login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    answer = no_organization(request, "Organization settings")
    if answer is not None:
        return answer
    organization = request.user.organization
    if request.method == "GET":
        form = OrganizationSettingsForm(initial=OrganizationSettingsForm.initial_for(organization))
        return _render(request, form, GitCredentialForm())
    require_org_admin(request)
    form = OrganizationSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.update_organization_settings(
                organization=organization,
                actor=request.user,
                name=form.cleaned_data["name"],
                session_defaults=form.session_defaults(),
                session_visibility=form.cleaned_data["session_visibility"],
            )
        except ValidationError as exc:
            _attach(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("org-manage:settings")
    return _render(request, form, GitCredentialForm(), status=400)


def _attach(form, exc: ValidationError) -> None:
    """The service's errors onto the form: a field's on it, the settings' rules above it."""
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _render(request: HttpRequest, form, git_form, status: int = 200) -> HttpResponse:
    organization = request.user.organization
    context = {
        "form": form,
        "git_form": git_form,
        "organization": organization,
        "can_edit": request.user.is_org_admin,
        "local_roots": organization.local_roots,
        "usable_roots": {str(root) for root in selectors.local_roots_of(organization)},
    }
    return render(request, "tenants/org_settings.html", context, status=status)


@require_POST
@dashboard_login_required
def git_credential_set(request: HttpRequest) -> HttpResponse:
    answer = no_organization(request, "Organization settings")
    if answer is not None:
        return answer
    require_org_admin(request)
    organization = request.user.organization
    git_form = GitCredentialForm(request.POST)
    if git_form.is_valid():
        data = git_form.cleaned_data
        try:
            services.set_git_credential(
                organization=organization,
                actor=request.user,
                token=data["token"],
                username=data["username"] or services.DEFAULT_GIT_USERNAME,
                host=data["host"],
            )
        except ValidationError as exc:
            _attach(git_form, exc)
        else:
            messages.success(request, "Git credential saved; it will not be shown again.")
            return redirect("org-manage:settings")
    form = OrganizationSettingsForm(initial=OrganizationSettingsForm.initial_for(organization))
    return _render(request, form, git_form, status=400)


@require_POST
@dashboard_login_required
def git_credential_remove(request: HttpRequest) -> HttpResponse:
    answer = no_organization(request, "Organization settings")
    if answer is not None:
        return answer
    require_org_admin(request)
    services.clear_git_credential(organization=request.user.organization, actor=request.user)
    messages.success(request, "Git credential removed.")
    return redirect("org-manage:settings")
