"""Render committee briefings from the published database.

``write_briefings`` reads ``marts.fct_la_measure`` (with ``dim_measure`` for phases and names,
``dim_local_authority`` for names and regions, ``fct_area_measure`` for England's previous
comparable year, the school marts where the publication has them (see :mod:`.schools`) and
``audit.publications`` for provenance) read-only, and writes, per LA,
``<slug>/<period>.html`` (self-contained: charts inline as SVG), ``<slug>/<period>.md`` with its
charts as SVG files in ``<slug>/<period>-charts/``, ``<slug>/<period>.docx`` (charts as PNG) and an
``index.html`` linking them. Everything is written to a
staging folder and swapped in whole, so a failed run leaves the previous briefings as they were.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import logging
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from html import escape as html_escape
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

import duckdb
from markupsafe import Markup

from orchestration.lib.outputs.briefing import charts as charts_module
from orchestration.lib.outputs.briefing import schools as schools_module
from orchestration.lib.outputs.briefing import svg, word
from orchestration.lib.outputs.briefing.schools import SchoolData, SchoolNum, date_label
from orchestration.lib.outputs.briefing.sentences import (
    BAND_QUARTERS_HIGH,
    COMPARISON_PAIRS,
    GAP_PAIRS,
    GROUP_PAIRS,
    MeasureRow,
    Note,
    Num,
    Sentence,
    academic_year_label,
    band_description,
    breakdown_label,
    display_name,
    format_number,
    gap_sentences,
    get,
    lower_first,
    measure_sentences,
    ordinal,
    period_label,
    period_slug,
    short_name,
    slugify,
)
from orchestration.lib.printable import markdown_text, plain_https

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
BRIEFING_LAS_ENV = "EDU_BRIEFING_LAS"
DFE = "Department for Education"

# Sections in the order officers present them; a phase the catalogue adds later comes after these.
PHASES = {
    "early_years": "Early years",
    "phonics": "Phonics",
    "ks1": "Key stage 1",
    "ks2": "Key stage 2",
    "ks4": "Key stage 4",
    "destinations": "Destinations after key stage 4",
    "ks5": "16 to 18",
    "age19": "Age 19",
    "attendance": "Attendance",
    "behaviour": "Behaviour: suspensions and exclusions",
    "neet": "Young people not in education, employment or training (NEET)",
    "inspection": "Schools judged good or outstanding by Ofsted",
}
# Order of measures within a section; the first with data is the section's headline (its chart).
MEASURE_ORDER = [
    "eyfs_gld",
    "eyfs_all_elgs",
    "eyfs_average_elgs",
    "phonics_y1_expected",
    "ks1_reading_expected",
    "ks1_writing_expected",
    "ks1_maths_expected",
    "ks1_science_expected",
    "ks1_reading_greater_depth",
    "ks1_writing_greater_depth",
    "ks1_maths_greater_depth",
    "ks2_rwm_expected",
    "ks2_rwm_higher",
    "ks2_reading_expected",
    "ks2_writing_expected",
    "ks2_maths_expected",
    "ks2_gps_expected",
    "ks2_science_expected",
    "ks2_reading_higher",
    "ks2_writing_greater_depth",
    "ks2_maths_higher",
    "ks2_gps_higher",
    "ks2_reading_scaled_score",
    "ks2_maths_scaled_score",
    "ks2_gps_scaled_score",
    "ks2_reading_progress",
    "ks2_writing_progress",
    "ks2_maths_progress",
    "ks4_attainment8",
    "ks4_progress8",
    "ks4_em_95",
    "ks4_em_94",
    "ks4_ebacc_entry",
    "ks4_ebacc_95",
    "ks4_ebacc_94",
    "ks4_ebacc_aps",
    "destinations_ks4_sustained",
    "destinations_ks4_education",
    "destinations_ks4_further_education",
    "destinations_ks4_school_sixth_form",
    "destinations_ks4_sixth_form_college",
    "destinations_ks4_apprenticeship",
    "destinations_ks4_not_sustained",
    "ks5_aps_per_entry",
    "ks5_aab",
    "ks5_three_a",
    "age19_l2",
    "age19_l2_em",
    "age19_l3",
    "age19_l2_em_after_16",
    "absence_overall",
    "absence_authorised",
    "absence_unauthorised",
    "absence_persistent",
    "absence_severe",
    "exclusions_suspension_rate",
    "exclusions_one_plus_suspension_rate",
    "exclusions_permanent_rate",
    "neet_or_not_known_16_17",
    "neet_16_17",
    "inspection_pupils_good_outstanding",
]
BREAKDOWN_ORDER = [
    "all",
    "disadvantaged",
    "not_disadvantaged",
    "fsm_eligible",
    "not_fsm_eligible",
    "sen_support",
    "ehc_plan",
    "any_sen",
    "no_sen",
    "white",
    "mixed",
    "asian",
    "black",
    "chinese",
    "other_ethnic",
    "cin_other",
    "cpp_other",
    "cla_12_months",
    "primary",
    "secondary",
    "special",
]
# A section's year is the LA's latest year with a figure, or with a figure withheld for a reason.
DATA_STATUSES = ("published", "suppressed", "low")
STATUS_TEXT = {
    "suppressed": "suppressed",
    "low": "rounds to 0",
    "not_available": "not published",
    "not_applicable": "not applicable",
    "missing": "not published",
}


# --- loading ------------------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
        ).fetchall()[0][0]
    )


@dataclass
class Published:
    """What the briefings read from one publication."""

    measures: dict[tuple[str, str], dict]  # (measure_code, breakdown) -> dim_measure row
    las: list[dict]  # dim_local_authority rows (or derived)
    by_la: dict[str, dict[tuple[str, str, int], dict]]  # old_la_code -> (measure, breakdown, period) -> row
    by_measure: dict[tuple[str, str], list[dict]]  # (measure, breakdown) -> every LA row
    national_previous: dict[tuple[str, str, int], int]  # England's previous comparable period
    publication: dict = field(default_factory=dict)
    schools: SchoolData = field(default_factory=SchoolData)  # empty for publications before the school marts

    @cached_property
    def _slugs(self) -> dict[str, str]:
        """old_la_code -> briefing folder, worked out once for every LA (see slug)."""
        by_name: dict[str, list[dict]] = defaultdict(list)
        for la in self.las:
            by_name[slugify(la["la_name"])].append(la)
        slugs = {}
        for name, namesakes in by_name.items():
            current = current_namesake(namesakes)
            for la in namesakes:
                slugs[la["old_la_code"]] = name if la is current else f"{name}-{la['old_la_code']}"
        return slugs

    def slug(self, la: dict) -> str:
        """The LA's briefing folder: its name; where two LAs share a name (Dorset, 835 until 2019
        and 838 since), the one with the latest figures keeps the name and the other's folder adds
        its code, so neither overwrites the other's briefing and the current LA's folder does not
        move when the old one leaves the data."""
        return self._slugs[la["old_la_code"]]


def load_published(path: Path, *, facts: bool = True, la_codes: list[str] | None = None) -> Published:
    """What the briefings read from the publication at ``path``; with ``facts=False`` only its LAs
    and its publication record (what the process that shares the LAs out among workers needs: the
    facts are ~200,000 rows, seconds to read). With ``la_codes``, the facts of those LAs only
    (``by_measure`` then holds only theirs: enough to check their briefings, not to write them)."""
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("SET enable_progress_bar = false")
        if not facts:
            rows = []
        elif la_codes is None:
            rows = _rows(con, "SELECT * FROM marts.fct_la_measure")
        else:
            rows = _rows(con, "SELECT * FROM marts.fct_la_measure WHERE list_contains(?, old_la_code)", [la_codes])
        measures = {(r["measure_code"], r["breakdown"]): r for r in _rows(con, "SELECT * FROM marts.dim_measure")}
        if _has_table(con, "marts", "dim_local_authority"):
            # a publication made before dim_local_authority had latest_time_period reads it as unknown
            latest = (
                "latest_time_period"
                if con.execute(
                    "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' "
                    "AND table_name = 'dim_local_authority' AND column_name = 'latest_time_period'"
                ).fetchone()[0]
                else "NULL AS latest_time_period"
            )
            las = _rows(
                con, f"SELECT la_code, old_la_code, la_name, region_name, {latest} FROM marts.dim_local_authority"
            )
        else:
            las = _rows(
                con,
                "SELECT old_la_code, arg_max(la_code, time_period) AS la_code, "
                "arg_max(la_name, time_period) AS la_name, arg_max(region_name, time_period) AS region_name, "
                "max(time_period) AS latest_time_period FROM marts.fct_la_measure GROUP BY old_la_code",
            )
        national_previous = {}
        if facts and _has_table(con, "marts", "fct_area_measure"):
            for r in _rows(
                con,
                "SELECT measure_code, breakdown, time_period, previous_time_period FROM marts.fct_area_measure "
                "WHERE area_level = 'national' AND previous_time_period IS NOT NULL",
            ):
                national_previous[(r["measure_code"], r["breakdown"], r["time_period"])] = r["previous_time_period"]
        publication = {}
        if _has_table(con, "audit", "publications"):
            found = _rows(
                con,
                "SELECT publication_id, published_at, code_version FROM audit.publications "
                "ORDER BY published_at DESC LIMIT 1",
            )
            publication = found[0] if found else {}
        schools = schools_module.load_school_data(con, _rows, _has_table) if facts else SchoolData()
        ranges = {}
        if facts and _has_table(con, "marts", "fct_band_thresholds"):  # publications before it have none
            for r in _rows(con, "SELECT * FROM marts.fct_band_thresholds"):
                ranges[(r["measure_code"], r["breakdown"], r["time_period"])] = r
    by_la: dict[str, dict] = defaultdict(dict)
    by_measure: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        # the range of the LA's band, as LAIT shows it beside the band
        band = row["quartile_band"]
        thresholds = ranges.get((row["measure_code"], row["breakdown"], row["time_period"]))
        row["band_range"] = thresholds.get(f"band_{band.lower()}_range") if band and thresholds else None
        by_la[row["old_la_code"]][(row["measure_code"], row["breakdown"], row["time_period"])] = row
        by_measure[(row["measure_code"], row["breakdown"])].append(row)
    return Published(measures, las, dict(by_la), dict(by_measure), national_previous, publication, schools)


# --- which LAs ----------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).strip()


def current_namesake(namesakes: list[dict]) -> dict:
    """Of LAs that share a name (Dorset: 835 until 2019, 838 since), the one with the latest
    figures: it keeps the bare name in briefing folders, the index and EDU_BRIEFING_LAS."""
    return max(namesakes, key=lambda la: (la.get("latest_time_period") or 0, la["old_la_code"]))


class NoSuchLa(ValueError):
    """An entry of EDU_BRIEFING_LAS (or --la) that names no LA of the publication."""


def select_las(las: list[dict], spec: str | None) -> list[dict]:
    """``EDU_BRIEFING_LAS``: comma-separated names or codes (3-digit or E-code); empty = all.
    Names with a comma ("Bristol, City of") work as written or as people say them ("Bristol").
    A name two LAs share picks the current one (current_namesake); the other is picked by its code."""
    ordered = sorted(las, key=lambda la: display_name(la["la_name"] or la["old_la_code"]))
    tokens = [t.strip() for t in (spec or "").split(",") if t.strip()]
    if not tokens:
        return ordered
    keys: dict[str, dict] = {}
    named: dict[str, list[dict]] = defaultdict(list)
    for la in ordered:
        for key in (la["old_la_code"], la.get("la_code")):
            if key:
                keys.setdefault(_normalise(key), la)
        for key in {_normalise(k) for k in (la["la_name"], display_name(la["la_name"] or "")) if k}:
            named[key].append(la)
    for key, namesakes in named.items():
        keys.setdefault(key, current_namesake(namesakes))
    chosen, i = [], 0
    while i < len(tokens):
        for width in (3, 2, 1):  # "Bristol, City of" arrives as two tokens
            candidate = _normalise(", ".join(tokens[i : i + width]))
            if i + width <= len(tokens) and candidate in keys:
                la = keys[candidate]
                if la not in chosen:
                    chosen.append(la)
                i += width
                break
        else:
            close = difflib.get_close_matches(_normalise(tokens[i]), list(keys), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise NoSuchLa(f"no local authority matches {tokens[i]!r}{hint}")
    return chosen


# --- building a briefing ------------------------------------------------------------------------


def _measure_sort_key(code: str) -> tuple:
    return (MEASURE_ORDER.index(code) if code in MEASURE_ORDER else len(MEASURE_ORDER), code)


def phases_in_order(measures: dict[tuple[str, str], dict]) -> list[str]:
    present = {m["phase"] for m in measures.values() if m.get("phase")}
    return [p for p in PHASES if p in present] + sorted(present - set(PHASES))


def phase_title(phase: str) -> str:
    return PHASES.get(phase, phase.replace("_", " ").capitalize())


@dataclass
class Context:
    published: Published
    renderer: Any  # ChartRenderer, or None for no charts
    series_cache: dict = field(default_factory=dict)
    england_cache: dict = field(default_factory=dict)

    def england_published(self, key: tuple[str, str]) -> set[int]:
        """Periods with a published England figure for (measure, breakdown)."""
        if key not in self.england_cache:
            self.england_cache[key] = {
                r["time_period"] for r in self.published.by_measure.get(key, []) if r["national_value"] is not None
            }
        return self.england_cache[key]

    def measure(self, code: str, breakdown: str = "all") -> dict:
        return self.published.measures.get((code, breakdown)) or self.published.measures.get((code, "all")) or {}


def _table_row(m: MeasureRow, label: str) -> dict:
    """One row of a section table: every number a Num tagged with its field."""
    cells: dict[str, Any] = {"label": label, "band": m["quartile_band"] if m.published else None}
    cells["year"] = Num(period_label(m.period, m.phase), "time_period", m.code, m.breakdown, m.period)
    if m.published:
        cells["value"] = m.num("value")
        cells["flag"] = m["release"] if m["release"] in ("provisional", "revised") else ""
    else:
        cells["value"] = STATUS_TEXT.get(m["value_status"], m["value_status"] or "")
        cells["flag"] = ""
    if m["change_vs_previous"] is not None and m["previous_time_period"] is not None:
        cells["change"] = m.num("change_vs_previous", signed=True)
        cells["change_since"] = m.year("previous_time_period")
        cells["previous_period"] = m["previous_time_period"]
    for name in ("national_value", "regional_value", "sn_average"):
        cells[name] = m.num(name) if m[name] is not None else None
    cells["regional_name"] = m.region_name
    if m.published and m["rank"] is not None:
        cells["rank"] = Num(ordinal(m["rank"]), "rank", m.code, m.breakdown, m.period)
        cells["ranked_count"] = Num(str(m["ranked_count"]), "ranked_count", m.code, m.breakdown, m.period)
    if cells["band"]:
        cells["band_num"] = Num(cells["band"], "quartile_band", m.code, m.breakdown, m.period)
        cells["band_title"] = band_description(cells["band"], m.polarity)
        cells["band_range"] = m["band_range"]
    return cells


def _regional_heading(table: list[dict], la_region: str | None) -> str:
    """The regional column's heading: the comparator all rows share (Inner London, say), or the
    LA's region with each row naming its own comparator when they differ (a London borough
    compared with Inner London on one measure and with London on another)."""
    names = {row.get("regional_name") for row in table if row.get("regional_value") is not None}
    if len(names) == 1 and None not in names:
        return names.pop()
    for row in table:
        if row.get("regional_value") is not None:
            row["regional_flag"] = row.get("regional_name")
    return la_region or "Region"


def _academic_years(row: dict) -> dict:
    """A table row with its years written as school years (2024/25): one style in a table that
    mixes phases, where exam years (2025) and whole-year measures (2024/25) would meet."""
    row = dict(row)
    year = row["year"]
    row["year"] = Num(academic_year_label(year.period), "academic_year", year.measure, year.breakdown, year.period)
    if row.get("change_since") is not None and row.get("previous_period") is not None:
        row["change_since"] = Num(
            academic_year_label(row["previous_period"]),
            "previous_academic_year",
            year.measure,
            year.breakdown,
            year.period,
        )
    return row


def _measure_series(
    ctx: Context, code: str, breakdown: str, strip_period: int, phase: str
) -> charts_module.MeasureSeries | None:
    key = (code, breakdown, strip_period)
    if key in ctx.series_cache:
        return ctx.series_cache[key]
    rows = ctx.published.by_measure.get((code, breakdown), [])
    periods = sorted({r["time_period"] for r in rows})
    values = [
        r[f] for r in rows for f in ("value", "national_value", "regional_value", "sn_average") if r[f] is not None
    ]
    series = None
    if periods and values:
        national = {}
        connected_to = defaultdict(set)
        for r in rows:
            if r["national_value"] is not None:
                national[r["time_period"]] = r["national_value"]
            if r["previous_time_period"] is not None:
                connected_to[r["time_period"]].add(r["previous_time_period"])
        breaks, marked = [], []
        for before, period in zip(periods, periods[1:]):
            england_previous = ctx.published.national_previous.get((code, breakdown, period))
            if england_previous != before and before not in connected_to[period]:
                breaks.append(period)
                if before in national and period in national:
                    marked.append(period)
        low, high = min(values), max(values)
        pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
        strip = sorted(
            (
                r
                for r in rows
                if r["time_period"] == strip_period
                and r["value_status"] == "published"
                and r["value"] is not None
                and r["rank"] is not None
            ),
            key=lambda r: (r["rank"], r["old_la_code"]),
        )
        measure = ctx.measure(code, breakdown)
        series = charts_module.MeasureSeries(
            key=key,
            title=short_name(measure.get("measure_name"), code),
            periods=tuple(periods),
            phase=phase,
            unit=measure.get("unit") or rows[0]["unit"],
            decimal_places=int(measure.get("decimal_places") or rows[0]["decimal_places"] or 0),
            polarity=measure.get("polarity") or rows[0]["polarity"] or "high",
            breaks=tuple(breaks),
            marked_breaks=tuple(marked),
            y_range=(low - pad, high + pad),
            strip_period=strip_period,
            strip_values=tuple(r["value"] for r in strip),
            strip_bands=tuple(r["quartile_band"] or "" for r in strip),
        )
    ctx.series_cache[key] = series
    return series


def _chart(ctx: Context, la: dict, la_rows: dict, code: str, period: int, phase: str) -> dict | None:
    if ctx.renderer is None:
        return None
    series = _measure_series(ctx, code, "all", period, phase)
    if series is None:
        return None
    nan = float("nan")

    def line(field_name: str) -> tuple[float, ...]:
        out = []
        for p in series.periods:
            row = la_rows.get((code, "all", p))
            value = row[field_name] if row else None
            if field_name == "value" and row and row["value_status"] != "published":
                value = None
            out.append(nan if value is None else float(value))
        return tuple(out)

    strip_row = la_rows.get((code, "all", period)) or {}
    published = strip_row.get("value_status") == "published" and strip_row.get("rank") is not None
    name = display_name(la["la_name"])
    la_series = charts_module.LaSeries(
        la_name=name,
        region_name=strip_row.get("regional_comparator_name") or la.get("region_name"),
        value=line("value"),
        national=line("national_value"),
        regional=line("regional_value"),
        sn_average=line("sn_average"),
        rank=strip_row.get("rank") if published else None,
        ranked_count=strip_row.get("ranked_count") if published else None,
        strip_value=strip_row.get("value") if published else None,
    )
    first, last = period_label(series.periods[0], phase), period_label(series.periods[-1], phase)
    trend_alt = (
        f"Line chart of {lower_first(series.title)} in {name}, England, {la_series.region_name or 'its region'} and "
        f"the average of its statistical neighbours, {first} to {last}"
    )
    strip_alt = f"A ranked strip of every local authority in {period_label(period, phase)}"
    if published:
        strip_alt += f", with {name} {ordinal(strip_row['rank'])} of {strip_row['ranked_count']}"
    trend = svg.trend_svg(series, la_series, trend_alt + ".")
    strip = svg.strip_svg(series, la_series, ctx.renderer.strip, strip_alt + ".")
    return {
        "png": ctx.renderer.render(series, la_series),  # for the Word paper
        "svg_trend": Markup(trend),
        "svg_strip": Markup(strip),
        "svg_file": svg.standalone_svg(trend, strip),
        "alt": f"{trend_alt}; and {lower_first(strip_alt)}.",
        "title": series.title,
        "measure": code,
    }


def _publication(url: str, publisher: str, title: str, measure: dict | None = None) -> dict:
    """A DfE publication a section's figures come from (dim_measure's source_publication and
    source_url), with its Markdown link, its release dates and methodology where `make
    update-sources` has recorded them. Addresses are checked to be plain https addresses before
    they are written unescaped; the texts are escaped like every other value."""
    if not plain_https(url):
        raise ValueError(f"dim_measure.source_url {url!r} is not a plain https address")
    from markupsafe import Markup

    measure = measure or {}
    methodology = measure.get("methodology_url")
    methodology = methodology if plain_https(methodology) else None
    return {
        "publisher": publisher,
        "title": title,
        "url": url,
        "markdown": Markup(f"[{markdown_text(title)}]({url})"),
        "releases": release_note(measure),
        "methodology_url": methodology,
        "methodology_markdown": Markup(f"[methodology]({methodology})") if methodology else None,
    }


def release_note(measure: dict) -> str | None:
    """ "latest release Academic year 2024/25, published 11 December 2025; next release December
    2026 (DfE's website, 1 December 2026)", from dim_measure; None when nothing was recorded."""
    parts = []
    if measure.get("latest_release_title"):
        published = measure.get("latest_release_published")
        parts.append(
            f"latest release {measure['latest_release_title']}"
            + (f", published {date_label(published)}" if published else "")
        )
    if measure.get("latest_release_title") or measure.get("next_release"):
        parts.append(f"next release {next_release_label(measure.get('next_release'))}")
    if not parts:
        return None
    checked = measure.get("release_dates_checked_on")
    return "; ".join(parts) + (f" (DfE's website, {date_label(checked)})" if checked else "")


def next_release_label(value: str | None) -> str:
    """DfE's announced date as precise as DfE gave it: 10 December 2026, December 2026 or 2026."""
    if not value:
        return "not announced"
    try:
        if len(value) == 10:
            return date_label(value)
        if len(value) == 7:
            return f"{date.fromisoformat(value + '-01'):%B %Y}"
    except ValueError:  # not a date after all (the lock's reader refuses such records): shown as given
        pass
    return value


def _pair_rows(la_rows: dict, code: str, period: int, pairs: dict):
    """(group, its row, its comparison group's row) for each of ``pairs`` whose two rows the LA has."""
    for group, (rest, _, _) in pairs.items():
        group_row, rest_row = la_rows.get((code, group, period)), la_rows.get((code, rest, period))
        if group_row and rest_row:
            yield group, group_row, rest_row


def build_briefing(ctx: Context, la: dict) -> dict:
    """Everything the templates show for one LA."""
    published = ctx.published
    la_rows = published.by_la.get(la["old_la_code"], {})
    # measure -> period -> its breakdowns the LA has: each section looks its measures up here
    # rather than scanning every row of the LA once per measure
    breakdowns_of: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for code, breakdown, period in la_rows:
        breakdowns_of[code][period].add(breakdown)
    name = display_name(la["la_name"])
    sections, glance, vulnerable = [], [], []
    phase_codes: dict[str, list[str]] = defaultdict(list)
    for (code, breakdown), m in published.measures.items():
        if breakdown == "all" and m.get("phase"):
            phase_codes[m["phase"]].append(code)
    for phase in phases_in_order(published.measures):
        codes = sorted(set(phase_codes.get(phase, [])), key=_measure_sort_key)
        # the latest year with an all-pupils figure: DfE's children-in-need files carry later years of
        # their groups alone, and a section is written around the all-pupils figure
        periods = [
            p
            for c in codes
            for p, breakdowns in breakdowns_of.get(c, {}).items()
            if "all" in breakdowns and la_rows[(c, "all", p)]["value_status"] in DATA_STATUSES
        ]
        if not periods:
            continue
        period = max(periods)
        paragraphs, table, sources, releases, publications, definitions = [], [], {}, set(), {}, {}
        headline = None
        for code in codes:
            row = la_rows.get((code, "all", period))
            if row is None:
                continue
            measure = ctx.measure(code)
            if measure.get("source_url") and measure.get("source_publication"):
                publications[measure["source_url"]] = (
                    measure.get("source_publisher") or DFE,
                    measure["source_publication"],
                    measure,
                )

            def wrap(r: dict) -> MeasureRow:
                key = (r["measure_code"], r["breakdown"])
                between = None
                if r["previous_time_period"] is not None:
                    between = any(r["previous_time_period"] < p < r["time_period"] for p in ctx.england_published(key))
                return MeasureRow(
                    r,
                    name,
                    phase,
                    measure.get("measure_name"),
                    # the area the regional figure is from: a London borough's Inner or Outer
                    # London where published for the measure (LAIT's comparator), else its region
                    get(r, "regional_comparator_name") or la.get("region_name"),
                    published.national_previous.get((*key, r["time_period"])),
                    between,
                )

            m = wrap(row)
            headline = headline or code
            gaps = [
                sentence
                for _, group_row, rest_row in _pair_rows(la_rows, code, period, GAP_PAIRS)
                for sentence in gap_sentences(wrap(group_row), wrap(rest_row))
            ]
            for group, group_row, rest_row in _pair_rows(la_rows, code, period, GROUP_PAIRS):
                found = gap_sentences(wrap(group_row), wrap(rest_row), neighbours=True)
                if found:
                    vulnerable.append(
                        {
                            "title": f"{phase_title(phase)}, {lower_first(short_name(measure.get('measure_name'), code))}: "
                            f"{lower_first(breakdown_label(group))} ({period_label(period, phase)})",
                            "measure": code,
                            "sentences": found,
                        }
                    )
            paragraphs.append(
                {
                    "title": short_name(measure.get("measure_name"), code),
                    "measure": code,
                    "sentences": measure_sentences(m),
                    "gap_sentences": gaps,
                }
            )
            for breakdown in sorted(
                breakdowns_of.get(code, {}).get(period, set()),
                key=lambda b: (BREAKDOWN_ORDER.index(b) if b in BREAKDOWN_ORDER else 99, b),
            ):
                r = wrap(la_rows[(code, breakdown, period)])
                label = short_name(measure.get("measure_name"), code)
                if measure.get("definition"):
                    definitions.setdefault(code, {"measure": code, "label": label, "text": measure["definition"]})
                if breakdown != "all":
                    label = f"{label}: {breakdown_label(breakdown).lower()}"
                table.append(_table_row(r, label))
                if r["release"]:
                    releases.add(r["release"])
                if r["data_source_file"]:
                    sources[r["data_source_file"]] = r["file_sha256"]
        if not paragraphs:
            continue
        label = period_label(period, phase)
        flag = " (provisional)" if "provisional" in releases else (" (revised)" if "revised" in releases else "")
        chart = _chart(ctx, la, la_rows, headline, period, phase)
        section = {
            "phase": phase,
            "title": phase_title(phase),
            "period": period,
            "period_label": label,
            "academic_year": academic_year_label(period),
            "flag": flag,
            "paragraphs": paragraphs,
            "table": table,
            # each measure's methodology note (dim_measure.definition), in the table's order
            "definitions": list(definitions.values()),
            "chart": chart,
            "sources": [{"file": f, "sha256": s} for f, s in sorted(sources.items())],
            "publications": [
                _publication(url, publisher, title, measure)
                for url, (publisher, title, measure) in sorted(publications.items())
            ],
            "local_name": name,
            "region_name": _regional_heading(table, la.get("region_name")),
        }
        sections.append(section)
        headline_row = table[0] if table else None
        if headline_row:
            glance.append({"section": section, "row": _academic_years(headline_row)})
    latest = max((s["period"] for s in sections if s["period"] >= 100000), default=None) or max(
        (s["period"] for s in sections), default=None
    )
    # A phase whose latest figures are older than the briefing's year says so (e.g. KS1 ended in 2023).
    for section in sections:
        if latest and latest >= 100000 and section["period"] >= 100000 and section["period"] < latest:
            section["older_than_briefing"] = True
    school_parts = schools_module.build_schools(
        published.schools, la, name, published.measures, la_rows, _measure_sort_key
    )
    return {
        "schools": school_parts["schools"],
        "cohorts": school_parts["cohorts"],
        "la": {**la, "display_name": name, "slug": ctx.published.slug(la)},
        "sections": sections,
        "glance": glance,
        # SEN, children in need and looked-after children against the pupils they are compared with
        "vulnerable": vulnerable,
        # publishers other than DfE whose data a section's figures are worked out from (Ofsted)
        "worked_out_from": sorted(
            {pub["publisher"] for section in sections for pub in section["publications"]} - {DFE}
        ),
        "period": latest,
        "period_slug": period_slug(latest) if latest else None,
        "academic_year": academic_year_label(latest) if latest else None,
    }


# --- templates ----------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return html_escape(text, quote=True)


def part_html(part: Any) -> str:
    """A sentence part as HTML: numbers carry the mart field they show (tests read them back)."""
    kind = type(part)
    if kind is str:
        return html_escape(part, quote=False)
    if kind is Num:
        return (
            f'<span class="num" data-field="{part.field}" data-measure="{_escape(part.measure or "")}" '
            f'data-breakdown="{_escape(part.breakdown or "")}" data-period="{"" if part.period is None else part.period}">'
            f"{html_escape(part.text, quote=False)}</span>"
        )
    if kind is SchoolNum:
        # Not span.num: these are read back against the school marts, not fct_la_measure.
        return (
            f'<span class="school-num" data-table="{_escape(part.table)}" data-key="{_escape(part.key)}" '
            f'data-field="{_escape(part.field)}">{html_escape(part.text, quote=False)}</span>'
        )
    if kind is Note:
        return f'<span class="note">{html_escape(part.text, quote=False)}</span>'
    if kind is Sentence:
        return f'<span class="sentence {part.kind}">' + "".join(map(part_html, part.parts)) + "</span>"
    return html_escape("" if part is None else str(part), quote=False)


def part_text(part: Any) -> str:
    if isinstance(part, (Num, Note, SchoolNum)):
        return part.text
    if isinstance(part, Sentence):
        return part.text
    return "" if part is None else str(part)


def md_cell(part: Any) -> str:
    # the Markdown template escapes every value it writes (finalize), '|' included
    return part_text(part)


def _finalize(value: Any) -> Any:
    """Every value a Markdown template writes is escaped as Markdown (LA, school and file names
    come from input files); HTML templates are escaped by Jinja's autoescape."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return markdown_text(value)
    return value


_DICT_ATTRIBUTES = frozenset(dir(dict))


def _item_or_attribute(environment_getattr):
    """Jinja's ``x.name``, which tries ``getattr`` before ``x["name"]``: a briefing is dicts, so
    that raised and caught an AttributeError for nearly every lookup (1.8 s of the 153 briefings).
    A dict's own key is looked up first unless the name is one of dict's attributes (``items``),
    which Jinja's order gives, so every template reads what it read before."""

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return environment_getattr(self, obj, attribute)

    return getattr


def template_environment(markdown: bool = False):
    import jinja2
    from markupsafe import Markup

    class Environment(jinja2.Environment):
        getattr = _item_or_attribute(jinja2.Environment.getattr)

    env = Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        # Markdown: every value escaped as Markdown by finalize (HTML escaping would show &lt;)
        autoescape=False if markdown else jinja2.select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **({"finalize": _finalize} if markdown else {}),
    )
    env.filters["html"] = lambda part: Markup(part_html(part))
    env.filters["text"] = part_text
    env.filters["md_cell"] = md_cell
    env.globals["band_colours"] = charts_module.band_colours(_band_palette())
    env.globals["band_quarters"] = BAND_QUARTERS_HIGH
    return env


