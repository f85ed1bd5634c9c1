"""The templates' dashboard pages: list, create, edit (with its versions and their diffs),
archive, "save a session as a template", and launching from the new-session form.

Views stay thin: find what the user may see (selectors, 404 otherwise), parse a form, call
one service, answer; the services refuse what the user may not do (403)."""

from __future__ import annotations

import difflib
import json
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions import selectors as session_selectors
from sessions.web.forms import NewSessionForm
from sessions.web.views import dashboard_login_required, render_new_session
from tenants.quotas import QuotaExceeded

from .. import launch, permissions, selectors, services
from ..choices import TemplateScope
from .forms import TemplateForm, initial_from_config

SCOPE_ORDER = (TemplateScope.PERSONAL, TemplateScope.ORGANIZATION, TemplateScope.PLATFORM)


@require_GET
@dashboard_login_required
def template_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    templates = list(selectors.templates_visible_to(request.user, archived=archived))
    groups = [
        (TemplateScope(scope).label, [t for t in templates if t.scope == scope])
        for scope in SCOPE_ORDER
    ]
    for template in templates:
        template.editable = permissions.may_edit(request.user, template)
    context = {
        "groups": [(label, items) for label, items in groups if items],
        "archived": archived,
        "may_launch": permissions.may_launch(request.user),
        "may_create": request.user.is_superuser or permissions.may_launch(request.user),
    }
    return render(request, "session_templates/template_list.html", context)


@require_http_methods(["GET", "POST"])
@dashboard_login_required
def template_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = TemplateForm(initial=_initial_for_new(request))
    else:
        form = TemplateForm(request.POST)
        if form.is_valid():
            template = _save(form, lambda: _create(request, form))
            if template is not None:
                messages.success(request, f"Template {template.name} created (version 1).")
                return redirect("templates:detail", template_id=template.pk)
    status = 400 if form.errors else 200
    return render(request, "session_templates/template_form.html", {"form": form}, status=status)


def _initial_for_new(request: HttpRequest) -> dict:
    """Empty, or a session's settings ("Save as template" on its page)."""
    scope = TemplateScope.PLATFORM if request.user.is_superuser else TemplateScope.ORGANIZATION
    session_id = request.GET.get("from_session")
    if not session_id:
        return {"scope": scope}
    session = session_selectors.get_session_for(request.user, session_id)
    config = {
        "initial_prompt": session.initial_prompt,
        "project_type": session.project_type,
        "github_repo": session.github_repo,
        "git_ref": session.git_ref,
        "local_path": session.local_path,
        "metadata": session.metadata,
    }
    return {**initial_from_config(session.name, "", config), "scope": scope}


def _create(request: HttpRequest, form: TemplateForm):
    data = form.cleaned_data
    return services.create_template(
        actor=request.user,
        scope=data["scope"],
        slug=data["slug"],
        name=data["name"],
        description=data["description"],
        config=form.config(),
    )


def _save(form: TemplateForm, write):
    """What `write` returns, or None with the service's reasons on the form."""
    try:
        return write()
    except ValidationError as exc:
        attach_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
    return None


