"""Dashboard forms. They only shape input: the rules live in validators and services, whose
field-level ValidationErrors the views attach to these forms."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from tenants import org_settings
from tenants.models import Organization, User
from tenants.selectors import local_roots_of

from .. import agent_options
from ..api.filters import MAX_SEARCH_CHARS
from ..choices import ProjectType, SessionMode, SessionStatus

# The fields that are the session's own (the rest are agent options, sent as its metadata).
SESSION_FIELDS = (
    "name",
    "project_type",
    "github_repo",
    "git_ref",
    "local_path",
    "initial_prompt",
    "mode",
)
# The advanced options: form field -> the session metadata key (sessions/agent_options.py).
AGENT_OPTIONS = {
    "model": "model",
    "permission_mode": "permissionMode",
    "allowed_tools": "allowedTools",
    "max_turns": "maxTurns",
    "max_duration": "maxDuration",
}
# Which field a service message about the options is about, by the words it names.
OPTION_WORDS = (
    ("permissionMode", "permission_mode"),
    ("allowedTools", "allowed_tools"),
    ("tools beyond", "allowed_tools"),
    ("maxTurns", "max_turns"),
    ("maxDuration", "max_duration"),
    ("model", "model"),
)
PERMISSION_MODE_LABELS = {
    "default": "Ask before risky tools (default)",
    "acceptEdits": "Accept file edits",
    "plan": "Plan only, change nothing",
    "bypassPermissions": "Bypass permissions (admins)",
}


class ToolChoiceField(forms.MultipleChoiceField):
    """Checkboxes of the tools the page offers (fit_to); any tool name validates here, and
    the services refuse the ones the user's role may not allow, naming them."""

    def valid_value(self, value) -> bool:
        return isinstance(value, str) and 0 < len(value) <= org_settings.MAX_TOOL_NAME


