"""Forms of the environment, health check, secret variable and freeze window pages. They
only shape the input (command lines into argument lists, a one-off window's times into
its time zone): every rule lives in `deployments.services`, whose errors the views put
back on these forms."""

import shlex
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from deployments.freezes import zone_problem
from deployments.models import EnvironmentPhase, FreezeKind, Strategy
from gates.config_forms import Fieldsets

COMMANDS_HELP = (
    "One command per line, written as in a terminal (quote an argument with spaces). Each "
    "line is split into an argument list and run without a shell: no pipes, redirections "
    "or variables. The release comes in LIFTOFF_* environment variables."
)
WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class CommandLinesField(forms.CharField):
    """A textarea of command lines ↔ a list of argument lists (`shlex.split` per line,
    shown back with `shlex.join`). Blank lines are dropped."""

    def __init__(self, **kwargs):
        attrs = {"rows": 4, "class": "mono", "spellcheck": "false"}
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        kwargs.setdefault("help_text", COMMANDS_HELP)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(shlex.join(argv) for argv in value)
        return value

    def to_python(self, value):
        commands = []
        for number, line in enumerate(super().to_python(value).splitlines(), start=1):
            try:
                argv = shlex.split(line)
            except ValueError as exc:
                raise ValidationError(
                    f"Line {number} is not a command line ({exc}): close its quotes."
                ) from None
            if argv:
                commands.append(argv)
        return commands


def _shown_for(field: str, *values: str) -> str:
    """The `data-shown-for` rule of a fieldset: shown while `field` has one of `values`."""
    return f"{field}={'|'.join(values)}"


class ShownByChoice(Fieldsets):
    """Fieldsets shown by the value of one radio field (`choice_field`): the template
    hides and disables the others, liftoff.js switches them when the radio changes."""

    choice_field = ""
    default_choice = ""

    @property
    def current_choice(self) -> str:
        """The value whose fields are shown: as posted, else as the object is."""
        field = self.fields[self.choice_field]
        value = (
            self.data.get(self.choice_field)
            if self.is_bound
            else self.initial.get(self.choice_field, field.initial)
        )
        values = {str(v) for v, _ in field.choices}
        return value if value in values else self.default_choice

    def fieldset_list(self):
        rows = []
        for legend, note, names, *shown in self.fieldsets:
            rule = _shown_for(self.choice_field, *shown) if shown else ""
            hidden = bool(shown) and self.current_choice not in shown
            rows.append((legend, note, [self[name] for name in names], rule, hidden))
        return rows

    def shown_fields(self) -> set[str]:
        """The fields of the fieldsets shown for the current choice (the others were not
        sent: their fieldsets are disabled)."""
        names = set()
        for _legend, _note, fields, *shown in self.fieldsets:
            if not shown or self.current_choice in shown:
                names.update(fields)
        return names


class EnvironmentForm(ShownByChoice, forms.Form):
    name = forms.SlugField(
        max_length=50, help_text="Lowercase letters, digits and hyphens, e.g. “staging”."
    )
    order = forms.IntegerField(min_value=0, initial=0, help_text="Releases pass lower first.")
    phase = forms.ChoiceField(
        choices=EnvironmentPhase.choices,
        required=False,
        help_text="A verified deployment to a staging environment moves the release to "
        "staging; to a production one, to released.",
    )
    url = forms.URLField(max_length=500, required=False, label="URL", assume_scheme="https")
    strategy = forms.ChoiceField(choices=Strategy.choices, widget=forms.RadioSelect)
    deploy_commands = CommandLinesField(label="Deploy commands")
    rollback_commands = CommandLinesField(
        label="Rollback commands",
        help_text="Optional: run instead of the deploy commands for a rollback "
        "(LIFTOFF_ROLLBACK=1). " + COMMANDS_HELP,
    )
    webhook_url = forms.URLField(
        max_length=500,
        required=False,
        label="Webhook URL",
        assume_scheme="https",
        help_text="Liftoff POSTs the deployment there, signed as Standard Webhooks says.",
    )
    blue_url = forms.URLField(max_length=500, required=False, label="Blue URL")
    green_url = forms.URLField(max_length=500, required=False, label="Green URL")
    switch_commands = CommandLinesField(
        label="Switch commands",
        help_text="Switch the traffic to LIFTOFF_COLOR. " + COMMANDS_HELP,
    )
    command_timeout_seconds = forms.IntegerField(
        min_value=1, max_value=6 * 3600, initial=600, label="Command timeout (seconds)"
    )
    verify_seconds = forms.IntegerField(
        min_value=0,
        initial=0,
        label="Verify for (seconds)",
        help_text="The health checks keep passing this long before the deployment counts.",
    )
    verify_interval_seconds = forms.IntegerField(
        min_value=1, initial=2, label="Check every (seconds)"
    )
    auto_rollback = forms.BooleanField(
        required=False,
        initial=True,
        help_text="Roll back to the last verified version when verification fails.",
    )
    lock_after_rollback = forms.BooleanField(
        required=False,
        initial=True,
        help_text="After an automatic rollback, lock until a manager unlocks.",
    )

    choice_field = "strategy"
    default_choice = Strategy.COMMAND
    fieldsets = [
        ("Environment", "", ["name", "order", "phase", "url", "strategy"]),
        (
            "Commands",
            "Run in a checkout of the release, in order; the first that fails ends the deployment.",
            ["deploy_commands"],
            Strategy.COMMAND,
            Strategy.BLUE_GREEN,
        ),
        ("Rollback", "", ["rollback_commands"], Strategy.COMMAND),
        ("Webhook", "", ["webhook_url"], Strategy.WEBHOOK),
        (
            "Blue-green",
            "Deploy to the idle colour, verify it on its own URL, switch the traffic.",
            ["blue_url", "green_url", "switch_commands"],
            Strategy.BLUE_GREEN,
        ),
        (
            "Verification",
            "",
            [
                "command_timeout_seconds",
                "verify_seconds",
                "verify_interval_seconds",
                "auto_rollback",
                "lock_after_rollback",
            ],
        ),
    ]

    def service_fields(self) -> dict:
        """What goes to the service: the shown fields only, so that switching strategy
        keeps the other strategy's settings as they were."""
        return {k: v for k, v in self.cleaned_data.items() if k in self.shown_fields()}


