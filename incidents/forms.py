from django import forms

from incidents.models import IncidentStatus, Severity
from liftoff.forms import FilterSelect
from liftoff.roles import ROLE_LABELS, Role


class IncidentFilterForm(forms.Form):
    """The list's filters: a GET form, so a filtered page is a link."""

    project = forms.ChoiceField(required=False, widget=FilterSelect)
    environment = forms.ChoiceField(required=False, widget=FilterSelect)
    severity = forms.ChoiceField(required=False, widget=FilterSelect)
    status = forms.ChoiceField(required=False, widget=FilterSelect)
    breached = forms.ChoiceField(
        required=False,
        widget=FilterSelect,
        choices=[("", "Breached or not"), ("yes", "Breached"), ("no", "Not breached")],
    )
    security = forms.ChoiceField(
        required=False,
        widget=FilterSelect,
        choices=[("", "Security or not"), ("yes", "Security incidents"), ("no", "Not security")],
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, projects, environment_names, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "Any project")] + [
            (p.slug, p.name) for p in projects
        ]
        self.fields["environment"].choices = [("", "Any environment")] + [
            (n, n) for n in environment_names
        ]
        self.fields["severity"].choices = [("", "Any severity"), *Severity.choices]
        self.fields["status"].choices = [("", "Any status"), *IncidentStatus.choices]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "Until comes on or after since.")
        return data


class IncidentOpenForm(forms.Form):
    project = forms.ChoiceField()
    environment = forms.ChoiceField(required=False, help_text="Where it happens, if anywhere.")
    severity = forms.ChoiceField(choices=Severity.choices)
    security = forms.BooleanField(
        required=False,
        label="A security incident",
        help_text="A breach, an exposed secret, an exploited flaw: it counts in the security "
        "issues KPI.",
    )
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    started_at = forms.DateTimeField(
        required=False,
        label="Started at (optional)",
        help_text="When the impact began; empty: now. It picks the deployment it is about.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    def __init__(self, *args, projects, environments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [(p.slug, p.name) for p in projects]
        self.fields["environment"].choices = [("", "No environment")] + [
            (str(e.pk), f"{e.project.name}: {e.name}") for e in environments
        ]


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=IncidentStatus.choices)
    summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to resolve: what happened and how it was fixed.",
    )


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}))


class DeploymentChangeForm(forms.Form):
    # Built in Python: fifty options, one template render each, were most of the page.
    deployment = forms.ChoiceField(required=False, label="About deployment", widget=FilterSelect)
    reason = forms.CharField(max_length=500, help_text="Why it is about another deployment.")

    def __init__(self, *args, deployments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deployment"].choices = [("", "No deployment")] + [
            (str(d.pk), f"#{d.pk} v{d.version} to {d.environment.name}") for d in deployments
        ]


class SecurityForm(forms.Form):
    security = forms.ChoiceField(
        label="Classification",
        choices=[("yes", "A security incident"), ("no", "Not a security incident")],
    )
    reason = forms.CharField(max_length=500, help_text="Why it is classified so.")


class PostmortemForm(forms.Form):
    postmortem = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 10}), help_text="Markdown."
    )


class HotfixForm(forms.Form):
    release = forms.ChoiceField(
        widget=FilterSelect,
        label="Hotfix release",
        help_text="It alone may go to production while this critical incident is open.",
    )

    def __init__(self, *args, releases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["release"].choices = [(str(r.pk), f"v{r.version}") for r in releases]


class IncidentSettingsForm(forms.Form):
    stakeholders_may_open = forms.BooleanField(
        required=False, label="Stakeholders may open incidents on this project"
    )
    auto_open = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Open a high incident when a deployment fails verification on",
    )

    def __init__(self, *args, environments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auto_open"].choices = [(str(e.pk), e.name) for e in environments]


class SeverityPolicyForm(forms.Form):
    """One row of the incident response matrix (prefixed by its severity: four on a page)."""

    respond_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        label="Respond within (minutes)",
        help_text="Empty: no response clock, nothing is late and nothing escalates.",
    )
    action = forms.CharField(max_length=200, label="Action")
    audience_roles = forms.MultipleChoiceField(
        required=False,
        label="Audience: roles",
        widget=forms.CheckboxSelectMultiple,
        choices=[(role.value, ROLE_LABELS[role]) for role in Role],
    )
    audience_users = forms.MultipleChoiceField(
        required=False,
        label="Audience: people",
        help_text="Told as well as the roles.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    escalate_after_minutes = forms.IntegerField(
        min_value=0,
        label="Escalate every (minutes)",
        help_text="Step 1 is due when the response time passes, each next step this much later.",
    )
    max_escalations = forms.IntegerField(
        min_value=0,
        label="Escalation steps at most",
        help_text="Step 1 tells the audience, the next ones the admins.",
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience_users"].choices = [(str(u.pk), u.get_username()) for u in users]