def attach_errors(form, exc: ValidationError) -> None:
    """The service's errors on the form's fields; those of keys it has no field for
    (config, variables, metadata) above the form, each naming its key."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, [f"{field}: {error}" for error in errors])


@require_http_methods(["GET", "POST"])
@dashboard_login_required
def template_detail(request: HttpRequest, template_id: uuid.UUID) -> HttpResponse:
    template = selectors.get_template_for(request.user, template_id)
    editable = permissions.may_edit(request.user, template)
    latest = selectors.latest_version(template)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied("You may read this template but not edit it.")
        form = TemplateForm(request.POST, editing=True)
        if form.is_valid():
            changes = {**form.cleaned_data, "config": _replacing(latest.config, form.config())}
            changes = {key: changes[key] for key in ("name", "description", "config")}
            edit = lambda: services.update_template(  # noqa: E731
                template=template, actor=request.user, changes=changes
            )
            if _save(form, edit) is not None:
                messages.success(request, "Saved as a new version.")
                return redirect("templates:detail", template_id=template.pk)
    else:
        form = TemplateForm(
            initial=initial_from_config(latest.name, latest.description, latest.config),
            editing=True,
        )
    context = {
        "template": template,
        "latest": latest,
        "versions": selectors.versions_of(template),
        "form": form,
        "editable": editable,
        "may_launch": permissions.may_launch(request.user),
        "config_json": json.dumps(latest.config, indent=2, ensure_ascii=False),
    }
    status = 400 if form.errors else 200
    return render(request, "session_templates/template_detail.html", context, status=status)


def _replacing(current: dict, wanted: dict) -> dict:
    """The merge patch that turns `current` into `wanted`: the form shows the whole config,
    so a key it leaves out is removed (null), not kept."""
    patch: dict = {key: None for key in current if key not in wanted}
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            patch[key] = _replacing(current[key], value)
        else:
            patch[key] = value
    return patch


@require_GET
@dashboard_login_required
def template_diff(request: HttpRequest, template_id: uuid.UUID) -> HttpResponse:
    template = selectors.get_template_for(request.user, template_id)
    newer = selectors.get_version(template, request.GET.get("to", template.latest_version))
    older = selectors.get_version(template, request.GET.get("from", max(newer.number - 1, 1)))
    lines = difflib.unified_diff(
        _readable(older),
        _readable(newer),
        fromfile=f"version {older.number}",
        tofile=f"version {newer.number}",
        lineterm="",
    )
    context = {
        "template": template,
        "older": older,
        "newer": newer,
        "lines": [(_kind(line), line) for line in lines],
        "versions": selectors.versions_of(template),
    }
    return render(request, "session_templates/template_diff.html", context)


def _readable(version) -> list[str]:
    """A version as lines a person compares: its texts, then its config as sorted JSON."""
    config = dict(version.config)
    prompt = config.pop("initial_prompt", "")
    head = [f"name: {version.name}", f"description: {version.description}", "prompt:"]
    return [
        *head,
        *prompt.splitlines(),
        "settings:",
        *json.dumps(config, indent=2, sort_keys=True).splitlines(),
    ]


def _kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    return {"+": "added", "-": "removed", "@": "hunk"}.get(line[:1], "same")


@require_POST
@dashboard_login_required
def template_archive(request: HttpRequest, template_id: uuid.UUID) -> HttpResponse:
    template = selectors.get_template_for(request.user, template_id)
    archive = not template.is_archived
    services.update_template(template=template, actor=request.user, changes={"archived": archive})
    messages.success(request, f"Template {'archived' if archive else 'restored'}.")
    return redirect("templates:detail", template_id=template.pk)


@require_POST
@dashboard_login_required
def template_launch(request: HttpRequest) -> HttpResponse:
    """The new-session form, posted with a template chosen (its script sends it here)."""
    if not permissions.may_launch(request.user):
        raise PermissionDenied("Only an organization's admins and users start sessions.")
    template = selectors.get_template_for(request.user, request.POST.get("template", ""))
    form = NewSessionForm(request.POST)
    if form.is_valid():
        session = _launch(request, template, form)
        if session is not None:
            return redirect("sessions:detail", session_id=session.pk)
    status = 429 if getattr(form, "quota_exceeded", False) else 400
    return render_new_session(request, form, status=status)


def _launch(request: HttpRequest, template, form: NewSessionForm):
    """The form's fields are overrides of the template's (its prompt, with {variables}, is
    the one the user saw and perhaps edited); refused launches put the reasons on the form."""
    data = form.cleaned_data
    version = selectors.latest_version(template)
    prefix = "variable-"
    variables = {k[len(prefix) :]: v for k, v in request.POST.items() if k.startswith(prefix)}
    overrides = {key: data[key] for key in ("name", "initial_prompt") if data.get(key)}
    source = {key: data.get(key, "") for key in launch.SOURCE_FIELDS}
    try:
        fields = launch.session_request(
            version, source=source, variables=variables, overrides=overrides
        )
        return services.launch_session(
            version=version, actor=request.user, fields=fields, variables=variables
        )
    except ValidationError as exc:
        attach_errors(form, exc)
    except services.TemplateStateError as exc:
        form.add_error(None, str(exc))
    except QuotaExceeded as exc:
        form.add_error(None, exc.detail)
        form.quota_exceeded = True
    return None
