from django import forms

from liftoff.forms import FilterSelect
from releases.models import ActionItemStatus, ReleaseStatus, ReleaseType


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=50, help_text="Used in URLs and the API, e.g. “pepelugpt”.")
    repo_url = forms.CharField(
        label="Repository URL",
        max_length=500,
        help_text="https://, ssh://, git@host:path or an absolute path. No passwords in it.",
    )
    default_branch = forms.CharField(max_length=200, initial="main")
    version_files = forms.CharField(
        max_length=1000,
        initial="pyproject.toml",
        help_text="Files that hold the version, separated by commas.",
    )
    codename_pool = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One codename per line, e.g. “Digital Oracle”.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_version_files(self):
        return [p.strip() for p in self.cleaned_data["version_files"].split(",") if p.strip()]

    def clean_codename_pool(self):
        return [n.strip() for n in self.cleaned_data["codename_pool"].splitlines() if n.strip()]


class ReleaseForm(forms.Form):
    project = forms.ModelChoiceField(queryset=None, empty_label=None)
    type = forms.ChoiceField(label="Type of release")
    version = forms.CharField(
        max_length=100,
        help_text="Semantic version, e.g. 0.3.0 or "
        "1.0.0-rc.1. Proposed from the last release; yours to change.",
    )
    codename = forms.CharField(max_length=100, required=False)
    summary = forms.CharField(
        max_length=300, required=False, help_text="One line, used in the tag message."
    )
    target_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["project"].to_field_name = "slug"
        self.fields["type"].choices = ReleaseType.choices


class ReleaseFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    project = forms.ChoiceField(required=False, widget=FilterSelect)
    status = forms.ChoiceField(required=False, widget=FilterSelect)
    type = forms.ChoiceField(required=False, widget=FilterSelect)
    mine = forms.BooleanField(required=False, label="Only the releases I manage")
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, projects, **kwargs):
        """`projects`: the list the page has read already (the choices need no query)."""
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "Any project")] + [
            (p.slug, p.name) for p in projects
        ]
        self.fields["status"].choices = [("", "Any status"), *ReleaseStatus.choices]
        self.fields["type"].choices = [("", "Any type"), *ReleaseType.choices]


class NotesForm(forms.Form):
    markdown = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24}), required=False, label="Release notes (Markdown)"
    )


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, label="Kind", widget=FilterSelect)
    person = forms.ChoiceField(required=False, label="Person", widget=FilterSelect)

    def __init__(self, *args, kinds, people, **kwargs):
        """`kinds` and `people`: (value, label) pairs (liftoff.audit.audit_kinds and
        audit_people), so the choices need no query of their own."""
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Every kind"), *kinds]
        self.fields["person"].choices = [("", "Everyone"), *people]


# --- Retrospectives ----------------------------------------------------------------------


class RetroAnswerForm(forms.Form):
    question = forms.CharField(max_length=20, widget=forms.HiddenInput)
    text = forms.CharField(
        label="Your answer",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Empty withdraws your answer.",
    )


class ActionItemForm(forms.Form):
    title = forms.CharField(label="What is to be done", max_length=300)
    owner = forms.ModelChoiceField(queryset=None, label="Owner", empty_label="Choose…")
    due_date = forms.DateField(
        label="Due date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class ActionItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItemStatus.choices)


class RetroTemplateForm(forms.Form):
    text = forms.CharField(
        label="Questions",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="“## Heading” starts a group, “- question” adds a question to it.",
    )


class SecurityPatternsForm(forms.Form):
    patterns = forms.CharField(
        label="Security-sensitive paths",
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="One glob pattern a line, matched without regard to case. Without “/” it "
        "matches any folder or file name in the path (“auth” finds src/auth/views.py, "
        "“*.pem” any .pem file); with “/” the whole path from the repository's root "
        "(“.github/workflows/*”).",
    )

    def clean_patterns(self):
        return [line.strip() for line in self.cleaned_data["patterns"].splitlines() if line.strip()]
