"""Geometry of the dashboard's charts, worked out in Python and drawn as inline SVG by the
templates: no chart library, nothing fetched from elsewhere, and every chart readable without
JavaScript.

Pure functions of plain numbers; nothing here knows about Django. Coordinates are in the units
of each chart's ``viewBox`` (the SVG scales to its container), y growing downwards as in SVG.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WIDTH = 640
HEIGHT = 260
# RIGHT leaves room for half of the last x-axis label ("100 %"), centred on the plot's edge.
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 12, 40

MAX_CURVE_POINTS = 200
HISTOGRAM_BINS = 20
# The top 5 % of lifetime values share the last, open-ended bin, so a handful of very large
# customers does not squeeze everyone else into the first bar.
HISTOGRAM_CAP_QUANTILE = 0.95


@dataclass(frozen=True)
class Tick:
    position: float  # x or y in the viewBox
    value: float


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label_x: float
    label_y: float


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values from at most ``low`` to at least ``high``, about ``count`` of them, 1-2-5
    spaced, for an axis."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while True:
        ticks.append(round(value, 10))
        if value >= high - step * 1e-9:
            return ticks
        value += step


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return start
    return start + (value - low) / (high - low) * (end - start)


@dataclass(frozen=True)
class CentredBars:
    """Horizontal bars centred on one axis, widest for the largest value: drawn top to bottom
    they make the tier pyramid and the lifecycle funnel."""

    bars: list[Bar]
    row_height: float
    width: int
    height: int


def centred_bars(values: Sequence[float], *, width: int = WIDTH, row: float = 44) -> CentredBars:
    largest = max(values, default=0) or 1
    # The names on the left: "Not tiered (never bought, no cost to serve)" the longest, about
    # 260 units at the charts' 12 px.
    plot_left = 280.0
    plot_width = width - plot_left - 90.0
    centre = plot_left + plot_width / 2
    bars = []
    for index, value in enumerate(values):
        bar_width = max(plot_width * value / largest, 2.0 if value else 0.0)
        y = TOP + index * row
        bars.append(
            Bar(
                x=centre - bar_width / 2,
                y=y,
                width=bar_width,
                height=row - 8,
                label_x=plot_left - 12,
                label_y=y + (row - 8) / 2,
            )
        )
    return CentredBars(
        bars=bars, row_height=row, width=width, height=int(TOP * 2 + row * len(bars))
    )


@dataclass(frozen=True)
class ColumnChart:
    """Vertical bars over a horizontal axis of categories (the lifetime value histogram)."""

    bars: list[Bar]
    y_ticks: list[Tick]
    baseline: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT


def column_chart(values: Sequence[float]) -> ColumnChart:
    ticks = nice_ticks(0.0, float(max(values, default=0) or 1))
    top_value = ticks[-1]
    baseline = HEIGHT - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(values), 1)
    bars = []
    for index, value in enumerate(values):
        y = _scale(value, 0.0, top_value, baseline, TOP)
        x = LEFT + index * slot
        bars.append(
            Bar(
                x=x + 1,
                y=y,
                width=max(slot - 2, 1),
                height=baseline - y,
                label_x=x + slot / 2,
                label_y=baseline + 16,
            )
        )
    return ColumnChart(
        bars=bars,
        y_ticks=[Tick(_scale(t, 0.0, top_value, baseline, TOP), t) for t in ticks],
        baseline=baseline,
    )


@dataclass(frozen=True)
class LineChart:
    """A curve through (x, y) points with axes, an optional horizontal reference line and one
    marked point (the whale curve with its 100 % line and its peak)."""

    points: str  # the polyline's "x,y x,y …"
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    reference_y: float | None
    marker: tuple[float, float] | None
    baseline: float
    zero_y: float
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP


def line_chart(
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    reference: float | None = None,
    marker: int | None = None,
) -> LineChart:
    """``xs`` run from 0 to 1 (shares); ``reference`` is a y value to draw across, ``marker``
    the index of the point to mark."""
    low = min(0.0, *ys, *([reference] if reference is not None else []))
    high = max(0.0, *ys, *([reference] if reference is not None else []))
    y_ticks = nice_ticks(low, high)
    low, high = y_ticks[0], y_ticks[-1]
    baseline = HEIGHT - BOTTOM

    def to_x(x: float) -> float:
        return _scale(x, 0.0, 1.0, LEFT, WIDTH - RIGHT)

    def to_y(y: float) -> float:
        return _scale(y, low, high, baseline, TOP)

    points = " ".join(f"{to_x(x):.1f},{to_y(y):.1f}" for x, y in zip(xs, ys, strict=True))
    return LineChart(
        points=points,
        x_ticks=[Tick(to_x(t), t) for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)],
        y_ticks=[Tick(to_y(t), t) for t in y_ticks],
        reference_y=to_y(reference) if reference is not None else None,
        marker=(to_x(xs[marker]), to_y(ys[marker])) if marker is not None else None,
        baseline=baseline,
        zero_y=to_y(0.0),
    )


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    size: float
    shade: float  # 0 (empty) to 1 (the largest count)
    count: int


def matrix_cells(
    counts: Sequence[Sequence[int]], *, left: float = 110, top: float = 36, size: float = 64
) -> list[list[Cell]]:
    """Square cells of a from × to table, shaded by count relative to the largest."""
    largest = max((c for row in counts for c in row), default=0) or 1
    return [
        [
            Cell(left + j * size, top + i * size, size, count / largest, count)
            for j, count in enumerate(row)
        ]
        for i, row in enumerate(counts)
    ]


def downsample(count: int, *, keep: Sequence[int] = (), limit: int = MAX_CURVE_POINTS) -> list[int]:
    """At most ``limit`` indices out of ``range(count)``, evenly spread, always including the
    first and the last and any in ``keep`` (the peak), in increasing order."""
    if count <= limit:
        return list(range(count))
    wanted = {0, count - 1, *(k for k in keep if 0 <= k < count)}
    spread = np.linspace(0, count - 1, limit - len(wanted)).round().astype(int).tolist()
    chosen = sorted(wanted | set(spread))
    while len(chosen) > limit:  # rounding collisions aside, drop evenly from the spread
        removable = [i for i in chosen if i not in wanted]
        chosen.remove(removable[len(removable) // 2])
    return chosen


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins; the last bin is open-ended (``capped``) when the
    largest values lie beyond the cap. ``edges`` has one more element than ``counts``; with
    ``capped`` the last edge is the largest value, not a bin boundary."""

    edges: list[float]
    counts: list[int]
    capped: bool


def histogram(
    values: np.ndarray,
    *,
    bins: int = HISTOGRAM_BINS,
    cap_quantile: float = HISTOGRAM_CAP_QUANTILE,
) -> Histogram:
    """Equal-width bins from the smallest value (or 0) up to the ``cap_quantile`` quantile;
    everything above the cap goes into the last bin."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return Histogram(edges=[], counts=[], capped=False)
    low = min(0.0, float(values.min()))
    largest = float(values.max())
    cap = float(np.quantile(values, cap_quantile))
    capped = cap < largest
    if cap <= low:
        cap, capped = largest, False
    if cap <= low:  # every value the same
        cap = low + 1.0
    width = (cap - low) / (bins - 1 if capped else bins)
    edges = [low + width * i for i in range(bins + 1)]
    positions = np.floor((values - low) / width).astype(np.int64)
    counts = np.bincount(np.clip(positions, 0, bins - 1), minlength=bins)
    if capped:
        edges[-1] = largest
    return Histogram(edges=edges, counts=counts.tolist(), capped=capped)