def _band_palette() -> str:
    from orchestration.lib.settings import load_settings

    return load_settings().briefing_band_palette


# --- writing ------------------------------------------------------------------------------------


def _when(moment: Any) -> str | None:
    if not isinstance(moment, datetime):
        return str(moment) if moment else None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%d %B %Y %H:%M UTC").lstrip("0")


@dataclass
class BriefingRun:
    out_dir: Path
    index: Path
    files: list[Path]
    las: int
    charts: int
    seconds: float
    examples: dict[str, Path]
    checked: int = 0  # briefings read back and found to match the publication
    numbers: int = 0


def _new_staging(out_dir: Path) -> Path:
    from orchestration.lib.outputs.exports import staging_dir

    return staging_dir(out_dir)


@dataclass
class _Written:
    files: list[Path] = field(default_factory=list)
    charts: int = 0
    examples: dict[str, str] = field(default_factory=dict)  # display name -> path inside the folder
    checked: int = 0  # briefings whose numbers were read back from their files
    numbers: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, part: _Written) -> None:
        self.files += part.files
        self.charts += part.charts
        self.examples.update(part.examples)
        self.checked += part.checked
        self.numbers += part.numbers
        self.problems += part.problems


class BriefingNumbersDiffer(RuntimeError):
    """Numbers read back from the briefings just written differ from the publication: they were
    not put in place (the previous briefings stay)."""

    def __init__(self, checked: int, numbers: int, problems: list[str]):
        super().__init__(f"{len(problems)} of {numbers:,} numbers in {checked} briefings differ from the marts")
        self.checked, self.numbers, self.problems = checked, numbers, problems


