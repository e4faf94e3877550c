"""Weekly trends drawn as SVG on the server: bars with their value in text, so the chart
reads without colour and without JavaScript; the page puts a table beside each."""

from dataclasses import dataclass

WIDTH = 280
HEIGHT = 80
GAP = 2


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the week and its value, for the bar's <title>
    week: object  # the week's first day
    value_text: str  # the value for the table ("–": no figure that week)
    empty: bool  # no figure that week: a short tick instead of a bar


def trend_bars(values: list[float | None], week_starts: list, unit: str) -> list[Bar]:
    """One bar per week, heights scaled to the largest value (a flat line at zero)."""
    top = max((v for v in values if v is not None), default=0) or 1
    width = WIDTH / max(len(values), 1)
    bars = []
    for i, (value, week) in enumerate(zip(values, week_starts, strict=True)):
        height = 0.0 if value is None else max(HEIGHT * value / top, 1.0)
        text = "no figure" if value is None else f"{value:g} {unit}"
        bars.append(
            Bar(
                x=round(i * width + GAP / 2, 1),
                y=round(HEIGHT - height, 1),
                width=round(max(width - GAP, 1), 1),
                height=round(height, 1),
                label=f"Week of {week:%Y-%m-%d}: {text}",
                week=week,
                value_text="–" if value is None else f"{value:g}",
                empty=value is None,
            )
        )
    return bars
