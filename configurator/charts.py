"""Bar charts as geometry for server-rendered SVG: templates draw them, this module measures.

No markup is built here (templates autoescape every label); colours are SVG presentation
attributes, so the strict CSP (no inline styles) holds.
"""

from __future__ import annotations

from dataclasses import dataclass

ROW_HEIGHT = 24
BAR_HEIGHT = 16
LABEL_WIDTH = 300
PLOT_WIDTH = 420
VALUE_WIDTH = 110
LABEL_CHARS = 42
COLUMN_WIDTH = 22
COLUMN_PLOT_HEIGHT = 160
COLUMN_FOOT = 56
COLORS = ("#1f4fd1", "#c2410c", "#6b7280", "#15803d")


@dataclass(frozen=True)
class Series:
    """One kind of quantity in a chart, with its legend name and fill colour."""

    name: str
    fill: str


@dataclass(frozen=True)
class Rect:
    """One drawn bar (or part of a stacked bar)."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    value: int
    series: str


@dataclass(frozen=True)
class Row:
    """One labelled row of a horizontal bar chart."""

    label: str
    full_label: str
    y: float
    text_y: float
    rects: list[Rect]
    marker_x: float | None
    value_text: str


@dataclass(frozen=True)
class BarChart:
    """A horizontal (optionally stacked) bar chart, with an optional marker per row."""

    id: str
    title: str
    width: int
    height: int
    label_width: int
    plot_width: int
    rows: list[Row]
    series: list[Series]
    marker_name: str | None


@dataclass(frozen=True)
class Column:
    """One vertical bar of a column chart, with its label below it."""

    label: str
    x: float
    y: float
    width: float
    height: float
    value: int
    label_x: float
    label_y: float


@dataclass(frozen=True)
class ColumnChart:
    """A vertical bar chart, such as counts per day."""

    id: str
    title: str
    width: int
    height: int
    plot_height: int
    columns: list[Column]
    fill: str
    top: int


def clip(text: str, limit: int = LABEL_CHARS) -> str:
    """A label short enough for the chart; the full text stays in the table and the tooltip."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    chart_id: str,
    title: str,
    rows: list[tuple[str, list[int], int | None]],
    series: list[str],
    marker_name: str | None = None,
    value_text: list[str] | None = None,
) -> BarChart:
    """Horizontal bars: each row is (label, values stacked left to right, marker or None)."""
    scale_top = max(
        [sum(values) for _label, values, _m in rows] + [m or 0 for _l, _v, m in rows] + [1]
    )
    unit = PLOT_WIDTH / scale_top
    drawn = []
    for n, (label, values, marker) in enumerate(rows):
        y = n * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        x = float(LABEL_WIDTH)
        rects = []
        for k, value in enumerate(values):
            width = value * unit
            rects.append(Rect(x, y, width, BAR_HEIGHT, COLORS[k % len(COLORS)], value, series[k]))
            x += width
        text = value_text[n] if value_text else f"{sum(values):,}"
        drawn.append(
            Row(
                clip(label),
                label,
                n * ROW_HEIGHT,
                n * ROW_HEIGHT + ROW_HEIGHT * 0.68,
                rects,
                LABEL_WIDTH + marker * unit if marker is not None else None,
                text,
            )
        )
    return BarChart(
        chart_id,
        title,
        LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        max(len(rows), 1) * ROW_HEIGHT,
        LABEL_WIDTH,
        PLOT_WIDTH,
        drawn,
        [Series(name, COLORS[k % len(COLORS)]) for k, name in enumerate(series)],
        marker_name,
    )


def column_chart(chart_id: str, title: str, points: list[tuple[str, int]]) -> ColumnChart:
    """Vertical bars, one per (label, value), scaled to the largest value."""
    top = max([v for _l, v in points] + [1])
    columns = []
    for n, (label, value) in enumerate(points):
        height = value / top * COLUMN_PLOT_HEIGHT
        x = n * COLUMN_WIDTH + 4
        columns.append(
            Column(
                label,
                x,
                COLUMN_PLOT_HEIGHT - height,
                COLUMN_WIDTH - 6,
                height,
                value,
                x + (COLUMN_WIDTH - 6) / 2,
                COLUMN_PLOT_HEIGHT + 8,
            )
        )
    return ColumnChart(
        chart_id,
        title,
        max(len(points), 1) * COLUMN_WIDTH + 8,
        COLUMN_PLOT_HEIGHT + COLUMN_FOOT,
        COLUMN_PLOT_HEIGHT,
        columns,
        COLORS[0],
        top,
    )
