"""Section charts as PNG for the Word paper, drawn headless with matplotlib's Agg canvas (the HTML
and Markdown briefings draw the same chart as SVG: see ``svg``).

One chart per briefing section, for the section's headline measure: on the left the LA against
England, its region and the average of its statistical neighbours over time (lines break where
the series is not comparable); on the right a ranked strip of every LA that year, coloured by
quartile band, with the LA marked.

Briefings for all 153 LAs draw ~1,500 charts, so everything that is the same for every LA (axes,
ticks, titles, the strip of all LAs, the legend) is drawn once per measure and kept as a
background; each LA's chart restores it and draws only its own lines and marker (blitting), then
encodes a small palette PNG.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass

import numpy as np

from orchestration.lib.outputs.briefing.sentences import format_number, ordinal, period_label

# Quartile band colours. "lait" (the default) is LAIT's look, from its code: band A in GOV.UK green,
# D in GOV.UK red, B and C uncoloured in tables (greys in the chart's strip, which needs a colour).
# "diverging" is the blue-to-red palette the briefings used before (EDU_BRIEFING_BAND_PALETTE).
BAND_PALETTES = {
    "lait": {"A": "#00703c", "B": None, "C": None, "D": "#d4351c"},
    "diverging": {"A": "#2c7bb6", "B": "#abd9e9", "C": "#fdae61", "D": "#d7191c"},
}
STRIP_UNCOLOURED = {"B": "#b1b4b6", "C": "#dee0e2"}


def band_colours(palette: str) -> dict[str, str | None]:
    """Table colours of the bands in ``palette`` (None: no colour, as LAIT shows B and C)."""
    return BAND_PALETTES[palette]


def strip_colours(palette: str) -> dict[str, str]:
    return {band: colour or STRIP_UNCOLOURED[band] for band, colour in BAND_PALETTES[palette].items()}


LA_COLOUR, ENGLAND_COLOUR, REGION_COLOUR, SN_COLOUR = "#12436d", "#222222", "#8a8a8a", "#e07b00"
WIDTH_IN, HEIGHT_IN, DPI = 7.6, 2.5, 100


def _matplotlib():
    # Imported on first use: matplotlib is only needed when charts are drawn, and Agg needs no display.
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


@dataclass(frozen=True)
class MeasureSeries:
    """What every LA's chart of one measure shares."""

    key: tuple
    title: str
    periods: tuple[int, ...]  # x axis, oldest first
    phase: str | None
    unit: str | None
    decimal_places: int
    polarity: str
    breaks: tuple[int, ...]  # periods not comparable with the period before: lines break
    marked_breaks: tuple[int, ...]  # of those, the ones with figures on both sides: a dotted rule
    y_range: tuple[float, float]
    strip_period: int  # the year of the ranked strip
    strip_values: tuple[float, ...]  # published LA values that year, best first
    strip_bands: tuple[str, ...]


@dataclass(frozen=True)
class LaSeries:
    la_name: str
    region_name: str | None
    value: tuple[float, ...]  # aligned with MeasureSeries.periods, NaN where not published
    national: tuple[float, ...]
    regional: tuple[float, ...]
    sn_average: tuple[float, ...]
    rank: int | None  # in the strip year
    ranked_count: int | None
    strip_value: float | None


