from django import forms

from liftoff.events import EVENTS
from notifications.models import AnnouncementChannel, Tone, WebhookFormat


class WebhookForm(forms.Form):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label="Events",
        choices=[("*", "Every event"), *((name, name) for name in EVENTS)],
        widget=forms.CheckboxSelectMultiple,
        initial=["*"],
    )
    format = forms.ChoiceField(label="Format", choices=WebhookFormat.choices)
    allow_private = forms.BooleanField(
        label="Allow private addresses (this machine, link-local, cloud metadata)",
        required=False,
    )


class AnnouncementForm(forms.Form):
    """A tone's draft, and (to publish) where it goes."""

    markdown = forms.CharField(label="Draft (Markdown)", strip=False, widget=forms.Textarea)
    channels = forms.MultipleChoiceField(
        label="Publish to",
        choices=AnnouncementChannel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class AnnouncementTemplatesForm(forms.Form):
    """The project's three templates, one field per tone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for tone, label in Tone.choices:
            self.fields[tone] = forms.CharField(
                label=label,
                strip=False,
                widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
            )


class NotesTemplateForm(forms.Form):
    sections = forms.CharField(
        label="Sections",
        widget=forms.Textarea(attrs={"rows": 10, "class": "mono"}),
        help_text=(
            "One a line: ## or ### and the heading, then | and the rules, then | and the "
            "text shown when it has no commits (it then always shows). Rules: a type (feat), "
            "a scope ((oracle)), both (feat(oracle)), ! for breaking changes, * for the "
            "rest. The most specific rule takes a commit; a commit no rule takes is left "
            "out. A heading without rules groups the ### sections below it."
        ),
    )
    quote = forms.CharField(
        label="Opening quote",
        required=False,
        max_length=500,
        help_text="Shown when the release has no summary; empty for none.",
    )
    contributors = forms.BooleanField(label="List the contributors", required=False)
    contributors_heading = forms.CharField(
        label="Contributors' heading", required=False, max_length=120
    )
    footer = forms.CharField(
        label="Footer", required=False, max_length=500, help_text="Markdown; empty for none."
    )
