from django import forms

from deployments.models import DeploymentKind, DeploymentStatus
from liftoff.forms import FilterSelect


class DeploymentFilterForm(forms.Form):
    """The history's filters: a GET form, so a filtered page is a link and works without
    JavaScript."""

    project = forms.ChoiceField(required=False, widget=FilterSelect)
    environment = forms.ChoiceField(required=False, widget=FilterSelect)
    status = forms.ChoiceField(required=False, widget=FilterSelect)
    kind = forms.ChoiceField(required=False, widget=FilterSelect)
    since = forms.DateField(
        required=False, label="Since", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, projects, environment_names, **kwargs):
        """`projects` and `environment_names`: what the page has read already (the
        choices need no query of their own)."""
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "Any project")] + [
            (p.slug, p.name) for p in projects
        ]
        self.fields["environment"].choices = [("", "Any environment")] + [
            (name, name) for name in environment_names
        ]
        self.fields["status"].choices = [("", "Any status"), *DeploymentStatus.choices]
        self.fields["kind"].choices = [("", "Any kind"), *DeploymentKind.choices]

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "Until comes on or after since.")
        return data


class LockForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Why it is locked",
        help_text="Everyone sees it on the board; deployments are refused until unlocked.",
    )


class DeployForm(forms.Form):
    """Deploy a release to one environment, now or later. The override reason is shown
    only where it can be used (a hotfix, a frozen environment, an approver); the service
    checks it again whatever the form showed."""

    at = forms.DateTimeField(
        required=False,
        label="At (optional)",
        help_text="Empty: now. A time: a scheduled deployment, which you can cancel until then.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    override_reason = forms.CharField(
        required=False,
        max_length=2000,
        label="Override the freeze: why this hotfix cannot wait",
        help_text="Recorded as an emergency change; a second approver reviews it within 48 h.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, prefix=None, may_override=False, **kwargs):
        super().__init__(*args, prefix=prefix, **kwargs)
        if not may_override:
            del self.fields["override_reason"]
