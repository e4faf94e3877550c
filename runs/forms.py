from django import forms

from liftoff.forms import FilterSelect
from runs.models import RunStatus
from runs.registry import registered_kinds


class RunFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, widget=FilterSelect)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *RunStatus.choices], widget=FilterSelect
    )
    scope = forms.ChoiceField(required=False, widget=FilterSelect)

    def __init__(self, *args, scopes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Any kind")] + [
            (k.name, k.label) for k in registered_kinds()
        ]
        # `scopes` may be a minute old (run_scopes): a scope asked for (a run's scope link)
        # is offered even before the list knows it, and simply finds no runs if it has none.
        asked = self.data.get("scope", "") if self.is_bound else ""
        if asked and asked not in scopes:
            scopes = sorted([*scopes, asked])
        self.fields["scope"].choices = [("", "Any scope")] + [(s, s) for s in scopes]
