"""Bar charts drawn on the server as SVG: numbers in, markup out.

The console's dashboard shows its figures as charts that need no script and
no chart library. This module only draws: it is given the numbers and the
words (already in the page's language) and returns an ``<svg>`` element with
a ``<title>`` and ``<desc>``, ``role="img"`` and ``aria-labelledby``, so a
screen reader names it; the page puts a table of the same numbers beside it.
Colours come from classes the stylesheet defines (``tone-0`` …), never from
inline styles, which the Content-Security-Policy forbids; the page draws the
legend in HTML (``legend``), where long names wrap. Every text is
escaped. Bar heights are proportional to their values on an axis that starts
at zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 560
HEIGHT = 300
LEFT = 48  # room for the axis numbers
RIGHT = 8
TOP = 12
BOTTOM = 40  # room for the group labels
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
TONES = 8
CHAR_W = 7.5  # the width of a Latin letter in a label, in the drawing's units


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name in the legend and one value per group."""

    name: str
    values: Sequence[float]


@dataclass(frozen=True)
class Chart:
    """What to draw: groups along the bottom, series side by side or stacked."""

    key: str  # the id prefix of the svg's title and desc: letters, digits, hyphens
    title: str
    description: str
    labels: Sequence[str]  # a newline puts the rest on a second line
    series: Sequence[Series]
    stacked: bool = False
    empty: str = ""  # said in the plot when every value is zero


def number(value: float) -> str:
    """A value as the chart and its table print it: whole numbers without a point."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def axis_top(largest: float) -> float:
    """The top of the axis: the smallest 1, 2 or 5 times a power of ten at or above ``largest``."""
    if largest <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 5, 10):
        if step * power >= largest:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def bar_height(value: float, top: float) -> float:
    """Pixels of a bar of ``value`` on an axis from zero to ``top``."""
    return round(max(value, 0.0) / top * PLOT_H, 2) if top > 0 else 0.0


def largest(chart: Chart) -> float:
    """The tallest bar: the largest value, or the largest sum of a group when stacked."""
    if not chart.series or not chart.labels:
        return 0.0
    if chart.stacked:
        return max(sum(max(s.values[i], 0) for s in chart.series) for i in range(len(chart.labels)))
    return max((max(s.values, default=0) for s in chart.series), default=0.0)


def short(label: str, room: float) -> str:
    """A group label cut to fit ``room`` under its bars (the table beside has it whole).

    Wide (CJK) characters count twice a Latin letter.
    """
    used = 0.0
    kept: list[str] = []
    for char in label:
        if used + _width(char) > room:
            while kept and used + CHAR_W > room:  # room for the ellipsis
                used -= _width(kept.pop())
            return "".join(kept) + "…"
        used += _width(char)
        kept.append(char)
    return label


def _width(char: str) -> float:
    return CHAR_W * (2 if ord(char) >= 0x2E80 else 1)  # CJK and full-width forms start there


def _label(label: str, centre: float, room: float) -> str:
    """A group label under its bars; a second line (after a newline) goes beneath."""
    first, _, second = label.partition("\n")
    lines = f'<tspan x="{centre:.2f}">{escape(short(first, room))}</tspan>'
    if second:
        lines += f'<tspan x="{centre:.2f}" dy="14">{escape(short(second, room))}</tspan>'
    return (
        f'<text class="label" x="{centre:.2f}" y="{HEIGHT - BOTTOM + 16}"'
        f' text-anchor="middle">{lines}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, tone: int, tip: str) -> str:
    return (
        f'<rect class="bar tone-{tone % TONES}" x="{x:.2f}" y="{y:.2f}" width="{w:.2f}"'
        f' height="{h:.2f}"><title>{escape(tip)}</title></rect>'
    )


def _bars(chart: Chart, top: float) -> list[str]:
    groups = len(chart.labels)
    slot = PLOT_W / groups
    count = len(chart.series)
    width = slot * 0.6 if chart.stacked else slot * 0.8 / count
    out = []
    for g, label in enumerate(chart.labels):
        x0 = LEFT + g * slot + (slot - (width if chart.stacked else width * count)) / 2
        base = float(TOP + PLOT_H)
        for s, series in enumerate(chart.series):
            value = series.values[g]
            h = bar_height(value, top)
            x = x0 if chart.stacked else x0 + s * width
            y = base - h
            tip = f"{label.replace(chr(10), ' ')} · {series.name}: {number(value)}"
            out.append(_rect(x, y, width, h, s, tip))
            if chart.stacked:
                base = y
        centre = LEFT + g * slot + slot / 2
        out.append(_label(label, centre, slot - 4))
    return out


def _axis(top: float) -> list[str]:
    out = []
    for share in (0.0, 0.5, 1.0):
        y = TOP + PLOT_H - share * PLOT_H
        out.append(
            f'<line class="grid" x1="{LEFT}" y1="{y:.2f}" x2="{WIDTH - RIGHT}" y2="{y:.2f}"/>'
        )
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.2f}"'
            f' text-anchor="end">{escape(number(top * share))}</text>'
        )
    return out


def legend(chart: Chart) -> list[tuple[str, str]]:
    """Each series' name and the class of its colour, for the legend beside the chart."""
    return [(s.name, f"tone-{i % TONES}") for i, s in enumerate(chart.series)]


def bar_chart(chart: Chart) -> Markup:
    """The chart as one ``<svg>`` element, named by its title and described by its desc."""
    top = axis_top(largest(chart))
    key = escape(chart.key)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' role="img" aria-labelledby="{key}-title {key}-desc">',
        f'<title id="{key}-title">{escape(chart.title)}</title>',
        f'<desc id="{key}-desc">{escape(chart.description)}</desc>',
        *_axis(top),
    ]
    if chart.labels and chart.series:
        parts.extend(_bars(chart, top))
    if largest(chart) <= 0 and chart.empty:
        parts.append(
            f'<text class="empty" x="{LEFT + PLOT_W / 2:.2f}" y="{TOP + PLOT_H / 2:.2f}"'
            f' text-anchor="middle">{escape(chart.empty)}</text>'
        )
    parts.append("</svg>")
    # Every text in ``parts`` went through ``escape``; the rest is markup written here.
    return Markup("".join(parts))  # noqa: S704
