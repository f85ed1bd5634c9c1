"""Dashboard forms. They only shape input: the rules live in validators and services, whose
field-level ValidationErrors the views attach to these forms."""

from __future__ import annotations

from django import forms

from ..choices import ProjectType, SessionMode, SessionStatus


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


class FollowUpForm(forms.Form):
    content = forms.CharField(
        label="Follow-up message",
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Ask for the next step…"}),
    )


class StopForm(forms.Form):
    reason = forms.CharField(max_length=1000, required=False)


class SessionFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *SessionStatus.choices], required=False)
    project_type = forms.ChoiceField(
        label="Project type", choices=[("", "Any project"), *ProjectType.choices], required=False
    )
