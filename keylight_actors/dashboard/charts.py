"""Bar charts drawn on the server as SVG geometry; the template writes the elements (escaped),
so no script and no third-party chart code is involved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..store.reports import DayCount

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 18, 34


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    count: int
    show_day: bool  # every fifth day and the last carry a date under the axis


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    total: int
    base_y: float
    left: float
    right: float


def bar_chart(title: str, days: Sequence[DayCount]) -> BarChart:
    peak = max((day.count for day in days), default=0)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        height = plot_height * day.count / peak if peak else 0.0
        bars.append(Bar(
            x=round(LEFT + index * slot + slot * 0.1, 2),
            y=round(TOP + plot_height - height, 2),
            width=round(slot * 0.8, 2),
            height=round(height, 2),
            day=day.date.isoformat(),
            count=day.count,
            show_day=index % 5 == 0 or index == len(days) - 1,
        ))
    return BarChart(title, WIDTH, HEIGHT, tuple(bars), peak,
                    sum(day.count for day in days), TOP + plot_height, LEFT, WIDTH - RIGHT)