class NewSessionForm(forms.Form):
    # Required or not depending on the project type: the services say which; not "optional".
    required_by_choice = ("github_repo", "local_path")

    name = forms.CharField(max_length=200)
    project_type = forms.ChoiceField(
        choices=ProjectType.choices, initial=ProjectType.GITHUB, widget=forms.RadioSelect
    )
    github_repo = forms.CharField(
        label="GitHub repository",
        max_length=500,
        required=False,
        help_text="owner/name or a git URL.",
        widget=forms.TextInput(attrs={"placeholder": "acme/widgets", "autocomplete": "off"}),
    )
    git_ref = forms.CharField(
        label="Branch or ref",
        max_length=255,
        required=False,
        help_text="Optional; the default branch otherwise.",
    )
    local_path = forms.CharField(
        label="Local folder",
        max_length=1000,
        required=False,
        help_text="A folder inside one of your organization's local roots.",
    )
    initial_prompt = forms.CharField(
        label="Initial prompt",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    mode = forms.ChoiceField(
        choices=SessionMode.choices, initial=SessionMode.MANAGED, widget=forms.RadioSelect
    )
    # Advanced. Each is filled with what a session gets when it says nothing; left so, it is
    # not sent, and the organization's default applies exactly as through the API.
    model = forms.CharField(
        max_length=agent_options.MAX_MODEL_NAME,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "the server's"}),
    )
    permission_mode = forms.ChoiceField(
        label="Permission mode",
        # Every mode validates here: the services refuse what the role may not set (400),
        # the page only offers what it may (fit_to).
        choices=[(mode, PERMISSION_MODE_LABELS[mode]) for mode in agent_options.PERMISSION_MODES],
        required=False,
        widget=forms.RadioSelect,
    )
    allowed_tools = ToolChoiceField(
        label="Allowed tools",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: the default set.",
    )
    max_turns = forms.IntegerField(label="Max turns", min_value=1, required=False)
    max_duration = forms.IntegerField(
        label="Max duration (seconds)",
        min_value=1,
        required=False,
        help_text="A turn running longer is interrupted.",
    )

    def __init__(self, *args, user: User | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.agent_defaults: dict = {}
        self.local_enabled = True
        if user is not None:
            self.fit_to(user)

    def fit_to(self, user: User) -> None:
        """Offer what the server allows this user: the local option only when the
        organization has local roots, the permission modes the role may set, the tools of
        the organization's list; and show the defaults a session starts with."""
        organization = user.organization
        self.local_enabled = bool(organization and local_roots_of(organization))
        if not self.local_enabled:
            self.fields["project_type"].widget.choices = [
                choice for choice in ProjectType.choices if choice[0] != ProjectType.LOCAL
            ]
        self.agent_defaults = agent_defaults(organization)
        privileged = user.is_superuser or user.is_org_admin
        self.fields["permission_mode"].widget.choices = [
            (mode, label)
            for mode, label in self.fields["permission_mode"].choices
            if privileged
            or mode != agent_options.ADMIN_ONLY_MODE
            or mode == self.agent_defaults["permissionMode"]
        ]
        tools = org_settings.allowed_tools(organization, settings.AGENT_ALLOWED_TOOLS)
        tools = list(dict.fromkeys([*tools, *self.agent_defaults["allowedTools"]]))
        self.fields["allowed_tools"].choices = [(tool, tool) for tool in tools]
        limits = {
            "max_turns": ("maxTurns", org_settings.MAX_TURNS_CEILING),
            "max_duration": ("maxDuration", org_settings.MAX_DURATION_CEILING),
        }
        for field, (key, ceiling) in limits.items():
            upper = org_settings.limit(organization, key, ceiling)
            self.fields[field].widget.attrs["max"] = upper
            base = self.base_fields[field].help_text
            self.fields[field].help_text = f"{base} At most {upper}.".strip()
        for field, key in AGENT_OPTIONS.items():
            self.fields[field].initial = self.agent_defaults[key]

    @property
    def advanced_errors(self) -> bool:
        return any(field in self.errors for field in AGENT_OPTIONS)

    def clean(self) -> dict:
        data = super().clean()
        # Only the field of the chosen project type is sent on: a value left in the hidden
        # one would otherwise fail validation with an error the user cannot see.
        if data.get("project_type") == ProjectType.GITHUB:
            data["local_path"] = ""
        elif data.get("project_type") == ProjectType.LOCAL:
            data["github_repo"] = ""
            data["git_ref"] = ""
        return data

    def session_fields(self) -> dict:
        """What services.create_session takes, from the cleaned form."""
        fields = {key: self.cleaned_data[key] for key in SESSION_FIELDS}
        return {**fields, "metadata": self.agent_metadata()}

    def agent_metadata(self) -> dict:
        """The advanced options the user changed, as metadata keys. One left at its default
        is not sent: the service fills it in (and a privileged default an admin chose may
        be kept by anyone, the rule for defaults)."""
        metadata = {}
        for field, key in AGENT_OPTIONS.items():
            value = self.cleaned_data.get(field)
            if value in (None, "", []):
                continue
            default = self.agent_defaults.get(key)
            if value == default or (isinstance(value, list) and set(value) == set(default or [])):
                continue
            metadata[key] = value
        return metadata

    def add_service_errors(self, exc: ValidationError) -> None:
        """The service's errors on the fields they name; those about the agent options
        (its `metadata` key) on the option's field; the rest above the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, messages in exc.message_dict.items():
            for message in messages:
                field = self._field_of(key, message)
                self.add_error(field, message if field else f"{key}: {message}")

    def _field_of(self, key: str, message: str) -> str | None:
        if key == "metadata":
            return next((field for word, field in OPTION_WORDS if word in message), None)
        return key if key in self.fields else None


def agent_defaults(organization: Organization | None) -> dict:
    """What a new session of the organization runs with when it names no option: the
    organization's defaults (its settings' sessionDefaults), else the server's."""
    chosen = org_settings.session_defaults(organization)
    server = {
        "model": settings.AGENT_MODEL,
        "permissionMode": settings.AGENT_PERMISSION_MODE,
        "allowedTools": list(settings.AGENT_ALLOWED_TOOLS),
        "maxTurns": settings.AGENT_MAX_TURNS,
        "maxDuration": settings.AGENT_MAX_DURATION,
    }
    return {**server, **chosen}


class FollowUpForm(forms.Form):
    content = forms.CharField(
        label="Follow-up message",
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Ask for the next step…"}),
    )


class StopForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        required=False,
        help_text="Shown on the session's page and kept in the audit log.",
        # The field, not the Stop button, takes the focus: Enter alone must not stop.
        widget=forms.Textarea(attrs={"rows": 2, "autofocus": True}),
    )


class SessionFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        max_length=MAX_SEARCH_CHARS,
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, prompt or repository"}
        ),
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *SessionStatus.choices], required=False)
    project_type = forms.ChoiceField(
        label="Project type", choices=[("", "Any project"), *ProjectType.choices], required=False
    )
