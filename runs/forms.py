from django import forms

from runs.models import RunStatus
from runs.registry import registered_kinds


class RunFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *RunStatus.choices])
    project = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any project")

    def __init__(self, *args, projects, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Any kind")] + [
            (k.name, k.label) for k in registered_kinds()
        ]
        self.fields["project"].queryset = projects
