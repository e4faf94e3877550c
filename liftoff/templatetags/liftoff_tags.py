"""Small template filters used across apps (loaded as builtins in settings)."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from liftoff.kept import valid_until

register = template.Library()


@register.filter
def duration_short(value: timedelta | None) -> str:
    """`1.2 s`, `3 min 4 s`, `2 h 5 min`."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter(expects_localtime=True)
def timestamp(value) -> str:
    """`2026-11-29 21:55:43` in the current time zone: what `|date:"Y-m-d H:i:s"` prints,
    at a fraction of its cost (lists print one per row)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


# The unit of the second part of `timesince`'s text ("2 hours, 5 minutes"): how often the
# text changes, by the age of what it describes.
_SINCE_STEPS = ((timedelta(days=1), 60), (timedelta(days=7), 3600))


@register.filter
def since(value) -> str:
    """What `timesince` writes ("3 hours, 5 minutes"), for a page that may be kept rendered
    (liftoff.kept): it notes when that text will change, so a kept copy ages with it."""
    if not value:
        return ""
    now = timezone.now()
    age = (now - value).total_seconds()
    step = next((s for limit, s in _SINCE_STEPS if age < limit.total_seconds()), 86400)
    valid_until(now.timestamp() + step - (max(age, 0) % step))
    return timesince(value, now)
