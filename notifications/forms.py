from django import forms

from liftoff.events import EVENTS
from notifications.models import WebhookFormat


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
