"""The DORA performance levels (elite / high / medium / low) of the State of DevOps
report a project chose (MetricSettings.dora_year), as limits: a figure at or under a
level's limit has that level. docs/metrics.md cites each table.

Deployment frequency is banded by Four Keys' rule (daily, weekly, monthly, yearly:
metrics.selectors.frequency_cadence), mapped here onto the report's levels. Deployment
rework rate has no published levels in any report year: its band is always None.
"""

HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY

# Per year: per metric, [(limit or None for the last level, level)].
BANDS: dict[int, dict[str, list[tuple[float | None, str]]]] = {
    # Accelerate State of DevOps 2022: three clusters, no elite.
    2022: {
        "lead_time": [(WEEK, "high"), (MONTH, "medium"), (None, "low")],
        "change_fail_rate": [(15.0, "high"), (30.0, "medium"), (None, "low")],
        "recovery_time": [(DAY, "high"), (WEEK, "medium"), (None, "low")],
    },
    # Accelerate State of DevOps 2023, "Software delivery performance" table.
    2023: {
        "lead_time": [(DAY, "elite"), (WEEK, "high"), (MONTH, "medium"), (None, "low")],
        "change_fail_rate": [(5.0, "elite"), (10.0, "high"), (15.0, "medium"), (None, "low")],
        "recovery_time": [(HOUR, "elite"), (DAY, "high"), (WEEK, "medium"), (None, "low")],
    },
}

FREQUENCY_BANDS: dict[int, dict[str, str]] = {
    2022: {"daily": "high", "weekly": "medium", "monthly": "medium", "yearly": "low"},
    2023: {"daily": "elite", "weekly": "high", "monthly": "medium", "yearly": "low"},
}

DEFAULT_YEAR = 2023


def band(metric: str, value: float | None, *, year: int = DEFAULT_YEAR) -> str | None:
    """The level of `value` for `metric` in the report of `year`; None without a value or
    where the report gives no levels (rework rate)."""
    levels = BANDS.get(year, BANDS[DEFAULT_YEAR]).get(metric)
    if value is None or levels is None:
        return None
    for limit, level in levels:
        if limit is None or value <= limit:
            return level
    return None  # unreachable: the last level has no limit


def frequency_band(cadence: str | None, *, year: int = DEFAULT_YEAR) -> str | None:
    if cadence is None:
        return None
    return FREQUENCY_BANDS.get(year, FREQUENCY_BANDS[DEFAULT_YEAR])[cadence]
