"""The form of the /org/integrations/ page. It only shapes input: the rules live in the
services, whose errors the view attaches to it."""

from __future__ import annotations

from django import forms

from ..choices import DEFAULT_MENTION, Provider


class IntegrationForm(forms.Form):
    provider = forms.ChoiceField(choices=Provider.choices)
    repository = forms.CharField(
        max_length=300, help_text="owner/name, or the GitLab project path."
    )
    api_url = forms.CharField(
        max_length=500,
        required=False,
        help_text="Blank: https://api.github.com or https://gitlab.com/api/v4.",
    )
    clone_url = forms.CharField(max_length=500, required=False, help_text="Blank: the repository.")
    api_token = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.PasswordInput,
        help_text="A token that may comment on pull (merge) requests.",
    )
    webhook_secret = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.PasswordInput,
        help_text="Blank: one is made and shown once.",
    )
    pull_request = forms.CharField(max_length=60, required=False, label="Review template (slug)")
    ci_failure = forms.CharField(max_length=60, required=False, label="CI failure template (slug)")
    mention = forms.CharField(max_length=100, required=False, initial=DEFAULT_MENTION)

    def service_fields(self) -> dict:
        data = self.cleaned_data
        fields = {k: data[k] for k in ("provider", "repository", "api_url", "clone_url")}
        fields.update({k: data[k] for k in ("api_token", "webhook_secret") if data[k]})
        fields["triggers"] = {
            "pull_request": data["pull_request"] or None,
            "ci_failure": data["ci_failure"] or None,
            "mention": data["mention"] or None,
        }
        return fields
