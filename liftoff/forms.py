from django import forms
from django.contrib import messages
from django.forms.utils import flatatt
from django.shortcuts import redirect, render
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from liftoff.errors import DomainError
from liftoff.models import ApiToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “GitLab CI”.")
    project = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Me (a personal token)",
        help_text="A project token can only post results for that project.",
    )

    def __init__(self, *args, with_projects: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_projects:
            del self.fields["project"]
        else:
            # The projects a token may belong to, from the token's own foreign key: the
            # project model lives in an app above liftoff, which liftoff does not import.
            project_model = ApiToken._meta.get_field("project").related_model
            self.fields["project"].queryset = project_model.objects.order_by("name")


def form_add_domain_errors(form, exc: DomainError) -> None:
    """Put a service's refusal on the form: per field where the form has it."""
    for field, errors in exc.errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.errors:
        form.add_error(None, exc.message)


def form_save(request, form, save, success: str):
    """Run `save(form.cleaned_data)` (a service call) and say `success` about its result;
    None when the service refused (its errors are then on the form)."""
    try:
        result = save(form.cleaned_data)
    except DomainError as exc:
        form_add_domain_errors(form, exc)
        return None
    messages.success(request, success.format(result))
    return result


def delete_page(
    request, *, delete, done: str, back: str, template: str, context: dict, refused: str = ""
):
    """A configuration object's delete page: a GET asks (`template`); a POST runs
    `delete()` (a service call), says `done`, and goes `back`. A refusal is said as a
    toast and goes to `refused` (or `back`)."""
    if request.method != "POST":
        return render(request, template, context)
    try:
        delete()
    except DomainError as exc:
        messages.error(request, exc.summary())
        return redirect(refused or back)
    messages.success(request, done)
    return redirect(back)


class FilterSelect(forms.Select):
    """A `<select>` built in Python, one `format_html` per option, instead of one template
    render per option: the list pages render their filter selects on every request, and
    the option templates were most of the form's cost. Flat choices only (no groups)."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(choice), mark_safe(" selected") if str(choice) in selected else "", label)
                for choice, label in self.choices
            ),
        )
        final_attrs = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final_attrs), options)
