"""Forms of the checklist template pages. They only shape the input: every rule (item
format, unique names) lives in `checklists.services`, whose errors the views put back on
these forms."""

from django import forms

from checklists.models import Phase

ITEMS_HELP = (
    "One item a line. Start a line with [test] for a manual test scenario (given a result: "
    "pass, fail, blocked or not applicable) and/or [optional] for an item that does not "
    "block the release. “ | ” separates the title from its description, e.g. "
    "“[optional] Localization | All user-facing strings localized”."
)


class ChecklistTemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    phase = forms.ChoiceField(choices=Phase.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    order = forms.IntegerField(
        min_value=0, required=False, help_text="Lower comes first. Empty: after the others."
    )
    active = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Only active templates are copied into new releases.",
    )
    # Not required here: the service says what is wrong with empty or unreadable items.
    items = forms.CharField(
        required=False,
        help_text=ITEMS_HELP,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )
