"""Section charts as SVG, for the HTML and Markdown briefings (the Word paper embeds the PNG that
``charts`` draws: Word before 2016 shows raster pictures only, and an SVG picture needs a PNG
fallback beside it anyway).

A chart is two panels, each its own ``<svg>`` with a 400 x 250 viewBox: the trend (the LA against
England, its region and its statistical neighbours over time) and the ranked strip of every LA
that year. Side by side on a wide screen, one above the other on a phone; either way a panel is
drawn between about 330 and 480 px wide, so its 12-unit text shows at 10 to 15 px: readable at
any width, which one wide image scaled down to a phone is not.

The SVG is written as text, not drawn: it costs far less than a raster chart per LA, and every
name and label in it is escaped, because LA and region names come from input files.
"""

from __future__ import annotations

import math
import textwrap

from orchestration.lib.outputs.briefing.charts import (
    ENGLAND_COLOUR,
    LA_COLOUR,
    REGION_COLOUR,
    SN_COLOUR,
    LaSeries,
    MeasureSeries,
)
from orchestration.lib.outputs.briefing.sentences import format_number, ordinal, period_label
from orchestration.lib.printable import xml_text

WIDTH, HEIGHT = 400, 250
FONT = 12  # viewBox units: 10 to 15 px on screen (see the module docstring)
LEFT, RIGHT, BOTTOM = 46, 10, 66  # plot margins; the top one depends on the title's lines
TITLE_CHARS = 58  # a 12-unit line of about 390 units
MAX_X_LABELS = 6  # "2015/16" at 11 units is ~45 wide: six fit under a 344-unit axis
INK, MUTED, GRID = "#0b0c0c", "#505a5f", "#e6e6e6"


def _text(x: float, y: float, text: str, *, size: float = FONT, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{xml_text(str(value))}"' for name, value in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}"{extra}>{xml_text(text)}</text>'


def _ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) inside ``low``..``high``."""
    span = high - low
    if not span > 0 or not math.isfinite(span):
        return [low]
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    count = int(math.floor((high - first) / step + 1e-9)) + 1
    return [round(first + i * step, 10) for i in range(count)]


def _tick_label(value: float, unit: str | None) -> str:
    text = f"{value:g}"
    return text + "%" if unit == "%" else text


class _Frame:
    """One panel's coordinates: a title above, the shared y axis on the left."""

    def __init__(self, series: MeasureSeries, title: str, x_count: int):
        self.title_lines = textwrap.wrap(title, TITLE_CHARS)[:2] or [""]
        self.top = 12 + FONT * 1.3 * len(self.title_lines)
        self.bottom = HEIGHT - BOTTOM
        self.low, self.high = series.y_range
        self.x_count = x_count
        self.series = series

    def x(self, position: float) -> float:
        width = WIDTH - LEFT - RIGHT
        return LEFT + (position + 0.5) / self.x_count * width

    def y(self, value: float) -> float:
        fraction = (value - self.low) / ((self.high - self.low) or 1.0)
        return self.bottom - fraction * (self.bottom - self.top)

    def axes(self) -> list[str]:
        parts = [
            _text(0, 12 + FONT * 1.3 * i + FONT * 0.8, line, font_weight="600", fill=INK)
            for i, line in enumerate(self.title_lines)
        ]
        for tick in _ticks(self.low, self.high):
            y = self.y(tick)
            parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
            parts.append(
                _text(LEFT - 5, y + FONT * 0.35, _tick_label(tick, self.series.unit), size=11, anchor="end", fill=MUTED)
            )
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT}" y1="{self.top:.1f}" y2="{self.bottom:.1f}" stroke="{MUTED}"/>'
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{self.bottom:.1f}" y2="{self.bottom:.1f}" stroke="{MUTED}"/>'
        )
        return parts


def _svg(label: str, parts: list[str], css_class: str) -> str:
    return (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{xml_text(label)}" '
        f'font-family="Helvetica Neue, Arial, Liberation Sans, sans-serif">'
        f"<title>{xml_text(label)}</title>" + "".join(parts) + "</svg>"
    )


def _legend(items: list[tuple[str, str, str]], top: float) -> list[str]:
    """Two columns of (colour, dash, name) samples under the plot."""
    parts = []
    for i, (colour, dash, name) in enumerate(items):
        x = LEFT + (i % 2) * 175
        y = top + (i // 2) * 17
        parts.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" stroke-width="2.2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        parts.append(_text(x + 23, y + FONT * 0.35, _clip(name, 24), size=11, fill=INK))
    return parts


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def trend_svg(series: MeasureSeries, la: LaSeries, label: str) -> str:
    """The LA, England, region and statistical neighbours over time; lines break where years are
    not comparable, with a dotted rule where both sides have figures."""
    frame = _Frame(series, series.title, len(series.periods))
    parts = frame.axes()
    for period in series.marked_breaks:
        if period in series.periods:
            x = frame.x(series.periods.index(period) - 0.5)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top:.1f}" y2="{frame.bottom:.1f}" '
                f'stroke="#bbbbbb" stroke-dasharray="2 3"/>'
            )
    labels = [period_label(p, series.phase) for p in series.periods]
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for i in range(0, len(labels), step):
        parts.append(_text(frame.x(i), frame.bottom + 15, labels[i], size=11, anchor="middle", fill=MUTED))
    lines = [
        (la.sn_average, SN_COLOUR, "", 1.4, 2.2, "Statistical neighbours"),
        (la.regional, REGION_COLOUR, "", 1.4, 2.2, la.region_name or "Region"),
        (la.national, ENGLAND_COLOUR, "5 3", 1.4, 2.2, "England"),
        (la.value, LA_COLOUR, "", 2.6, 3.2, la.la_name),
    ]
    for values, colour, dash, width, radius, name in lines:
        parts.extend(_line(frame, series, values, colour, dash, width, radius, name))
    legend = [(LA_COLOUR, "", la.la_name), (ENGLAND_COLOUR, "5 3", "England")]
    legend += [(REGION_COLOUR, "", la.region_name or "Region"), (SN_COLOUR, "", "Statistical neighbours")]
    parts.extend(_legend(legend, frame.bottom + 34))
    return _svg(label, parts, "chart-trend")


