"""Dashboard forms for templates. They only shape input into a config (templates/config.py);
the rules live there and in the services, whose field errors the views attach here."""

from __future__ import annotations

from django import forms

from sessions.choices import ProjectType
from tenants.org_settings import PERMISSION_MODES

from ..choices import TemplateScope

VARIABLES_HELP = (
    "One per line: a name, `name = default` for a default, and a leading `*` for a required "
    "one (`*pr_number`, `branch = main`). Use them in the prompt as {name}."
)


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=60, required=False, help_text="Optional; made from the name otherwise."
    )
    description = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    scope = forms.ChoiceField(choices=TemplateScope.choices, initial=TemplateScope.ORGANIZATION)
    initial_prompt = forms.CharField(
        label="Prompt", max_length=100_000, required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    variables = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=VARIABLES_HELP
    )
    project_type = forms.ChoiceField(
        label="Project type",
        choices=[("", "Chosen at launch"), *ProjectType.choices],
        required=False,
    )
    github_repo = forms.CharField(label="GitHub repository", max_length=500, required=False)
    git_ref = forms.CharField(label="Branch or ref", max_length=255, required=False)
    local_path = forms.CharField(label="Local folder", max_length=1000, required=False)
    model = forms.CharField(max_length=100, required=False)
    allowed_tools = forms.CharField(
        label="Allowed tools", max_length=5000, required=False, help_text="Comma-separated."
    )
    permission_mode = forms.ChoiceField(
        label="Permission mode",
        choices=[("", "The organization's default"), *((m, m) for m in PERMISSION_MODES)],
        required=False,
    )
    max_turns = forms.IntegerField(label="Max turns", min_value=1, required=False)
    max_duration = forms.CharField(
        label="Max duration", max_length=100, required=False, help_text="Like '2 hours' or '90m'."
    )
    auto_close = forms.BooleanField(
        label="Auto-close after the first turn (no follow-ups)", required=False
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            # A template keeps its scope and slug; only what it makes changes.
            del self.fields["scope"], self.fields["slug"]

    def clean_variables(self) -> list[dict]:
        declared = []
        for line in self.cleaned_data["variables"].splitlines():
            line = line.strip()
            if not line:
                continue
            name, _, default = (part.strip() for part in line.partition("="))
            required = name.startswith("*")
            declared.append(
                {"name": name.lstrip("*").strip(), "default": default, "required": required}
            )
        return declared

    def config(self) -> dict:
        data = self.cleaned_data
        config = {
            key: data[key]
            for key in ("initial_prompt", "variables", "github_repo", "git_ref", "local_path")
            if data.get(key)
        }
        if data.get("project_type"):
            config["project_type"] = data["project_type"]
        config["metadata"] = self._agent_settings()
        return config

    def _agent_settings(self) -> dict:
        data, settings = self.cleaned_data, {}
        tools = [t.strip() for t in (data.get("allowed_tools") or "").split(",") if t.strip()]
        for key, value in (
            ("model", data.get("model")),
            ("allowedTools", tools),
            ("permissionMode", data.get("permission_mode")),
            ("maxTurns", data.get("max_turns")),
            ("maxDuration", data.get("max_duration")),
        ):
            if value:
                settings[key] = value
        if data.get("auto_close"):
            settings["autoClose"] = True
        return settings


def initial_from_config(name: str, description: str, config: dict) -> dict:
    """A form's initial values from a version's config (or a session's settings)."""
    metadata = config.get("metadata") or {}
    variables = "\n".join(
        ("*" if v.get("required") else "")
        + v["name"]
        + (f" = {v['default']}" if v.get("default") else "")
        for v in config.get("variables", [])
    )
    return {
        "name": name,
        "description": description,
        "initial_prompt": config.get("initial_prompt", ""),
        "variables": variables,
        "project_type": config.get("project_type", ""),
        "github_repo": config.get("github_repo", ""),
        "git_ref": config.get("git_ref", ""),
        "local_path": config.get("local_path", ""),
        "model": metadata.get("model", ""),
        "allowed_tools": ", ".join(metadata.get("allowedTools") or []),
        "permission_mode": metadata.get("permissionMode", ""),
        "max_turns": metadata.get("maxTurns"),
        "max_duration": metadata.get("maxDuration", ""),
        "auto_close": bool(metadata.get("autoClose")),
    }
