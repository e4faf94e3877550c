"""Forms of the gate and validation command pages. They only shape the input: every rule
(unique keys, gate kinds, argv and report path checks) lives in `gates.services`, whose
errors the views put back on these forms."""

from django import forms

from gates.models import Comparator, GateKind, ValidationCommand
from gates.selectors import SIGNER_ROLES
from liftoff.roles import ROLE_LABELS, Role

ARGV_HELP = (
    "One argument per line, run as an argument list, never through a shell (no pipes, "
    "quotes or variables). {python} is replaced by the worker's Python interpreter; "
    "nothing else is substituted. It runs in the release checkout."
)
APPROVER_ROLES = [(r.value, ROLE_LABELS[r]) for r in SIGNER_ROLES]


class Fieldsets:
    """`form.fieldset_list`: (legend, note, bound fields, kind) for templates that group
    fields. `kind` is "" for a fieldset always shown, or the value of the form's `kind`
    field it belongs to: the template hides (and disables) it for the other kind, and a
    script in liftoff.js switches it when the kind changes."""

    fieldsets: list[tuple] = []

    def fieldset_list(self):
        rows = []
        for legend, note, names, *kind in self.fieldsets:
            rows.append((legend, note, [self[name] for name in names], kind[0] if kind else ""))
        return rows


class GateForm(Fieldsets, forms.Form):
    key = forms.CharField(
        max_length=50,
        help_text="Lowercase letters, digits and hyphens, e.g. “test-coverage”. "
        "CI reports name the gate by this key.",
    )
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(
        choices=GateKind.choices,
        widget=forms.RadioSelect,
        help_text="Automated: a measured value against a threshold. "
        "Manual: sign-offs from people with a role.",
    )
    comparator = forms.ChoiceField(
        choices=[("", "—"), *Comparator.choices],
        required=False,
        label="Passes when the value is",
    )
    threshold = forms.FloatField(required=False)
    unit = forms.CharField(max_length=20, required=False, help_text="e.g. %, findings, ms.")
    required_approvals = forms.IntegerField(min_value=1, max_value=20, required=False, initial=1)
    approver_role = forms.ChoiceField(
        choices=APPROVER_ROLES, required=False, initial=Role.APPROVER, label="Approvals from"
    )
    order = forms.IntegerField(
        min_value=0, required=False, help_text="Lower comes first. Empty: keep / after the others."
    )
    active = forms.BooleanField(
        required=False, initial=True, help_text="Inactive gates do not block releases."
    )

    fieldsets = [
        ("Gate", "", ["key", "name", "description", "kind"]),
        (
            "Measurement",
            "The measured value (from a validation command or a CI report) is compared "
            "with the threshold.",
            ["comparator", "threshold", "unit"],
            GateKind.AUTOMATED,
        ),
        (
            "Sign-off",
            "The gate passes with this many approvals on the release's current commit.",
            ["required_approvals", "approver_role"],
            GateKind.MANUAL,
        ),
        ("Display", "", ["order", "active"]),
    ]
    # What the fields of the other kind are saved as: posted values are ignored (a
    # browser does not send them: their fieldset is disabled).
    KIND_DEFAULTS = {
        GateKind.AUTOMATED: {"required_approvals": 1, "approver_role": Role.APPROVER},
        GateKind.MANUAL: {"comparator": "", "threshold": None, "unit": ""},
    }

    @property
    def current_kind(self) -> str:
        """The kind whose fields are shown: as posted, else as the gate is."""
        kind = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        return kind if kind in GateKind.values else GateKind.AUTOMATED

    def clean(self):
        data = super().clean()
        for name, value in self.KIND_DEFAULTS.get(data.get("kind"), {}).items():
            self.errors.pop(name, None)
            data[name] = value
        return data


class ValidationCommandForm(Fieldsets, forms.Form):
    name = forms.CharField(max_length=120)
    argv = forms.CharField(
        label="Command",
        required=False,
        help_text=ARGV_HELP,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "spellcheck": "false"}),
    )
    report_format = forms.ChoiceField(choices=ValidationCommand.ReportFormat.choices)
    report_path = forms.CharField(
        max_length=300,
        required=False,
        help_text="The file the command writes, relative to the checkout, e.g. coverage.xml.",
    )
    gate = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No gate",
        help_text="The automated gate the report measures.",
    )
    timeout_seconds = forms.IntegerField(
        min_value=1, max_value=6 * 3600, initial=600, label="Timeout (seconds)"
    )
    order = forms.IntegerField(
        min_value=0, required=False, help_text="Lower runs first. Empty: keep / after the others."
    )
    active = forms.BooleanField(required=False, initial=True)

    fieldsets = [
        ("Command", "", ["name", "argv", "timeout_seconds"]),
        (
            "Report",
            "A command with a report measures a gate; without one, only its exit code counts.",
            ["report_format", "report_path", "gate"],
        ),
        ("Display", "", ["order", "active"]),
    ]

    def __init__(self, *args, gates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gate"].queryset = gates

    def clean_argv(self):
        # Blank lines are dropped; the service refuses an empty list.
        return [line.strip() for line in self.cleaned_data["argv"].splitlines() if line.strip()]


class LicencePolicyForm(forms.Form):
    allowed = forms.CharField(
        label="Allowed licences",
        required=False,
        help_text="SPDX licence ids, one per line (or separated by commas or spaces), e.g. "
        "MIT, Apache-2.0, LGPL-3.0-or-later. A package passes when its licence is one of "
        "them; for “A OR B” either will do, for “A AND B” both must be here. Empty: no "
        "licence is allowed.",
        widget=forms.Textarea(attrs={"rows": 12, "class": "mono", "spellcheck": "false"}),
    )

    def clean_allowed(self):
        # The service checks each id; the form only splits the text.
        return self.cleaned_data["allowed"].replace(",", " ").split()
