from datetime import timedelta

from django import forms
from django.utils import timezone

from liftoff.forms import FilterSelect
from metrics.models import MetricSettings, RiskLevel
from metrics.selectors import DEFAULT_DAYS, MAX_DAYS


class MetricsFilterForm(forms.Form):
    """The page's and the exports' window and project: a GET form, so a view is a link."""

    project = forms.ChoiceField(required=False, widget=FilterSelect)
    since = forms.DateField(
        required=False, label="Since", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.projects = {p.slug: p for p in projects}
        self.fields["project"].choices = [("", "All projects")] + [
            (p.slug, p.name) for p in projects
        ]

    def clean(self):
        data = super().clean()
        until = data.get("until") or timezone.localdate()
        since = data.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            self.add_error("until", "Until comes on or after since.")
        elif (until - since).days + 1 > MAX_DAYS:
            self.add_error("since", f"A window is at most {MAX_DAYS} days.")
        data["since"], data["until"] = since, until
        data["project"] = self.projects.get(data.get("project") or "")
        return data


class MetricSettingsForm(forms.ModelForm):
    class Meta:
        model = MetricSettings
        fields = [
            "success_rate_target",
            "rollback_rate_target",
            "deployment_minutes_target",
            "satisfaction_target",
            "security_issues_target",
            "performance_regression_target",
            "dora_year",
            "performance_gate_key",
        ]
        labels = {
            "success_rate_target": "Deployment success rate: above (%)",
            "rollback_rate_target": "Rollback frequency: below (%)",
            "deployment_minutes_target": "Median deployment time: below (minutes)",
            "satisfaction_target": "User satisfaction: above (of 5)",
            "security_issues_target": "Security issues: at most",
            "performance_regression_target": "Performance regression: at most (%)",
            "dora_year": "DORA report year of the bands",
            "performance_gate_key": "Gate key of the performance regression",
        }


class RatingForm(forms.Form):
    score = forms.TypedChoiceField(
        coerce=int,
        choices=[(n, f"{n} of 5") for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
        label="Your rating",
    )


class RiskAssessmentForm(forms.Form):
    """The release manager's risk assessment matrix: likelihood × impact, and a note."""

    likelihood = forms.TypedChoiceField(
        choices=RiskLevel.choices, coerce=int, help_text="How likely this release is to hurt."
    )
    impact = forms.TypedChoiceField(
        choices=RiskLevel.choices, coerce=int, help_text="How much it would hurt if it did."
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why (optional).",
    )
