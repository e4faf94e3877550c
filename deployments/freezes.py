"""When a freeze window is in force. Pure functions of a window and a moment: the
selectors ask them for "now" and the services for the time a deployment will start."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from deployments.models import FreezeKind, FreezeWindow
from liftoff.kept import valid_until


def zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"“{name}” is not a time zone (try Europe/Berlin or UTC)."
    return None


def cron_problem(expression: str) -> str | None:
    if not croniter.is_valid(expression):
        return (
            f"“{expression}” is not a cron expression (five fields: minute hour day month weekday)."
        )
    return None


def freeze_in_force(window: FreezeWindow, at: datetime) -> bool:
    """Whether `window` holds at `at` (an aware datetime). A page kept rendered
    (liftoff.kept) that asks is kept only until the answer changes."""
    valid_until(freeze_changes_at(window, at))
    return _in_force(window, at)


def freeze_changes_at(window: FreezeWindow, at: datetime) -> datetime | None:
    """The first moment after `at` at which `window` starts or stops holding (None: never
    again). Exact for every kind: a one-off's ends, a weekly window's next start or end
    (in its zone, over the coming eight days), a cron window's next firing or the end of
    the current one."""
    if window.kind == FreezeKind.ONE_OFF:
        ends = [t for t in (window.starts_at, window.ends_at) if t and t > at]
        return min(ends) if ends else None
    zone = ZoneInfo(window.time_zone)
    local = at.astimezone(zone)
    if window.kind == FreezeKind.WEEKLY:
        if window.start_time is None or window.end_time is None:
            return None
        moments = [
            datetime.combine(local.date() + timedelta(days=d), t, tzinfo=zone)
            for d in range(9)
            for t in (window.start_time, window.end_time)
        ]
        later = [m for m in moments if m > local]
        return min(later) if later else None
    if window.kind == FreezeKind.CRON and window.cron and croniter.is_valid(window.cron):
        fired = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        following = croniter(window.cron, local).get_next(datetime)
        ends = fired + timedelta(minutes=window.duration_minutes)
        return min(m for m in (following, ends) if m > local) if ends > local else following
    return None


def _in_force(window: FreezeWindow, at: datetime) -> bool:
    if window.kind == FreezeKind.ONE_OFF:
        return bool(window.starts_at and window.ends_at and window.starts_at <= at < window.ends_at)
    local = at.astimezone(ZoneInfo(window.time_zone))
    if window.kind == FreezeKind.WEEKLY:
        if window.start_time is None or window.end_time is None:
            return False
        days = set(window.weekdays or [])
        start, end, now = window.start_time, window.end_time, local.time()
        if start <= end:  # 09:00–17:00 on the day itself
            return local.weekday() in days and start <= now < end
        # Across midnight (Friday 18:00 – 06:00): the evening of a listed day, or the
        # morning after one.
        evening = local.weekday() in days and now >= start
        morning = (local.weekday() - 1) % 7 in days and now < end
        return evening or morning
    if window.kind == FreezeKind.CRON and window.cron and croniter.is_valid(window.cron):
        # The last time it fired at or before `at`, in the window's zone: frozen for
        # duration_minutes from there.
        fired = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        return local < fired + timedelta(minutes=window.duration_minutes)
    return False


def describe(window: FreezeWindow) -> str:
    """One line a page shows: when the window holds."""
    if window.kind == FreezeKind.ONE_OFF:
        if not (window.starts_at and window.ends_at):
            return "one-off"
        return f"{window.starts_at:%Y-%m-%d %H:%M} – {window.ends_at:%Y-%m-%d %H:%M} UTC"
    if window.kind == FreezeKind.WEEKLY:
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = ", ".join(names[d] for d in sorted(window.weekdays or []) if 0 <= d < 7)
        start = window.start_time.strftime("%H:%M") if window.start_time else "?"
        end = window.end_time.strftime("%H:%M") if window.end_time else "?"
        return f"every {days or 'no day'}, {start}–{end} ({window.time_zone})"
    return f"cron “{window.cron}” for {window.duration_minutes} min ({window.time_zone})"