def _line(frame, series, values, colour, dash, width, radius, name) -> list[str]:
    """A path broken at series breaks and gaps, with a marker per figure (its value as a tooltip)."""
    path, pen_down, markers = [], False, []
    for i, (period, value) in enumerate(zip(series.periods, values)):
        if period in series.breaks:
            pen_down = False
        if value is None or not math.isfinite(value):
            pen_down = False
            continue
        x, y = frame.x(i), frame.y(value)
        path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
        tip = f"{name}, {period_label(period, series.phase)}: " + format_number(
            value, series.decimal_places, series.unit
        )
        markers.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}"><title>{xml_text(tip)}</title></circle>'
        )
    if not markers:
        return []
    out = [
        f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="{width}"'
        + (f' stroke-dasharray="{dash}"' if dash else "")
        + ' stroke-linejoin="round"/>'
    ]
    return out + markers


def strip_svg(series: MeasureSeries, la: LaSeries, strip: dict[str, str], label: str) -> str:
    """Every LA's published figure that year, best on the left, coloured by quartile band, with
    the LA ringed and labelled."""
    count = len(series.strip_values)
    frame = _Frame(series, f"Where it sits in {period_label(series.strip_period, series.phase)}", max(count, 1))
    parts = frame.axes()
    by_band: dict[str, list[str]] = {}
    for rank, (value, band) in enumerate(zip(series.strip_values, series.strip_bands), start=1):
        by_band.setdefault(band, []).append(f"M{frame.x(rank - 1):.1f} {frame.y(value):.1f}h0")
    # a dot per LA: a zero-length path segment with round caps, one path per band
    for band, dots in sorted(by_band.items()):
        colour = strip.get(band, "#999999")
        parts.append(
            f'<path d="{"".join(dots)}" stroke="{colour}" stroke-width="4.5" stroke-linecap="round" fill="none"/>'
        )
    parts.append(
        _text(
            (LEFT + WIDTH - RIGHT) / 2,
            frame.bottom + 15,
            "All local authorities, ranked (best on the left)",
            size=11,
            anchor="middle",
            fill=MUTED,
        )
    )
    if la.rank and la.strip_value is not None:
        x, y = frame.x(la.rank - 1), frame.y(la.strip_value)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="none" stroke="{LA_COLOUR}" stroke-width="2.2"/>')
        name = _clip(la.la_name, 30)
        rank = f"{ordinal(la.rank)} of {la.ranked_count or count}, " + format_number(
            la.strip_value, series.decimal_places, series.unit
        )
        # two lines on the side with room for them, above the ring in the lower half, below it in the upper
        width = max(len(name), len(rank)) * 11 * 0.58
        right_side = x + 9 + width <= WIDTH - RIGHT or x - 9 - width < LEFT
        above = la.strip_value < (frame.low + frame.high) / 2
        first_y = y - 24 if above else y + 18
        for i, line in enumerate((name, rank)):
            parts.append(
                _text(
                    x + (9 if right_side else -9),
                    first_y + i * 13,
                    line,
                    size=11,
                    anchor="start" if right_side else "end",
                    fill=LA_COLOUR,
                    font_weight="600",
                    stroke="#ffffff",
                    stroke_width="3",
                    paint_order="stroke",
                )
            )
    key = [(strip.get(band, "#999999"), f"Band {band}") for band in ("A", "B", "C", "D")]
    for i, (colour, name) in enumerate(key):
        x = LEFT + i * 82
        y = frame.bottom + 40
        parts.append(f'<circle cx="{x + 5}" cy="{y:.1f}" r="4.5" fill="{colour}"/>')
        parts.append(_text(x + 14, y + FONT * 0.35, name, size=11, fill=INK))
    return _svg(label, parts, "chart-strip")


def standalone_svg(trend: str, strip: str) -> str:
    """Both panels side by side in one file, for the Markdown briefing's image link."""
    width = 2 * WIDTH + 20
    placed_trend = trend.replace("<svg ", '<svg x="0" y="0" ', 1)
    placed_strip = strip.replace("<svg ", f'<svg x="{WIDTH + 20}" y="0" ', 1)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}">'
        f'<rect width="100%" height="100%" fill="#ffffff"/>{placed_trend}{placed_strip}</svg>\n'
    )