class HealthCheckForm(forms.Form):
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https")
    expected_status = forms.IntegerField(min_value=100, max_value=599, initial=200)
    json_field = forms.CharField(
        max_length=100, required=False, label="JSON field", help_text="e.g. version"
    )
    json_value = forms.CharField(
        max_length=200,
        required=False,
        label="JSON value",
        help_text="{version} is the version being deployed.",
    )
    timeout_seconds = forms.FloatField(min_value=0.1, max_value=120, initial=5, label="Timeout (s)")
    retries = forms.IntegerField(min_value=0, max_value=20, initial=3)


HealthCheckFormSet = forms.formset_factory(HealthCheckForm, extra=1, can_delete=True)


class SecretVariableForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Upper case letters, digits and _, e.g. DATABASE_PASSWORD."
    )
    # Never rendered back: a page shows a secret's name, never its value.
    value = forms.CharField(widget=forms.PasswordInput(render_value=False), strip=False)


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class FreezeWindowForm(ShownByChoice, forms.Form):
    kind = forms.ChoiceField(choices=FreezeKind.choices, widget=forms.RadioSelect)
    reason = forms.CharField(max_length=300, required=False)
    environment = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Every environment"
    )
    time_zone = forms.CharField(
        max_length=60,
        required=False,
        help_text="The zone its times are in, e.g. Europe/Berlin or UTC.",
    )
    starts_at = forms.DateTimeField(required=False, widget=LocalDateTimeInput(), label="From")
    ends_at = forms.DateTimeField(required=False, widget=LocalDateTimeInput(), label="To")
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    start_time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    end_time = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Earlier than the start: the freeze goes on past midnight.",
    )
    cron = forms.CharField(
        max_length=100,
        required=False,
        label="Cron expression",
        help_text="Five fields: minute hour day month weekday, e.g. 0 18 * * 5.",
    )
    duration_minutes = forms.IntegerField(
        min_value=1, initial=60, required=False, label="For (minutes)"
    )

    choice_field = "kind"
    default_choice = FreezeKind.ONE_OFF
    fieldsets = [
        ("Freeze window", "", ["kind", "reason", "environment", "time_zone"]),
        ("One-off", "", ["starts_at", "ends_at"], FreezeKind.ONE_OFF),
        ("Weekly", "", ["weekdays", "start_time", "end_time"], FreezeKind.WEEKLY),
        ("Cron", "", ["cron", "duration_minutes"], FreezeKind.CRON),
    ]

    def __init__(self, *args, environments, **kwargs):
        kwargs.setdefault("initial", {"kind": FreezeKind.ONE_OFF, "time_zone": settings.TIME_ZONE})
        super().__init__(*args, **kwargs)
        self.fields["environment"].queryset = environments

    def clean(self):
        data = super().clean()
        # The one-off times were typed in the window's zone, not the server's.
        zone = data.get("time_zone") or settings.TIME_ZONE
        data["time_zone"] = zone
        if not zone_problem(zone):
            for name in ("starts_at", "ends_at"):
                if data.get(name):
                    wall = timezone.make_naive(data[name])
                    data[name] = timezone.make_aware(wall, ZoneInfo(zone))
        return data

    def service_fields(self) -> dict:
        shown = self.shown_fields()
        fields = {k: v for k, v in self.cleaned_data.items() if k in shown}
        if fields.get("duration_minutes") is None:
            fields.pop("duration_minutes", None)
        return fields
