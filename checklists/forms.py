"""Forms of the checklist pages. They only clean what was posted: the rules (who may,
what a scenario takes) live in the services, so a page, the API and the command line
refuse the same things with the same words."""

from django import forms

_TRUE = {"1", "true", "on", "yes"}


class ItemUpdateForm(forms.Form):
    """One item's form. The page also sends the state it showed (`was_*`): only what the
    user changed goes to the service, so a page opened before a colleague's tick never
    undoes it (the checkbox is posted whether or not it was touched). A post without
    `was_*` (a script, a test) changes every field it names."""

    done = forms.CharField(required=False)
    was_done = forms.CharField(required=False)
    result = forms.CharField(required=False)
    was_result = forms.CharField(required=False)
    note = forms.CharField(required=False, strip=True)
    was_note = forms.CharField(required=False, strip=True)

    def changes(self) -> dict:
        data, clean = self.data, self.cleaned_data
        changes = {}
        if "done" in data or "was_done" in data:
            done = clean["done"].lower() in _TRUE
            if "was_done" not in data or done != (clean["was_done"].lower() in _TRUE):
                changes["done"] = done
        for name in ("result", "note"):
            if name in data and (f"was_{name}" not in data or clean[name] != clean[f"was_{name}"]):
                changes[name] = clean[name]
        return changes


class CompleteAllForm(forms.Form):
    """ "Mark all done": one optional note for the items it ticks."""

    note = forms.CharField(
        required=False,
        strip=True,
        max_length=2000,
        help_text="Goes on every item it ticks that has no note yet.",
    )