class _Canvas:
    """A figure for one measure with its background drawn, and the artists each LA redraws."""

    def __init__(self, series: MeasureSeries, strip: dict[str, str]):
        Figure, FigureCanvasAgg = _matplotlib()
        self.series = series
        self.strip = strip
        self.palette = None
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(fig)
        self.fig = fig
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        fig.subplots_adjust(left=0.065, right=0.985, top=0.86, bottom=0.25, wspace=0.16)
        self.left, self.right = left, right
        x = np.arange(len(series.periods))
        labels = [period_label(p, series.phase) for p in series.periods]
        step = max(1, math.ceil(len(labels) / 10))
        left.set_xticks(x[::step], labels[::step])
        left.set_xlim(-0.5, len(series.periods) - 0.5)
        low, high = series.y_range
        for ax in (left, right):
            ax.set_ylim(low, high)
            ax.tick_params(labelsize=7, length=2)
            ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        if series.unit == "%":
            left.yaxis.set_major_formatter(lambda v, _: f"{v:g}%")
            right.yaxis.set_major_formatter(lambda v, _: f"{v:g}%")
        for period in series.marked_breaks:
            if period in series.periods:
                position = series.periods.index(period) - 0.5
                left.axvline(position, color="#bbbbbb", linestyle=":", linewidth=0.9)
        left.set_title(series.title, fontsize=8, loc="left")
        strip_x = np.arange(1, len(series.strip_values) + 1)
        right.scatter(
            strip_x,
            series.strip_values,
            s=7,
            linewidths=0,
            c=[self.strip.get(b, "#999999") for b in series.strip_bands],
        )
        right.set_xlim(0, max(len(series.strip_values), 1) + 1)
        right.set_xticks([])
        right.set_xlabel("All local authorities, ranked (best on the left)", fontsize=7)
        right.set_title(f"Where it sits in {period_label(series.strip_period, series.phase)}", fontsize=8, loc="left")
        # Legend: the line samples and the fixed labels are background; the LA's and region's
        # names are drawn per LA by PIL (see render), which is far faster than matplotlib text.
        self.name_positions = []
        for i, (colour, style, width) in enumerate(
            [(LA_COLOUR, "-", 2.0), (ENGLAND_COLOUR, "--", 1.2), (REGION_COLOUR, "-", 1.2), (SN_COLOUR, "-", 1.2)]
        ):
            x0 = 0.065 + i * 0.15
            fig.add_artist(_line(x0, 0.055, colour, style, width))
            self.name_positions.append((x0 + 0.028, 0.055))
        fig.text(*self.name_positions[1], "England", fontsize=7, va="center")
        fig.text(*self.name_positions[3], "Statistical neighbours", fontsize=7, va="center")
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        self.lines = [
            left.plot([], [], color=colour, linestyle=style, linewidth=width, marker="o", markersize=ms, animated=True)[
                0
            ]
            for colour, style, width, ms in [
                (SN_COLOUR, "-", 1.2, 2.5),
                (REGION_COLOUR, "-", 1.2, 2.5),
                (ENGLAND_COLOUR, "--", 1.2, 2.5),
                (LA_COLOUR, "-", 2.2, 3.5),
            ]
        ]
        self.marker = right.plot(
            [],
            [],
            "o",
            markersize=8,
            markerfacecolor="none",
            markeredgecolor=LA_COLOUR,
            markeredgewidth=2.0,
            animated=True,
        )[0]
        self.font = _font(7)

    def _xy(self, values: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        """x, y with a NaN inserted before each series break so lines never join across it."""
        xs, ys = [], []
        for i, (period, value) in enumerate(zip(self.series.periods, values)):
            if period in self.series.breaks and i > 0:
                xs.append(i - 0.5)
                ys.append(np.nan)
            xs.append(i)
            ys.append(value)
        return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)

    def render(self, la: LaSeries) -> bytes:
        from PIL import Image, ImageDraw

        self.canvas.restore_region(self.background)
        for line, values in zip(self.lines, (la.sn_average, la.regional, la.national, la.value)):
            line.set_data(*self._xy(values))
            self.left.draw_artist(line)
        marked = bool(la.rank) and la.strip_value is not None
        if marked:
            self.marker.set_data([la.rank], [la.strip_value])
            self.right.draw_artist(self.marker)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
        draw = ImageDraw.Draw(image)
        for (fx, fy), name in (
            (self.name_positions[0], la.la_name),
            (self.name_positions[2], la.region_name or "Region"),
        ):
            draw.text((fx * width, (1 - fy) * height), name, font=self.font, fill="#0b0c0c", anchor="lm")
        if marked:
            count = len(self.series.strip_values)
            label = f"{la.la_name}: {ordinal(la.rank)} of {la.ranked_count or count}, " + format_number(
                la.strip_value, self.series.decimal_places, self.series.unit
            )
            px, py = self.right.transData.transform((la.rank, la.strip_value))
            low, high = self.series.y_range
            above = la.strip_value < (low + high) / 2
            x = px + (6 if la.rank < count * 0.55 else -6)
            y = height - py + (-9 if above else 9)
            anchor = ("l" if la.rank < count * 0.55 else "r") + ("d" if above else "a")
            box = draw.textbbox((x, y), label, font=self.font, anchor=anchor)
            draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill="#ffffff")
            draw.text((x, y), label, font=self.font, fill=LA_COLOUR, anchor=anchor)
        png, self.palette = _png(image, self.palette)
        return png


def _font(points: float):
    """matplotlib's own DejaVu Sans, so PIL's labels match the axes' text."""
    from matplotlib import get_data_path
    from PIL import ImageFont

    return ImageFont.truetype(
        os.path.join(get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"), size=round(points * DPI / 72)
    )


def _line(x0: float, y: float, colour: str, style: str, width: float):
    from matplotlib.lines import Line2D

    return Line2D([x0, x0 + 0.022], [y, y], color=colour, linestyle=style, linewidth=width)


def _png(image, palette=None):
    """The image as a 64-colour palette PNG (~10 KB: the charts are flat colours and text), and
    the palette, which the next chart of the same measure reuses (mapping to a known palette is
    several times faster than choosing one)."""
    from PIL import Image

    if palette is None:
        paletted = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
        palette = paletted
    else:
        paletted = image.quantize(palette=palette, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    # zlib level 3: half level 6's time for 15% more bytes (0.6 against 1.3 ms, 10.8 against 9.4 KiB)
    paletted.save(buffer, format="PNG", optimize=False, compress_level=3)
    return buffer.getvalue(), palette


class ChartRenderer:
    """Keeps one drawn background per measure, so each further LA costs only its own lines."""

    def __init__(self, palette: str = "lait"):
        self._canvases: dict[tuple, _Canvas] = {}
        self.strip = strip_colours(palette)

    def render(self, series: MeasureSeries, la: LaSeries) -> bytes:
        canvas = self._canvases.get(series.key)
        if canvas is None or (canvas.series is not series and canvas.series != series):
            canvas = self._canvases[series.key] = _Canvas(series, self.strip)
        return canvas.render(la)

    def close(self) -> None:
        self._canvases.clear()
