"""Forms of the organization management pages. They only shape input: the rules live in
the services and validators, whose errors the views attach to these forms."""

from __future__ import annotations

from django import forms

from .. import org_settings
from ..choices import AuditAction, Role, SessionVisibility

ADD_WITH_INVITE = "invite"
ADD_WITH_ONE_TIME_PASSWORD = "password"


class AddMemberForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Letters, digits and @ . + - _ only."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    email = forms.EmailField(required=False, help_text="Needed for an invitation.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.USER)
    method = forms.ChoiceField(
        label="How they get in",
        choices=[
            (ADD_WITH_INVITE, "Email them a link to set their password"),
            (ADD_WITH_ONE_TIME_PASSWORD, "Generate a one-time password, shown to you once"),
        ],
        initial=ADD_WITH_INVITE,
        widget=forms.RadioSelect,
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("method") == ADD_WITH_INVITE and not data.get("email"):
            self.add_error("email", "An invitation needs an email address.")
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), max_length=128
    )
    confirm = forms.CharField(
        label="Password again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        max_length=128,
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("confirm"):
            self.add_error("confirm", "The two passwords differ.")
        return data


class OrganizationSettingsForm(forms.Form):
    """The settings page; empty default fields mean "no default" (the server's applies)."""

    name = forms.CharField(max_length=200)
    model = forms.CharField(
        label="Default model", max_length=100, required=False, help_text="e.g. claude-sonnet-4-5"
    )
    allowed_tools = forms.CharField(
        label="Default allowed tools",
        required=False,
        max_length=20_000,
        help_text="Comma- or line-separated tool names, e.g. Read, Grep, Bash.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    permission_mode = forms.ChoiceField(
        label="Default permission mode",
        required=False,
        choices=[("", "(server default)")] + [(m, m) for m in org_settings.PERMISSION_MODES],
    )
    max_turns = forms.IntegerField(label="Default max turns", required=False, min_value=1)
    max_duration = forms.IntegerField(
        label="Default max duration (seconds)", required=False, min_value=1
    )
    session_visibility = forms.ChoiceField(
        label="Who sees which sessions",
        choices=SessionVisibility.choices,
        widget=forms.RadioSelect,
    )

    @classmethod
    def initial_for(cls, organization) -> dict:
        defaults = org_settings.session_defaults(organization)
        return {
            "name": organization.name,
            "model": defaults.get("model", ""),
            "allowed_tools": ", ".join(defaults.get("allowedTools", [])),
            "permission_mode": defaults.get("permissionMode", ""),
            "max_turns": defaults.get("maxTurns"),
            "max_duration": defaults.get("maxDuration"),
            "session_visibility": org_settings.session_visibility(organization),
        }

    def session_defaults(self) -> dict:
        """The defaults in the settings' own keys (only those given)."""
        data = self.cleaned_data
        tools = [t.strip() for t in data["allowed_tools"].replace("\n", ",").split(",")]
        given = {
            "model": data["model"].strip(),
            "allowedTools": [t for t in tools if t],
            "permissionMode": data["permission_mode"],
            "maxTurns": data["max_turns"],
            "maxDuration": data["max_duration"],
        }
        return {key: value for key, value in given.items() if value not in ("", None, [])}


class GitCredentialForm(forms.Form):
    token = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        max_length=4096,
        strip=False,
        help_text="Stored encrypted and never shown again.",
    )
    username = forms.CharField(max_length=100, required=False, initial="x-access-token")
    host = forms.CharField(
        max_length=253, required=False, help_text="Empty: the host of GIT_BASE_URL."
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False, choices=[("", "All actions"), *AuditAction.choices])
    actor = forms.CharField(
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "user name"}),
    )