class _LaWriter:
    """Writes briefings from one publication: the publication, the chart backgrounds drawn so far
    (one per measure, the costly part of a chart) and the templates, kept for every further batch
    of LAs this process writes."""

    def __init__(self, published: Published, charts: bool):
        self.published = published
        self.renderer = charts_module.ChartRenderer(_band_palette()) if charts else None
        self.ctx = Context(published, self.renderer)
        self.html_template = template_environment().get_template("briefing.html.j2")
        self.md_template = template_environment(markdown=True).get_template("briefing.md.j2")
        self.phases = _phases(published)

    def write(self, stage: Path, las: list[dict], provenance: dict, progress=None) -> _Written:
        """Render and write the briefings of ``las`` into ``stage``, each read back as written."""
        published, done = self.published, _Written()
        for la in las:
            briefing = build_briefing(self.ctx, la)
            if not briefing["sections"]:
                continue
            folder = stage / briefing["la"]["slug"]
            folder.mkdir(parents=True, exist_ok=True)
            slug = briefing["period_slug"]
            chart_dir_name = f"{slug}-charts"
            for section in briefing["sections"]:
                if section["chart"]:
                    (folder / chart_dir_name).mkdir(exist_ok=True)
                    chart_file = folder / chart_dir_name / f"{section['phase']}.svg"
                    chart_file.write_text(section["chart"]["svg_file"], encoding="utf-8")
                    section["chart"]["file"] = f"{chart_dir_name}/{chart_file.name}"
                    done.charts += 1
                    done.files.append(chart_file)
            context = {"b": briefing, **provenance}
            html_path, md_path = folder / f"{slug}.html", folder / f"{slug}.md"
            html_path.write_text(self.html_template.render(**context), encoding="utf-8")
            md_path.write_text(self.md_template.render(**context), encoding="utf-8")
            docx_path = folder / f"{slug}.docx"
            word.write_word(briefing, provenance, docx_path, charts_module.band_colours(_band_palette()))
            done.files += [html_path, md_path, docx_path]
            done.examples.setdefault(briefing["la"]["display_name"], f"{folder.name}/{html_path.name}")
            # read back from the files, as the briefing check reads them, before they are put in place
            html = html_path.read_text(encoding="utf-8")
            if not _names_publication(html, provenance["publication_id"]):
                done.problems.append(
                    f"{folder.name}/{html_path.name}: does not name publication {provenance['publication_id']}"
                )
            numbers, problems = _verify_briefing(
                published,
                self.phases,
                la["old_la_code"],
                stage,
                f"{folder.name}/{html_path.name}",
                html,
                f"{folder.name}/{docx_path.name}",
            )
            done.checked += 1
            done.numbers += numbers
            done.problems += problems
            if progress:
                progress(briefing["la"]["display_name"])
        return done

    def close(self) -> None:
        if self.renderer:
            self.renderer.close()


