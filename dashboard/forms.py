from django import forms

from releases.models import ReleaseType


class HistoryFilterForm(forms.Form):
    """The release history's filters; every field optional, the URL keeps them."""

    project = forms.ChoiceField(required=False)
    type = forms.ChoiceField(
        required=False, choices=[("", "Every type"), *ReleaseType.choices], label="Type"
    )
    since = forms.DateField(
        required=False, label="Shipped from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Shipped until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].choices = [("", "Every project")] + [
            (p.slug, p.name) for p in projects
        ]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end comes before the start.")
        return data
