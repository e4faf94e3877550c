"""Small template filters used across apps (loaded as builtins in settings)."""

from datetime import timedelta

from django import template

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
