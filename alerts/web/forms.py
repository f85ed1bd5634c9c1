"""Forms of the /org/alerts/ page. They only shape input: the rules live in the services and
validators, whose errors the views attach to these forms."""

from __future__ import annotations

from django import forms

from tenants.json_rules import CheckedJSONFormField

from ..choices import AlertStatus, ChannelKind, Severity
from ..conditions import KIND_CHOICES


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *AlertStatus.choices])
    rule = forms.ChoiceField(required=False, choices=[("", "Any rule")])

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", "Any rule"), *((str(r.pk), r.name) for r in rules)]


class RuleForm(forms.Form):
    form_key = "rule_form"  # its name in the page's context
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=KIND_CHOICES)
    params = CheckedJSONFormField(required=False, initial=dict, help_text='e.g. {"minutes": 30}')
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.WARNING)
    throttle_minutes = forms.IntegerField(min_value=1, max_value=10080, initial=60)
    channels = forms.MultipleChoiceField(required=False, choices=[])

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channels"].choices = [(str(c.pk), c.name) for c in channels]


class ChannelForm(forms.Form):
    form_key = "channel_form"
    kind = forms.ChoiceField(choices=ChannelKind.choices)
    name = forms.CharField(max_length=100)
    config = CheckedJSONFormField(
        help_text='slack {"channel", "token"}, pagerduty {"routing_key"}, email {"to": [...]}, '
        'webhook {"url", "secret"}; secrets are stored encrypted and never shown again.'
    )
    is_fallback = forms.BooleanField(required=False, label="Fallback channel")


class SilenceForm(forms.Form):
    form_key = "silence_form"
    rule = forms.ChoiceField(required=False, choices=[])
    subject = forms.CharField(required=False, max_length=300, help_text="Blank: any subject.")
    hours = forms.IntegerField(min_value=1, max_value=24 * 366, initial=2)
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", "Every rule"), *((str(r.pk), r.name) for r in rules)]