def _write_las(
    published: Published, stage: Path, las: list[dict], provenance: dict, charts: bool, progress=None
) -> _Written:
    """Render and write the briefings of ``las`` into ``stage``."""
    writer = _LaWriter(published, charts)
    try:
        return writer.write(stage, las, provenance, progress)
    finally:
        writer.close()


# A worker process's writer: it loads the publication with its first batch and keeps it (and its
# chart backgrounds) for the rest; its pool, and so the worker, lives for one write_briefings.
_worker_writer: tuple[tuple[str, bool], _LaWriter] | None = None


def _write_las_in_worker(
    published_db: str, stage: str, la_codes: list[str], provenance: dict, charts: bool
) -> _Written:
    global _worker_writer
    if _worker_writer is None or _worker_writer[0] != (published_db, charts):
        _worker_writer = ((published_db, charts), _LaWriter(load_published(Path(published_db)), charts))
    writer = _worker_writer[1]
    wanted = set(la_codes)
    las = [la for la in select_las(writer.published.las, "") if la["old_la_code"] in wanted]
    return writer.write(Path(stage), las, provenance)


def _batches(la_codes: list[str], workers: int) -> list[list[str]]:
    """The LAs in small batches, handed to whichever worker is free: a worker slowed by the step's
    other outputs then does fewer, and neither waits long for the other at the end (one batch each
    was 0.3-1.6 s apart on the sample's 153 LAs). Four LAs a batch is about a second's work."""
    size = max(1, min(4, len(la_codes) // (workers * 4)))
    return [la_codes[i : i + size] for i in range(0, len(la_codes), size)]


def default_workers(la_count: int) -> int:
    """Processes for ``la_count`` briefings: one per core this process may use (up to 4), from a
    few dozen LAs on (each worker first loads the publication, ~1-2 s). Charts are CPU-bound.
    The load average is not consulted: at this step it is mostly the run's own dbt build of a
    moment before, and it kept `make run` to one process (153 briefings: 30 s with one, 19 s
    with two on a 2-core machine). The outputs written beside the briefings (the exports, dbt
    docs) end sooner, leaving the cores to the briefings."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores, la_count // 25))


def write_briefings(
    published_db: Path,
    out_dir: Path,
    las_spec: str | None = None,
    *,
    charts: bool = True,
    generated_at: datetime | None = None,
    workers: int | None = None,
    progress=None,
) -> BriefingRun:
    """Write briefings for the LAs ``las_spec`` names (all when empty) into ``out_dir``."""
    from orchestration.lib.outputs.exports import remove_tree, replace_directory

    started = time.perf_counter()
    if not published_db.exists():
        raise FileNotFoundError(f"no published database at {published_db}: run `make run` first")
    # the LAs and publication first: the facts are read here only when no worker will read them
    published = load_published(published_db, facts=False)
    selected = select_las(published.las, las_spec)
    provenance = {
        "publication_id": published.publication.get("publication_id"),
        "published_at": _when(published.publication.get("published_at")),
        "code_version": published.publication.get("code_version"),
        "generated": _when(generated_at or datetime.now(UTC)),
    }
    workers = default_workers(len(selected)) if workers is None else max(1, workers)
    stage = _new_staging(out_dir)
    done = _Written()
    try:
        if workers == 1:
            done = _write_las(load_published(published_db), stage, selected, provenance, charts, progress)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            batches = _batches([la["old_la_code"] for la in selected], workers)
            # spawn, not fork: the orchestrator's threads must not be copied into the workers.
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = [
                    pool.submit(_write_las_in_worker, str(published_db), str(stage), batch, provenance, charts)
                    for batch in batches
                ]
                try:
                    for future in as_completed(futures):
                        part = future.result()
                        done.add(part)
                        if progress:
                            for name in part.examples:
                                progress(name)
                except BaseException:  # a batch failed: those not yet started are not run
                    pool.shutdown(cancel_futures=True)
                    raise
        if done.problems:  # none of this run's briefings is put in place: the previous ones stay
            # listed LA by LA (folder order, as the index and the check list them), each as read
            done.problems.sort(key=lambda problem: problem.split("/", 1)[0])
            raise BriefingNumbersDiffer(done.checked, done.numbers, done.problems)
        # Briefings of other LAs and earlier years stay; the index lists all of them.
        carry_forward(out_dir, stage)
        index = _write_index(template_environment(), stage, published, provenance)
        replace_directory(stage, out_dir)
    except BaseException:
        remove_tree(stage)
        raise
    relocated = [out_dir / p.relative_to(stage) for p in done.files]
    examples = {name: out_dir / rel for name, rel in sorted(done.examples.items())}
    return BriefingRun(
        out_dir,
        out_dir / index.relative_to(stage),
        relocated,
        len(examples),
        done.charts,
        time.perf_counter() - started,
        examples,
        done.checked,
        done.numbers,
    )


def carry_forward(out_dir: Path, stage: Path) -> None:
    """Keep the briefings this run did not rewrite: other LAs, and other years of these LAs.
    Hard links where possible (nothing is copied), never into a path this run wrote."""
    from orchestration.lib.outputs.exports import link_or_copy

    if not out_dir.is_dir():
        return
    for old_folder in (p for p in out_dir.iterdir() if p.is_dir()):
        new_folder = stage / old_folder.name
        rewritten = {p.stem for p in new_folder.glob("*.html")} if new_folder.is_dir() else set()
        for entry in old_folder.iterdir():
            period = entry.name.split(".")[0].removesuffix("-charts")
            if period in rewritten or (new_folder / entry.name).exists():
                continue
            new_folder.mkdir(exist_ok=True)
            link_or_copy(entry, new_folder / entry.name)


def _write_index(env, stage: Path, published: Published, provenance: dict) -> Path:
    by_slug = {published.slug(la): la for la in published.las}
    entries = []
    for folder in sorted(p for p in stage.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.html"), reverse=True)
        if not files:
            continue
        la = by_slug.get(folder.name, {"la_name": folder.name, "old_la_code": "", "la_code": "", "region_name": ""})
        name = display_name(la["la_name"])
        if folder.name != slugify(la["la_name"]):  # a namesake's folder (Dorset 835): say which LA it is
            name = f"{name} ({la['old_la_code']})"
        entries.append(
            {
                "name": name,
                "old_la_code": la.get("old_la_code"),
                "la_code": la.get("la_code"),
                "region_name": la.get("region_name"),
                "periods": [
                    {
                        "slug": f.stem,
                        "html": f"{folder.name}/{f.name}",
                        "md": f"{folder.name}/{f.stem}.md",
                        "has_md": f.with_suffix(".md").exists(),
                        "docx": f"{folder.name}/{f.stem}.docx",
                        "has_docx": f.with_suffix(".docx").exists(),
                    }
                    for f in files
                ],
            }
        )
    entries.sort(key=lambda e: e["name"])
    path = stage / "index.html"
    path.write_text(env.get_template("index.html.j2").render(entries=entries, **provenance), encoding="utf-8")
    (stage / "index.json").write_text(
        json.dumps({"publication_id": provenance["publication_id"], "briefings": entries}, indent=1, default=str)
        + "\n",
        encoding="utf-8",
    )
    return path


# --- reading numbers back -------------------------------------------------------------------------

_NUMBER = re.compile(
    r'<span class="num" data-field="([^"]*)" data-measure="([^"]*)" data-breakdown="([^"]*)" '
    r'data-period="([^"]*)">([^<]*)</span>'
)
_SCHOOL_NUMBER = re.compile(
    r'<span class="school-num" data-table="([^"]*)" data-key="([^"]*)" data-field="([^"]*)">'
    r"([^<]*)</span>"
)
_PUBLICATION = re.compile(r'<meta name="generator" content="edu-outcomes pipeline, publication ([^"]*)">')


def _names_publication(html: str, publication_id: Any) -> bool:
    """Whether a briefing's HTML says it was written from publication ``publication_id``."""
    tag = _PUBLICATION.search(html)
    return bool(tag) and tag.group(1) == str(publication_id)


_GAP_SOURCES = {
    "gap": "value",
    "national_gap": "national_value",
    "previous_gap": "previous_value",
    "sn_gap": "sn_average",
}


def expected_number(
    published: Published, old_la_code: str, measure: str, breakdown: str, period: int, field_name: str
) -> str | None:
    """How a number tagged with a mart field must read, from the publication's own rows."""
    rows = published.by_la.get(old_la_code, {})
    row = rows.get((measure, breakdown, period))
    if row is None:
        return None
    phase = (published.measures.get((measure, breakdown)) or published.measures.get((measure, "all")) or {}).get(
        "phase"
    )
    dp, unit = int(row["decimal_places"] or 0), row["unit"]
    if field_name in (
        "value",
        "previous_value",
        "national_value",
        "national_previous_value",
        "regional_value",
        "sn_average",
    ):
        return None if row[field_name] is None else format_number(row[field_name], dp, unit)
    if field_name == "change_vs_previous":
        return None if row[field_name] is None else format_number(row[field_name], dp, unit, signed=True)
    if field_name in ("time_period", "previous_time_period"):
        return None if row[field_name] is None else period_label(row[field_name], phase)
    if field_name == "academic_year":
        return academic_year_label(row["time_period"])
    if field_name == "previous_academic_year":
        return None if row["previous_time_period"] is None else academic_year_label(row["previous_time_period"])
    if field_name == "national_previous_time_period":
        previous = published.national_previous.get((measure, breakdown, period))
        return None if previous is None else period_label(previous, phase)
    if field_name == "rank":
        return None if row["rank"] is None else ordinal(row["rank"])
    if field_name == "ranked_count":
        return str(row["ranked_count"])
    if field_name == "quartile_band":
        return row["quartile_band"]
    if field_name in _GAP_SOURCES:
        rest = COMPARISON_PAIRS.get(breakdown, (None,))[0]
        other = rows.get((measure, rest, period)) if rest else None
        source = _GAP_SOURCES[field_name]
        if other is None or row[source] is None or other[source] is None:
            return None
        difference = other[source] - row[source] if row["polarity"] != "low" else row[source] - other[source]
        return format_number(abs(round(difference, dp)), dp)
    return None


def verify_briefings(published_db: Path, out_dir: Path, *, workers: int | None = None) -> tuple[int, int, list[str]]:
    """Read every number back from the briefings written from this publication and compare it
    with the mart: (briefings checked, numbers checked, mismatches). LA figures (``span.num``)
    are compared with ``fct_la_measure``, school figures (``span.school-num``) with the school
    mart they are tagged with. Many briefings are read in worker processes, as they are written
    (default_workers); the mismatches are listed in the same order either way."""
    index = json.loads((out_dir / "index.json").read_text(encoding="utf-8"))
    # the LAs with a briefing of this publication: the index lists earlier ones too, which the
    # workers would only skip (each worker still checks every file's publication)
    entries = _current_entries(out_dir, index.get("briefings", []), index.get("publication_id"))
    workers = min(default_workers(len(entries)) if workers is None else workers, len(entries))
    if workers <= 1:
        return _verify_entries(str(published_db), str(out_dir), entries)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # contiguous shares, joined in order: the mismatches come out as one process lists them
    size = -(-len(entries) // workers)
    chunks = [entries[i : i + size] for i in range(0, len(entries), size)]
    with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_verify_entries, [str(published_db)] * len(chunks), [str(out_dir)] * len(chunks), chunks))
    return (
        sum(files for files, _, _ in parts),
        sum(numbers for _, numbers, _ in parts),
        [problem for _, _, problems in parts for problem in problems],
    )


def _current_entries(out_dir: Path, entries: list[dict], publication_id: str | None) -> list[dict]:
    """The index's LAs with a briefing of ``publication_id``, read from each file's head (its
    generator tag), in the index's order."""
    tag = f'publication {publication_id}">'.encode()

    def current(period: dict) -> bool:
        with (out_dir / period["html"]).open("rb") as handle:
            return tag in handle.read(4096)

    return [entry for entry in entries if any(current(period) for period in entry.get("periods", []))]


def _expected_once(
    known: dict, published: Published, old_la_code: str, measure: str, breakdown: str, period: str, field_name: str
) -> str | None:
    """expected_number for one LA, remembered in ``known``."""
    key = (measure, breakdown, period, field_name)
    if key not in known:
        known[key] = expected_number(published, old_la_code, measure, breakdown, int(period), field_name)
    return known[key]


def _phases(published: Published) -> dict:
    return {code: m.get("phase") for (code, breakdown), m in published.measures.items() if breakdown == "all"}


def _verify_entries(published_db: str, out_dir: str, entries: list[dict]) -> tuple[int, int, list[str]]:
    """verify_briefings for these entries of the index (a worker's share)."""
    published = load_published(Path(published_db), la_codes=[entry["old_la_code"] for entry in entries])
    out = Path(out_dir)
    phases = _phases(published)
    current = published.publication.get("publication_id")
    files = numbers = 0
    problems: list[str] = []
    for entry in entries:
        for period in entry.get("periods", []):
            html = (out / period["html"]).read_text(encoding="utf-8")
            if not _names_publication(html, current):
                continue  # an earlier year's briefing, written from an earlier publication
            files += 1
            read, differ = _verify_briefing(
                published,
                phases,
                entry["old_la_code"],
                out,
                period["html"],
                html,
                period["docx"] if period.get("has_docx") else None,
            )
            numbers += read
            problems += differ
    return files, numbers, problems


def _verify_briefing(
    published: Published, phases: dict, old_la_code: str, out: Path, html_name: str, html: str, docx_name: str | None
) -> tuple[int, list[str]]:
    """Every number of one briefing read back (its HTML, given as text, and its Word paper
    ``out / docx_name`` if any) and compared with the publication: (numbers read, mismatches)."""
    # the HTML and the Word paper show the same numbers: each is worked out once
    expected_of = functools.partial(_expected_once, {}, published, old_la_code)
    numbers = 0
    problems: list[str] = []
    for field_name, measure, breakdown, tp, text in _NUMBER.findall(html):
        numbers += 1
        expected = expected_of(measure, breakdown, tp, field_name)
        if html_unescape(text) != expected:
            problems.append(
                f"{html_name}: {measure}/{breakdown}/{tp} {field_name} shows "
                f"{html_unescape(text)!r}, the mart says {expected!r}"
            )
    if docx_name:  # the Word paper: the same numbers, read from its tags
        for tag, text in word.tagged_numbers(out / docx_name):
            numbers += 1
            if tag[0] == "num":
                field_name, measure, breakdown, tp = tag[1:]
                expected = expected_of(measure, breakdown, tp, field_name)
            else:
                table, key, field_name = tag[1:]
                expected = schools_module.expected_school_number(
                    published.schools, table, key, field_name, phases, old_la_code
                )
            if text != expected:
                problems.append(f"{docx_name}: {':'.join(tag[1:])} shows {text!r}, the mart says {expected!r}")
    for table, key, field_name, text in _SCHOOL_NUMBER.findall(html):
        numbers += 1
        table, key = html_unescape(table), html_unescape(key)
        expected = schools_module.expected_school_number(published.schools, table, key, field_name, phases, old_la_code)
        if html_unescape(text) != expected:
            problems.append(
                f"{html_name}: {table} {key} {field_name} shows {html_unescape(text)!r}, the mart says {expected!r}"
            )
    return numbers, problems


# --- command line -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.cli briefing --la "St. Helens"``: regenerate briefings from the
    published database without running the pipeline."""
    from orchestration.lib.publish.warehouse import published_copy
    from orchestration.lib.settings import load_settings

    parser = argparse.ArgumentParser(prog="briefing", description=main.__doc__)
    parser.add_argument(
        "--la",
        action="append",
        default=[],
        help=f"LA name or code (repeatable; default: ${BRIEFING_LAS_ENV}, else all)",
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    spec = ",".join(args.la) if args.la else settings.briefing_las
    try:
        # a private copy: a BI tool may hold the served file open
        with published_copy(settings.published_db, settings.build_dir) as publication:
            run = write_briefings(publication, settings.warehouse_dir / "briefings", spec)
    except (ValueError, FileNotFoundError) as exc:
        print(f"briefing: {exc}", file=sys.stderr)
        return 1
    except BriefingNumbersDiffer as exc:
        print(f"briefing: {exc}; the briefings in place were left as they were:", file=sys.stderr)
        for problem in exc.problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for name, path in sorted(run.examples.items()):
        print(f"{name}: {path}")
    print(
        f"{run.las} briefing(s), {run.charts} charts in {run.seconds:.1f} s; {run.numbers:,} numbers read back "
        f"match the marts; index: {run.index}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
