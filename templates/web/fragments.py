"""What templates add to the sessions' dashboard pages (sessions/web/extensions.py)."""

from __future__ import annotations

import json

from django.template.loader import render_to_string

from .. import permissions, selectors
from ..choices import TemplateScope

SCOPE_GROUPS = (
    (TemplateScope.PERSONAL, "Personal"),
    (TemplateScope.ORGANIZATION, "Organization"),
    (TemplateScope.PLATFORM, "Built-in and platform"),
)


def template_selector(*, request) -> str:
    """The new-session form's template selector: the templates the user may launch, grouped
    by scope, with what the page's script needs to fill the form and preview the prompt."""
    user = request.user
    if not permissions.may_launch(user):
        return ""
    templates = list(selectors.templates_visible_to(user).prefetch_related("versions"))
    if not templates:
        return ""
    groups = [(label, [t for t in templates if t.scope == scope]) for scope, label in SCOPE_GROUPS]
    data = {str(t.pk): _selector_entry(t) for t in templates}
    # Chosen by a "Launch" link (?template=), or posted by a launch that was refused.
    chosen = request.GET.get("template") or request.POST.get("template", "")
    chosen = next((str(t.pk) for t in templates if chosen in (str(t.pk), t.slug)), "")
    context = {
        "groups": [(label, items) for label, items in groups if items],
        "templates_data": data,
        "chosen": chosen,
        "posted_variables": json.dumps(_posted_variables(request)),
    }
    return render_to_string("session_templates/_selector.html", context, request=request)


def _selector_entry(template) -> dict:
    version = next(v for v in template.versions.all() if v.number == template.latest_version)
    config = version.config
    return {
        "id": str(template.pk),
        "slug": template.slug,
        "name": template.name,
        "description": template.description,
        "version": version.number,
        "prompt": config.get("initial_prompt", ""),
        "variables": config.get("variables", []),
        "project_type": config.get("project_type", ""),
        "github_repo": config.get("github_repo", ""),
        "git_ref": config.get("git_ref", ""),
        "local_path": config.get("local_path", ""),
        "metadata": config.get("metadata", {}),
    }


def _posted_variables(request) -> dict:
    """Variables a refused launch posted, so the page shows them again."""
    prefix = "variable-"
    return {k[len(prefix) :]: v for k, v in request.POST.items() if k.startswith(prefix)}


def session_template_links(*, request, session) -> str:
    """On a session's page: the template and version it came from, and "Save as template"."""
    launch = selectors.launch_of(session)
    may_save = permissions.may_launch(request.user)
    if launch is None and not may_save:
        return ""
    visible = None
    if launch is not None:
        visible = selectors.templates_visible_to(request.user, archived=None).filter(
            pk=launch.template_id
        )
    context = {
        "session": session,
        "launch": launch,
        "template_visible": bool(visible and visible.exists()),
        "may_save": may_save,
    }
    return render_to_string("session_templates/_session_links.html", context, request=request)
