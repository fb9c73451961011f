"""Briefings rendered from a small published database: every number read back from the HTML
equals the mart, the KS2 committee quote appears for St Helens, sections follow the phases, a
failed run leaves the previous briefings, and the page renders with its charts in headless
Chromium (screenshot)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.outputs.briefing import render
from tests.conftest import REPO_ROOT

KS2_NOTE = (
    "KS2 assessments were cancelled in 2019/20 and 2020/21 (COVID-19) and no results were published, "
    "so 2021/22 is compared with 2018/19."
)
KS2_GAP_NOTE = (
    "KS2 tests and teacher assessments were cancelled in 2019/20 and 2020/21 because of COVID-19, so no "
    "results were published for those years."
)

LAS = [  # old code, new code, name, region code, region name
    ("342", "E08000013", "St. Helens", "E12000002", "North West"),
    ("340", "E08000011", "Knowsley", "E12000002", "North West"),
    ("359", "E08000010", "Wigan", "E12000002", "North West"),
    ("801", "E06000023", "Bristol, City of", "E12000009", "South West"),
    ("201", "E09000001", "City of London", "E12000007", "London"),
]
MEASURES = {  # code, breakdown -> name, phase, unit, polarity, dp
    ("ks2_rwm_expected", "all"): (
        "Key stage 2: pupils meeting the expected standard in reading, writing and maths",
        "ks2",
        "%",
        "high",
        0,
    ),
    ("ks2_rwm_expected", "disadvantaged"): (
        "Key stage 2: pupils meeting the expected standard in reading, writing and maths",
        "ks2",
        "%",
        "high",
        0,
    ),
    ("ks2_rwm_expected", "not_disadvantaged"): (
        "Key stage 2: pupils meeting the expected standard in reading, writing and maths",
        "ks2",
        "%",
        "high",
        0,
    ),
    ("ks2_reading_expected", "all"): (
        "Key stage 2: pupils meeting the expected standard in reading",
        "ks2",
        "%",
        "high",
        0,
    ),
    ("ks4_attainment8", "all"): ("Key stage 4: average Attainment 8 score", "ks4", "score", "high", 1),
    ("ks4_attainment8", "sen_support"): ("Key stage 4: average Attainment 8 score", "ks4", "score", "high", 1),
    ("ks4_attainment8", "no_sen"): ("Key stage 4: average Attainment 8 score", "ks4", "score", "high", 1),
    ("ks4_attainment8", "cla_12_months"): ("Key stage 4: average Attainment 8 score", "ks4", "score", "high", 1),
    ("absence_overall", "all"): (
        "Absence: overall absence rate (% of possible sessions missed)",
        "attendance",
        "%",
        "low",
        1,
    ),
}
# (measure, breakdown) -> period -> (release, England, {LA: value or status})
NOT_PUBLISHED = "not_available"
DATA = {
    ("ks2_rwm_expected", "all"): {
        201718: ("final", 64.0, {"342": 64, "340": 55, "359": 63, "801": 60, "201": 80}),
        201819: ("final", 65.0, {"342": 66, "340": 57, "359": 65, "801": 62, "201": 82}),
        201920: ("final", None, {la: NOT_PUBLISHED for la, *_ in LAS}),
        202021: ("final", None, {la: NOT_PUBLISHED for la, *_ in LAS}),
        202122: ("provisional", 59.0, {"342": 56, "340": 50, "359": 58, "801": 56, "201": 79}),
    },
    ("ks2_rwm_expected", "disadvantaged"): {
        201819: ("final", 51.0, {"342": 52, "340": 45, "359": 50, "801": 44, "201": "suppressed"}),
        202122: ("provisional", 43.0, {"342": 41, "340": 39, "359": 44, "801": 38, "201": "suppressed"}),
    },
    ("ks2_rwm_expected", "not_disadvantaged"): {
        201819: ("final", 71.0, {"342": 72, "340": 66, "359": 70, "801": 68, "201": 84}),
        202122: ("provisional", 65.0, {"342": 63, "340": 58, "359": 64, "801": 63, "201": 81}),
    },
    ("ks2_reading_expected", "all"): {
        201819: ("final", 73.0, {"342": 74, "340": 70, "359": 75, "801": 72, "201": 88}),
        202122: ("provisional", 74.0, {"342": 74, "340": 71, "359": 77, "801": 73, "201": "suppressed"}),
    },
    ("ks4_attainment8", "all"): {
        201819: ("final", 46.7, {"342": 45.1, "340": 40.2, "359": 46.0, "801": 47.3, "201": 55.0}),
        202021: ("final", 50.9, {"342": 49.8, "340": 44.1, "359": 50.3, "801": 51.2, "201": 58.4}),
        202122: ("final", 48.9, {"342": 47.0, "340": 41.9, "359": 48.8, "801": 49.1, "201": 57.6}),
    },
    # the vulnerable groups section: SEN support against no identified SEN, looked-after children against all
    ("ks4_attainment8", "sen_support"): {
        201819: ("final", 32.6, {"342": 31.2, "340": 28.0, "359": 33.0, "801": 32.1, "201": "suppressed"}),
        202122: ("final", 34.9, {"342": 33.0, "340": 29.5, "359": 35.1, "801": 34.0, "201": "suppressed"}),
    },
    ("ks4_attainment8", "no_sen"): {
        201819: ("final", 50.3, {"342": 49.0, "340": 44.0, "359": 50.1, "801": 51.0, "201": 57.0}),
        202122: ("final", 52.6, {"342": 50.9, "340": 45.8, "359": 52.8, "801": 53.0, "201": 58.0}),
    },
    ("ks4_attainment8", "cla_12_months"): {
        202122: ("final", 20.3, {"342": 18.7, "340": "suppressed", "359": 21.2, "801": 19.9, "201": NOT_PUBLISHED}),
        # a later year of the group alone, as DfE's children-in-need files have: the section stays on 2021/22
        202223: ("final", 21.0, {"342": 19.5, "340": 17.0, "359": 22.0, "801": 20.1, "201": NOT_PUBLISHED}),
    },
    ("absence_overall", "all"): {
        202021: ("final", 4.6, {"342": 4.9, "340": 5.6, "359": 4.4, "801": 4.8, "201": 3.1}),
        202122: ("final", 7.6, {"342": 7.4, "340": 8.6, "359": 7.4, "801": 7.9, "201": 5.2}),
    },
}
NOTES = {
    ("ks2_rwm_expected", 201920): KS2_GAP_NOTE,
    ("ks2_rwm_expected", 202122): KS2_NOTE,
    ("ks2_reading_expected", 202122): KS2_NOTE,
    (
        "ks4_attainment8",
        202021,
    ): "2020/21 results were based on teacher assessed grades after exams were cancelled (COVID-19); they are not "
    "comparable with any other year.",
    ("ks4_attainment8", 202122): "2019/20 and 2020/21 used centre and teacher assessed grades and are not "
    "comparable, so 2021/22 is compared with 2018/19, the last exam year.",
}
# period -> the previous comparable period (the comparability breaks of the sample)
PREVIOUS = {("ks2", 201819): 201718, ("ks2", 202122): 201819, ("ks4", 202122): 201819, ("attendance", 202122): 202021}


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _band(value: float, values: list[float], polarity: str) -> str:
    q1, q2, q3 = (_quantile(values, q) for q in (0.25, 0.5, 0.75))
    if polarity == "low":
        return "A" if value <= q1 else "B" if value <= q2 else "C" if value <= q3 else "D"
    return "A" if value > q3 else "B" if value > q2 else "C" if value > q1 else "D"


def fct_rows() -> list[dict]:
    """fct_la_measure rows computed from DATA the way the mart defines them (section 5)."""
    rows = []
    names = {code: (new, name, rc, rn) for code, new, name, rc, rn in LAS}
    for (code, breakdown), periods in DATA.items():
        measure_name, phase, unit, polarity, dp = MEASURES[(code, breakdown)]
        for period, (release, england, values) in periods.items():
            published = {la: float(v) for la, v in values.items() if not isinstance(v, str)}
            ordered = sorted(published.values(), reverse=polarity == "high")
            previous_period = PREVIOUS.get((phase, period))
            previous_data = periods.get(previous_period) if previous_period else None
            for la, value in values.items():
                new, name, region_code, region_name = names[la]
                status = value if isinstance(value, str) else "published"
                value = None if isinstance(value, str) else float(value)
                region = [v for other, v in published.items() if names[other][2] == region_code]
                neighbours = [v for other, v in published.items() if other != la]
                previous = previous_data[2].get(la) if previous_data else None
                previous = None if isinstance(previous, str) else previous
                has_previous = previous is not None and value is not None
                rows.append(
                    {
                        "measure_code": code,
                        "breakdown": breakdown,
                        "time_period": period,
                        "academic_year": f"{period // 100}/{period % 100:02d}",
                        "la_code": new,
                        "old_la_code": la,
                        "la_name": name,
                        "region_code": region_code,
                        "region_name": region_name,
                        "value": value,
                        "value_status": status,
                        "release": release,
                        "national_value": england,
                        "regional_value": round(sum(region) / len(region), dp) if region else None,
                        "sn_average": sum(neighbours) / len(neighbours) if neighbours else None,
                        "sn_count": len(neighbours),
                        "diff_vs_national": round(value - england, dp)
                        if value is not None and england is not None
                        else None,
                        "diff_vs_regional": None,
                        "diff_vs_sn": None,
                        "previous_time_period": previous_period if has_previous else None,
                        "previous_value": float(previous) if has_previous else None,
                        "change_vs_previous": round(value - previous, dp) if has_previous else None,
                        "national_previous_value": previous_data[1] if previous_data else None,
                        "national_change_vs_previous": round(england - previous_data[1], dp)
                        if previous_data and england is not None
                        else None,
                        "rank": ordered.index(value) + 1 if value is not None else None,
                        "ranked_count": len(published),
                        "quartile_band": _band(value, list(published.values()), polarity)
                        if value is not None
                        else None,
                        "polarity": polarity,
                        "unit": unit,
                        "decimal_places": dp,
                        "comparability_note": NOTES.get((code, period)),
                        "data_source_file": f"raw/sample/{phase}/{code}.csv",
                        "file_sha256": "ab" * 32,
                    }
                )
    return rows


def build_published_db(path: Path) -> Path:
    """A small published database: marts.fct_la_measure, dim_measure, dim_local_authority,
    fct_area_measure (England) and audit.publications."""
    import pandas as pd

    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE SCHEMA audit")
        facts = pd.DataFrame(fct_rows())
        con.register("facts", facts)
        con.execute("""CREATE TABLE marts.fct_la_measure AS SELECT measure_code, breakdown, time_period::INTEGER AS time_period,
            academic_year, la_code, old_la_code, la_name, region_code, region_name, value::DOUBLE AS value, value_status,
            release, national_value::DOUBLE AS national_value, regional_value::DOUBLE AS regional_value,
            sn_average::DOUBLE AS sn_average, sn_count::INTEGER AS sn_count, diff_vs_national::DOUBLE AS diff_vs_national,
            diff_vs_regional::DOUBLE AS diff_vs_regional, diff_vs_sn::DOUBLE AS diff_vs_sn,
            previous_time_period::INTEGER AS previous_time_period, previous_value::DOUBLE AS previous_value,
            change_vs_previous::DOUBLE AS change_vs_previous, national_previous_value::DOUBLE AS national_previous_value,
            national_change_vs_previous::DOUBLE AS national_change_vs_previous, rank::INTEGER AS rank,
            ranked_count::INTEGER AS ranked_count, quartile_band, polarity, unit, decimal_places::INTEGER AS decimal_places,
            comparability_note::VARCHAR AS comparability_note, data_source_file, file_sha256 FROM facts""")
        con.execute("""CREATE TABLE marts.fct_area_measure AS SELECT DISTINCT measure_code, breakdown, time_period,
            'national' AS area_level, 'E92000001' AS area_code, 'England' AS area_name, national_value AS value,
            CASE WHEN national_previous_value IS NULL THEN NULL ELSE
              (SELECT max(previous_time_period) FROM marts.fct_la_measure AS f2 WHERE f2.measure_code = f.measure_code
               AND f2.breakdown = f.breakdown AND f2.time_period = f.time_period) END AS previous_time_period
            FROM marts.fct_la_measure AS f""")
        measures = pd.DataFrame(
            [
                {
                    "measure_code": code,
                    "breakdown": breakdown,
                    "measure_name": name,
                    "phase": phase,
                    "unit": unit,
                    "polarity": polarity,
                    "decimal_places": dp,
                    "comparability_notes": None,
                }
                for (code, breakdown), (name, phase, unit, polarity, dp) in MEASURES.items()
            ]
        )
        con.register("measures", measures)
        con.execute("CREATE TABLE marts.dim_measure AS SELECT * FROM measures")
        con.execute(
            "CREATE TABLE marts.dim_local_authority (la_code VARCHAR, old_la_code VARCHAR, la_name VARCHAR, "
            "region_code VARCHAR, region_name VARCHAR)"
        )
        con.executemany(
            "INSERT INTO marts.dim_local_authority VALUES (?, ?, ?, ?, ?)",
            [[new, old, name, rc, rn] for old, new, name, rc, rn in LAS],
        )
        con.execute("""CREATE TABLE audit.publications (publication_id VARCHAR, published_at TIMESTAMP WITH TIME ZONE,
            code_version VARCHAR, sources_file VARCHAR, raw_files VARCHAR, check_results VARCHAR,
            table_checksums VARCHAR, previous_publication_id VARCHAR)""")
        checks = [
            {
                "asset": "marts/fct_la_measure",
                "check": "gx_mart_fct_la_measure",
                "passed": True,
                "description": "mart_fct_la_measure: all 12 expectations passed",
            },
            {
                "asset": "marts/fct_la_measure",
                "check": "not_null_fct_la_measure_measure_code",
                "passed": True,
                "description": None,
            },
        ]
        con.execute(
            "INSERT INTO audit.publications VALUES ('fixture-publication', TIMESTAMPTZ '2026-09-01 06:00:00+00', "
            "'abc123', 'sources.yml', ?, ?, ?, NULL)",
            [
                json.dumps([{"dataset": "ks2", "source_file": "raw/sample/ks2/ks2.csv", "sha256": "ab" * 32}]),
                json.dumps(checks),
                json.dumps({"marts.fct_la_measure": {"rows": len(facts), "checksum": "f" * 32}}),
            ],
        )
    return path


@pytest.fixture
def published_db(tmp_path) -> Path:
    return build_published_db(tmp_path / "education.duckdb")


# --- reading the HTML back -------------------------------------------------------------------------


class _Numbers(HTMLParser):
    """Every tagged number (span.num with its mart field) and the text of each finding paragraph
    with tagged numbers and quoted notes left out."""

    def __init__(self):
        super().__init__()
        self.numbers: list[dict] = []
        self.findings: list[str] = []
        self.paragraphs: list[str] = []  # finding paragraphs as read, numbers included
        self.headings: list[str] = []
        self.images: list[str] = []
        self.charts: list[str] = []  # the class of each chart panel (an inline svg)
        self._stack: list[tuple[str, dict]] = []
        self._finding: list[str] | None = None
        self._paragraph: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._stack.append((tag, attrs))
        if tag == "span" and attrs.get("class") == "num":
            self.numbers.append({**{k[5:]: v for k, v in attrs.items() if k.startswith("data-")}, "text": ""})
        if tag == "p" and "finding" in (attrs.get("class") or ""):
            self._finding, self._paragraph = [], []
        if tag == "h2":
            self._heading = []
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "svg":
            self.charts.append(attrs.get("class", ""))

    def handle_endtag(self, tag):
        if not self._stack:
            return
        open_tag, _ = self._stack.pop()
        if tag == "p" and self._finding is not None:
            self.findings.append("".join(self._finding))
            self.paragraphs.append("".join(self._paragraph))
            self._finding = self._paragraph = None
        if tag == "h2" and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        inside = [attrs.get("class") for tag, attrs in self._stack if tag == "span"]
        if self._paragraph is not None:
            self._paragraph.append(data)
        if "num" in inside:
            self.numbers[-1]["text"] += data
        elif self._finding is not None and "note" not in inside:
            self._finding.append(data)
        if self._heading is not None:
            self._heading.append(data)


def read_html(path: Path) -> _Numbers:
    parser = _Numbers()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _label(period: int, phase: str) -> str:
    if period < 100000:
        return str(period)
    school_year = phase in ("attendance", "behaviour", "destinations", "inspection")
    return f"{period // 100}/{period % 100:02d}" if school_year else str(period // 100 + 1)


def _fmt(value: float, dp: int, unit: str | None, signed: bool = False) -> str:
    # half away from zero, as written: sn_average is the unrounded mean (52.5 shows as 53)
    value = float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP))
    text = f"{value:+.{dp}f}" if signed else f"{value:.{dp}f}"
    if float(text) == 0:
        text = f"{0:.{dp}f}"
    return text + ("%" if unit == "%" and not signed else "")


def expected_text(con: duckdb.DuckDBPyConnection, la: str, number: dict) -> str:
    """What the mart says the tagged number must read, formatted independently of the renderer."""
    cursor = con.execute(
        "SELECT f.*, m.phase FROM marts.fct_la_measure AS f JOIN marts.dim_measure AS m USING (measure_code, breakdown) "
        "WHERE f.old_la_code = ? AND f.measure_code = ? AND f.breakdown = ? AND f.time_period = ?",
        [la, number["measure"], number["breakdown"], int(number["period"])],
    )
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchall()[0]))
    field, dp, unit, phase = number["field"], row["decimal_places"], row["unit"], row["phase"]
    if field in (
        "value",
        "previous_value",
        "national_value",
        "national_previous_value",
        "regional_value",
        "sn_average",
    ):
        return _fmt(row[field], dp, unit)
    if field == "change_vs_previous":
        return _fmt(row[field], dp, unit, signed=True)
    if field in ("time_period", "previous_time_period"):
        return _label(row[field], phase)
    if field == "academic_year":  # the mart's own label: tables mixing phases use it for every row
        return row["academic_year"]
    if field == "previous_academic_year":
        previous = row["previous_time_period"]
        return f"{previous // 100}/{previous % 100:02d}" if previous >= 100000 else str(previous)
    if field == "national_previous_time_period":
        previous = con.execute(
            "SELECT previous_time_period FROM marts.fct_area_measure WHERE area_level = 'national' "
            "AND measure_code = ? AND breakdown = ? AND time_period = ?",
            [row["measure_code"], row["breakdown"], row["time_period"]],
        ).fetchall()[0][0]
        return _label(previous, phase)
    if field == "rank":
        return _ordinal(row["rank"])
    if field == "ranked_count":
        return str(row["ranked_count"])
    if field == "quartile_band":
        return row["quartile_band"]
    if field in ("gap", "national_gap", "previous_gap", "sn_gap"):
        source = {"gap": "value", "national_gap": "national_value", "previous_gap": "previous_value"}.get(
            field, "sn_average"
        )
        rest = {
            "disadvantaged": "not_disadvantaged",
            "fsm_eligible": "not_fsm_eligible",
            "sen_support": "no_sen",
            "cla_12_months": "all",
        }[row["breakdown"]]
        other = con.execute(
            f"SELECT {source} FROM marts.fct_la_measure WHERE old_la_code = ? AND measure_code = ? "
            "AND breakdown = ? AND time_period = ?",
            [la, row["measure_code"], rest, row["time_period"]],
        ).fetchall()[0][0]
        return _fmt(abs(round(other - row[source], dp)), dp, None)
    raise AssertionError(f"untested field {field}")


# --- tests ------------------------------------------------------------------------------------------


def test_vulnerable_groups_are_set_against_the_pupils_they_are_compared_with(published_db, tmp_path):
    """SEN support against no identified SEN, and looked-after children against all pupils: the gap,
    England's gap, the gap between the neighbours' averages and its trend (St Helens, KS4 2021/22)."""
    render.write_briefings(published_db, tmp_path / "briefings", "St. Helens", charts=False)
    text = (tmp_path / "briefings/st-helens/2021-22.md").read_text(encoding="utf-8")
    assert "## Key stage 4: 2022" in text  # the latest year with an all-pupils figure, not the group's 2023
    section = text[text.index("## Vulnerable groups") :]
    assert "### Key stage 4, average Attainment 8 score: SEN support (2022)" in section
    assert (
        "Among pupils receiving SEN support, the average was 33.0, compared with 50.9 for pupils "
        "with no identified SEN: a gap of 17.9 points. Nationally, the gap was 17.7 points. Across its statistical "
        "neighbours, the gap between the two groups' averages was 19.5 points. The gap has widened from 17.8 points "
        "in 2019."
    ) in section
    assert "### Key stage 4, average Attainment 8 score: looked after for 12 months or more (2022)" in section
    # 18.7 against 47.0; England 20.3 against 48.9; neighbours 20.55 (Wigan, Bristol) against 49.35
    assert "a gap of 28.3 points. Nationally, the gap was 28.6 points." in section
    assert "the gap between the two groups' averages was 28.8 points." in section
    # the group rows are not repeated as gap sentences in the phase section
    assert "SEN support" not in text[: text.index("## Vulnerable groups")].split("## Key stage 4")[1].split("|")[0]


def test_st_helens_ks2_briefing_carries_the_committee_quote(published_db, tmp_path):
    run = render.write_briefings(published_db, tmp_path / "briefings", "St. Helens", charts=False)
    html, md = tmp_path / "briefings/st-helens/2021-22.html", tmp_path / "briefings/st-helens/2021-22.md"
    assert run.las == 1 and html.exists() and md.exists()
    text = md.read_text(encoding="utf-8")
    assert "## Key stage 2: 2022 (provisional)" in text
    la_sentence = (
        "In St Helens, 56% of pupils met the expected standard in reading, writing and maths (provisional), "
        "down from 66% in 2019."
    )
    assert la_sentence in text
    assert la_sentence.replace(" (provisional)", "") == (
        "In St Helens, 56% of pupils met the expected standard in reading, writing and maths, down from 66% in 2019."
    )
    assert "Nationally, 59% met the expected standard, down from 65% in 2019." in text
    assert "These are the first statistics since 2019, because KS2 assessments were cancelled" in text
    # The same sentence in the HTML, each number tagged with the mart field it came from.
    page = read_html(html)
    paragraph = next(p for p in page.paragraphs if p.startswith("In St Helens, 56%"))
    assert paragraph.startswith(la_sentence + " Nationally, 59% met the expected standard, down from 65% in 2019.")
    tagged = {(n["measure"], n["breakdown"], n["period"], n["field"]): n["text"] for n in page.numbers}
    key = ("ks2_rwm_expected", "all", "202122")
    assert [
        tagged[(*key, f)]
        for f in ("value", "previous_value", "previous_time_period", "national_value", "national_previous_value")
    ] == ["56%", "66%", "2019", "59%", "65%"]


def test_every_number_in_the_html_equals_the_mart(published_db, tmp_path):
    render.write_briefings(published_db, tmp_path / "briefings", "", charts=False)
    checked = 0
    with duckdb.connect(str(published_db), read_only=True) as con:
        for old, _, name, *_ in LAS:
            slug = re.sub(r"[^a-z0-9]+", "-", render.display_name(name).lower()).strip("-")
            page = read_html(tmp_path / "briefings" / slug / "2021-22.html")
            assert len(page.numbers) > 40
            for number in page.numbers:
                assert number["text"] == expected_text(con, old, number), (name, number)
                checked += 1
            # Every headline value of the sections is there.
            fields = {(n["measure"], n["breakdown"], n["field"]) for n in page.numbers}
            for measure in ("ks2_rwm_expected", "ks2_reading_expected", "ks4_attainment8", "absence_overall"):
                assert (measure, "all", "value") in fields or old == "201", (name, measure)
            # No number in a finding that does not come from a tagged mart field (notes aside).
            for finding in page.findings:
                stray = re.sub(r"Attainment 8|\(% of possible sessions missed\)", "", finding)
                assert not re.search(r"\d", stray), (name, finding)
    assert checked > 250


def test_sections_follow_the_phases_and_skip_absent_ones(published_db, tmp_path):
    render.write_briefings(published_db, tmp_path / "briefings", "Knowsley", charts=False)
    page = read_html(tmp_path / "briefings/knowsley/2021-22.html")
    assert page.headings[:4] == [
        "At a glance",
        "Key stage 2: 2022 (provisional)",
        "Key stage 4: 2022",
        "Attendance: 2021/22",
    ]
    text = (tmp_path / "briefings/knowsley/2021-22.md").read_text(encoding="utf-8")
    assert "Early years" not in text and "Phonics" not in text
    # Lower is better: Knowsley's absence rose, a deterioration; a TAG year is not compared with.
    assert "the overall absence rate was 8.6%, up from 5.6% in 2020/21, a deterioration." in text
    assert "the average Attainment 8 score was 41.9, up from 40.2 in 2019." in text
    assert "The last comparable year is 2019, because 2019/20 and 2020/21 used centre and teacher assessed" in text


def test_selection_by_code_and_name_keeps_other_briefings(published_db, tmp_path):
    out = tmp_path / "briefings"
    render.write_briefings(published_db, out, "", charts=False)
    before = (out / "wigan/2021-22.html").stat().st_ino
    run = render.write_briefings(published_db, out, "801, E08000013", charts=False)
    assert sorted(run.examples) == ["Bristol", "St Helens"]
    assert (out / "wigan/2021-22.html").stat().st_ino == before  # untouched, carried over
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(
        f'href="{slug}/2021-22.html"' in index
        for slug in ("st-helens", "knowsley", "wigan", "bristol", "city-of-london")
    )
    with pytest.raises(ValueError, match="no local authority matches 'St Helen'; did you mean"):
        render.write_briefings(published_db, out, "St Helen", charts=False)


def test_a_name_two_las_share_picks_the_current_one_and_a_code_picks_either():
    """Dorset was 835 until 2019 and is 838 since: "Dorset" means today's, as its briefing folder
    and the index do; the old county is picked by its code."""
    county = {"old_la_code": "835", "la_code": "E10000009", "la_name": "Dorset", "latest_time_period": 201819}
    unitary = {"old_la_code": "838", "la_code": "E06000059", "la_name": "Dorset", "latest_time_period": 202425}
    wigan = {"old_la_code": "359", "la_code": "E08000010", "la_name": "Wigan", "latest_time_period": 202425}
    for las in ([county, unitary, wigan], [unitary, county, wigan]):
        assert render.select_las(las, "Dorset") == [unitary]
        assert render.select_las(las, "835, dorset") == [county, unitary]
        assert render.select_las(las, "E10000009") == [county]
        assert render.select_las(las, "Wigan,838") == [wigan, unitary]


def test_a_failed_run_leaves_the_previous_briefings(published_db, tmp_path, monkeypatch):
    out = tmp_path / "briefings"
    render.write_briefings(published_db, out, "", charts=False)
    snapshot = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    original = render.build_briefing
    calls = []

    def failing(ctx, la):
        calls.append(la["old_la_code"])
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(ctx, la)

    monkeypatch.setattr(render, "build_briefing", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        render.write_briefings(published_db, out, "", charts=False, workers=1)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.browser  # Chromium: full tier, as every browser test
def test_rendered_briefing_opens_in_headless_chromium_with_its_charts(published_db, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    from PIL import Image

    run = render.write_briefings(published_db, tmp_path / "briefings", "St. Helens")
    html = tmp_path / "briefings/st-helens/2021-22.html"
    page = read_html(html)
    # three sections with a chart, each drawn as two inline SVG panels; no raster image
    assert run.charts == 3 and page.charts == ["chart-trend", "chart-strip"] * 3 and page.images == []
    screenshot = tmp_path / "st-helens-2021-22.png"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,3000",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert screenshot.exists(), result.stderr[-2000:]
    assert screenshot.stat().st_size > 50_000
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1200, 3000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours and len(colours) > 500  # text, tables, bands and charts, not a blank page
    present = {rgb for _, rgb in colours}
    # The charts' LA line and LAIT's band colours (A green, D red) are on the page.
    assert (0x12, 0x43, 0x6D) in present
    assert {(0x00, 0x70, 0x3C), (0xD4, 0x35, 0x1C)} & present
    print(f"screenshot: {screenshot}")


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_briefing_fits_a_phone_and_a_desktop_without_sideways_scrolling(sample_publication, tmp_path, width):
    """Chromium at a phone's width (390 px) and a desktop's (1280 px): the page is never wider than
    the window (the measure tables become one card per measure on a phone), and the band ranges
    show. Screenshots are kept in the test's folder."""
    from tests.dagster_ui import CHROMIUM, launch_browser

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    # The session's publication of the sample: every section, the schools, the band thresholds.
    render.write_briefings(sample_publication / "warehouse/education.duckdb", tmp_path / "briefings", "St. Helens")
    html = max((tmp_path / "briefings/st-helens").glob("*.html"))
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            page = browser.new_page(viewport={"width": width, "height": 844})
            page.goto(html.as_uri())
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            # every element's right edge, but inside a scrolling box (school tables) only the box's
            widest = page.evaluate(
                "Math.max(...[...document.querySelectorAll('body *')]"
                ".filter(e => !e.parentElement.closest('.table-scroll'))"
                ".map(e => e.getBoundingClientRect().right))"
            )
            stacked = page.evaluate("getComputedStyle(document.querySelector('table.measures thead')).display")
            ranges = page.locator("td.band .range").all_inner_texts()
            # the charts' text as drawn on screen, in px (an SVG scales its text with its width)
            chart_text = page.evaluate(
                "[...document.querySelectorAll('figure svg text')].map(t => t.getBoundingClientRect().height)"
            )
            page.screenshot(path=str(tmp_path / f"briefing-{width}px.png"), full_page=True)
        finally:
            browser.close()
    assert overflow <= 0 and widest <= width + 0.5, (overflow, widest)
    assert (stacked == "none") == (width < 640)
    assert ranges and all(" to " in r for r in ranges)
    # readable at both widths: no chart text under 10 px on the phone, none blown up on the desktop
    assert chart_text and min(chart_text) >= 10 and max(chart_text) <= 18, (min(chart_text), max(chart_text))
    print(f"screenshot: {tmp_path / f'briefing-{width}px.png'}")


def test_outputs_assets_materialize_from_the_published_database(published_db, tmp_path, monkeypatch):
    import dagster as dg

    from orchestration.defs.ingest.resources import WarehouseResource
    from orchestration.defs.outputs.assets import BRIEFINGS_KEY, EXPORTS_KEY, GX_DOCS_KEY, outputs

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(published_db, warehouse / "education.duckdb")
    monkeypatch.setenv("EDU_BRIEFING_LAS", "Wigan")
    result = dg.materialize(
        [outputs],
        selection=[BRIEFINGS_KEY, EXPORTS_KEY, GX_DOCS_KEY],
        resources={"warehouse": WarehouseResource(warehouse_dir=str(warehouse))},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {"briefing_numbers_match_marts", "exports_match_publication"}
    assert all(e.passed for e in evaluations.values()), [e.description for e in evaluations.values()]
    metadata = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("outputs")}
    assert metadata["outputs/briefings"]["briefings"].value == 1
    assert (warehouse / "briefings/wigan/2021-22.html").exists() and (warehouse / "briefings/index.html").exists()
    assert (warehouse / "exports/marts.fct_la_measure.parquet").exists()
    assert (warehouse / "exports/data_dictionary.json").exists()
    assert "fixture-publication" in (warehouse / "docs/gx/index.html").read_text(encoding="utf-8")


def test_numbers_that_differ_from_the_mart_are_caught(published_db, tmp_path):
    out = tmp_path / "briefings"
    render.write_briefings(published_db, out, "St. Helens, Wigan", charts=False)
    files, numbers, problems = render.verify_briefings(published_db, out)
    assert files == 2 and numbers > 100 and problems == []
    page = out / "wigan/2021-22.html"
    html = page.read_text(encoding="utf-8")
    tampered = re.sub(
        r'(data-field="value" data-measure="ks2_rwm_expected" data-breakdown="all" '
        r'data-period="202122">)58%',
        r"\g<1>85%",
        html,
        count=1,
    )
    assert tampered != html
    page.write_text(tampered, encoding="utf-8")
    _, _, problems = render.verify_briefings(published_db, out)
    assert problems == ["wigan/2021-22.html: ks2_rwm_expected/all/202122 value shows '85%', the mart says '58%'"]
    # read by two worker processes (as for many briefings), the same numbers and mismatches, in
    # the order one process lists them
    st_helens = out / "st-helens/2021-22.html"
    html = st_helens.read_text(encoding="utf-8")
    tampered = re.sub(
        r'(data-field="value" data-measure="[^"]+" data-breakdown="all" data-period="202122">)[^<]+',
        r"\g<1>0.5%",
        html,
        count=1,
    )
    st_helens.write_text(tampered, encoding="utf-8")
    one = render.verify_briefings(published_db, out, workers=1)
    assert len(one[2]) == 2 and [p.split(":")[0] for p in one[2]] == sorted(p.split(":")[0] for p in one[2])
    assert render.verify_briefings(published_db, out, workers=2) == one


def test_workers_write_the_briefings_one_process_writes(published_db, tmp_path):
    """Worker processes take the LAs in small batches, each keeping its publication and chart
    backgrounds from one batch to the next: they write, byte for byte, what one process writes."""
    assert render._batches([str(n) for n in range(153)], 2) == [
        [str(n) for n in range(start, min(start + 4, 153))] for start in range(0, 153, 4)
    ]
    assert render._batches(["342", "340", "359"], 2) == [["342"], ["340"], ["359"]]
    when = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)
    one = render.write_briefings(published_db, tmp_path / "one", "", generated_at=when, workers=1)
    two = render.write_briefings(published_db, tmp_path / "two", "", generated_at=when, workers=2)
    assert (two.las, two.charts, two.checked, two.numbers) == (one.las, one.charts, one.checked, one.numbers)
    assert one.las == len(LAS) and one.charts > 0

    def files(root: Path) -> dict:
        # a Word paper's text (its zip entries carry the time written; its chart PNGs map colours
        # to the palette of the first chart the process drew), every other file byte for byte
        return {
            p.relative_to(root): zipfile.ZipFile(p).read("word/document.xml") if p.suffix == ".docx" else p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert files(tmp_path / "two") == files(tmp_path / "one")


def test_briefings_that_read_back_wrong_are_not_put_in_place(published_db, tmp_path, monkeypatch):
    """Each briefing is read back from its files as it is written: when a number differs from the
    mart (a rendering fault, here every Wigan value formatted wrongly), the new briefings are not
    put in place, the previous ones stay as they were, and the step reports the failed check."""
    import dagster as dg

    from orchestration.defs.ingest.resources import WarehouseResource
    from orchestration.defs.outputs.assets import BRIEFINGS_KEY, outputs

    warehouse = tmp_path / "warehouse"
    out = warehouse / "briefings"
    warehouse.mkdir()
    shutil.copy(published_db, warehouse / "education.duckdb")
    first = render.write_briefings(published_db, out, "St. Helens, Wigan", charts=False, workers=1)
    assert first.checked == 2 and first.numbers == render.verify_briefings(published_db, out)[1] > 100

    def files_in_place():  # content and inode: a rewritten file is a new inode even when it reads the same
        return {p: (p.stat().st_ino, p.read_bytes()) for p in out.rglob("*") if p.is_file()}

    before = files_in_place()
    wigan = render.load_published(published_db, facts=False).las
    wigan_code = next(la["old_la_code"] for la in wigan if la["la_name"] == "Wigan")
    right = render.expected_number

    def misformatted(published, old_la_code, measure, breakdown, period, field_name):
        shown = right(published, old_la_code, measure, breakdown, period, field_name)
        return shown + "0" if old_la_code == wigan_code and field_name == "value" and shown else shown

    monkeypatch.setattr(render, "expected_number", misformatted)
    with pytest.raises(render.BriefingNumbersDiffer) as raised:
        render.write_briefings(published_db, out, "St. Helens, Wigan", charts=False, workers=1)
    assert raised.value.checked == 2 and raised.value.problems
    assert all(p.startswith("wigan/2021-22.") and ", the mart says '" in p for p in raised.value.problems)
    assert files_in_place() == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no staging left
    monkeypatch.setenv("EDU_BRIEFING_LAS", "Wigan")
    result = dg.materialize(
        [outputs],
        selection=[BRIEFINGS_KEY],
        resources={"warehouse": WarehouseResource(warehouse_dir=str(warehouse))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert not result.success and result.get_asset_materialization_events() == []
    assert not evaluation.passed and evaluation.metadata["mismatches"].value == len(raised.value.problems)
    assert files_in_place() == before


def test_the_check_sizes_its_pool_by_this_publications_briefings(published_db, tmp_path):
    """Briefings carried forward from an earlier publication are listed in the index but not
    checked, so they are neither counted towards the worker processes started to check the rest
    nor shared out among them."""
    out = tmp_path / "briefings"
    render.write_briefings(published_db, out, "St. Helens, Wigan", charts=False)
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    current = index["publication_id"]
    names = [e["name"] for e in render._current_entries(out, index["briefings"], current)]
    assert names == ["St Helens", "Wigan"]
    page = out / "wigan/2021-22.html"
    page.write_text(page.read_text(encoding="utf-8").replace(f"publication {current}", "publication earlier-one"))
    assert [e["name"] for e in render._current_entries(out, index["briefings"], current)] == ["St Helens"]
    assert render.verify_briefings(published_db, out)[0] == 1  # the earlier one is skipped, as before


@pytest.mark.slow  # reads the developer's own `make run` output, not the test session's: full tier
def test_real_publication_if_present(tmp_path):
    """On the output of `make run` (skipped when there is none): St Helens' numbers read back."""
    db = REPO_ROOT / "warehouse" / "education.duckdb"
    if not db.exists():
        pytest.skip("no warehouse/education.duckdb from `make run`")
    copy = tmp_path / "education.duckdb"
    shutil.copy(db, copy)  # never hold a handle on the served file while a run may swap it
    run = render.write_briefings(copy, tmp_path / "briefings", "342", charts=False)
    [(name, html)] = run.examples.items()
    page = read_html(html)
    with duckdb.connect(str(copy), read_only=True) as con:
        for number in page.numbers:
            assert number["text"] == expected_text(con, "342", number), number
    assert len(page.numbers) > 100


@pytest.mark.parametrize(
    "palette, coloured, uncoloured",
    [("lait", {"A": "#00703c", "D": "#d4351c"}, {"B", "C"}), ("diverging", {"A": "#2c7bb6", "C": "#fdae61"}, set())],
)
def test_band_colours_are_lait_by_default_and_the_old_palette_is_an_option(palette, coloured, uncoloured, monkeypatch):
    import re

    if palette == "lait":
        monkeypatch.delenv("EDU_BRIEFING_BAND_PALETTE", raising=False)
    else:
        monkeypatch.setenv("EDU_BRIEFING_BAND_PALETTE", palette)
    css = render.template_environment().get_template("_style.css.j2").render()
    rules = dict(re.findall(r"\.band-([ABCD]) \{ background: (#[0-9a-f]{6});", css))
    assert {band: rules[band] for band in coloured} == coloured
    assert not uncoloured & set(rules)  # LAIT leaves B and C uncoloured


def test_an_unknown_palette_is_refused(monkeypatch):
    from orchestration.lib.errors import PipelineInputError
    from orchestration.lib.settings import load_settings

    monkeypatch.setenv("EDU_BRIEFING_BAND_PALETTE", "rainbow")
    with pytest.raises(PipelineInputError, match="EDU_BRIEFING_BAND_PALETTE must be one of lait, diverging"):
        load_settings()


def test_the_markdown_briefing_shows_each_bands_range(sample_publication, tmp_path):
    import duckdb

    render.write_briefings(
        sample_publication / "warehouse/education.duckdb", tmp_path / "b", "St. Helens", charts=False
    )
    markdown = max((tmp_path / "b/st-helens").glob("*.md")).read_text(encoding="utf-8")
    shown = re.findall(r"\| ([ABCD]) \(([-0-9.]+) to ([-0-9.]+)\) \|", markdown)
    assert len(shown) >= 10
    with duckdb.connect(str(sample_publication / "warehouse/education.duckdb"), read_only=True) as con:
        ranges = {
            r
            for row in con.execute(
                "SELECT band_a_range, band_b_range, band_c_range, band_d_range FROM marts.fct_band_thresholds"
            ).fetchall()
            for r in row
        }
    assert all(f"{low} to {high}" in ranges for _, low, high in shown)


def test_the_glance_table_writes_every_year_one_way(sample_publication, tmp_path):
    """Exam years (2025) and whole-year measures (2024/25) never meet in one table: the glance
    table, which mixes phases, writes every school year as 2024/25 (a calendar-year measure's
    year stays as it is, 2025)."""
    render.write_briefings(
        sample_publication / "warehouse/education.duckdb", tmp_path / "b", "St. Helens", charts=False
    )
    html = max((tmp_path / "b/st-helens").glob("*.html")).read_text(encoding="utf-8")
    glance = html[html.index('<table class="glance') : html.index("</table>", html.index('<table class="glance'))]
    years = re.findall(r'data-field="(academic_year|previous_academic_year)"[^>]*data-period="(\d+)">([^<]+)<', glance)
    assert len(years) >= 10
    for _, period, text in years:
        assert re.fullmatch(r"\d{4}/\d{2}", text) if len(period) == 6 else re.fullmatch(r"\d{4}", text), (period, text)
    assert "2024/25" in {text for _, _, text in years}


def test_the_word_briefing_reads_back_equal_to_the_marts(sample_publication, tmp_path):
    """The committee paper in Word: title page, contents field, page numbers, the sections with
    their tables (band colours) and charts, the sources appendix with sha256; every number, read
    back from its tag (word.tagged_numbers), equals the mart (as the HTML's do); the rest is read with python-docx."""
    import docx
    from docx.oxml.ns import qn

    from orchestration.lib.outputs.briefing import word

    published = sample_publication / "warehouse/education.duckdb"
    out = tmp_path / "b"
    render.write_briefings(published, out, "St. Helens")
    paper = max((out / "st-helens").glob("*.docx"))
    files, numbers, problems = render.verify_briefings(published, out)
    tagged = word.tagged_numbers(paper)
    assert files == 1 and problems == [] and len(tagged) > 500 and numbers > 2 * 500
    assert {tag[0] for tag, _ in tagged} == {"num", "school"}
    document = docx.Document(str(paper))
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[1].text == "Education outcomes in St Helens" and "Publication " in text
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["Contents", "At a glance"] and "Schools" in headings and "Appendix: sources" in headings
    xml = document.element.xml
    assert 'TOC \\o "1-2"' in xml
    assert "updateFields" in document.settings.element.xml
    assert "PAGE" in document.sections[0].footer._element.xml
    assert len(document.inline_shapes) >= 5  # the section charts
    # The package: python-docx's template parts once each, then the paper's own; every part a
    # relationship names is in it, and each chart is a PNG as wide as the text less a margin.
    import zipfile

    with zipfile.ZipFile(paper) as package:
        names = package.namelist()
        assert len(names) == len(set(names)) and names[0] == "[Content_Types].xml"
        assert 'Extension="png"' in package.read("[Content_Types].xml").decode()
        targets = re.findall(r'Target="([^"]+)"', package.read("word/_rels/document.xml.rels").decode())
        assert {f"word/{t}" for t in targets if not t.startswith("..")} <= set(names)
        charts = [name for name in names if name.startswith("word/media/")]
        assert len(charts) == len(document.inline_shapes)
        assert all(package.read(name).startswith(b"\x89PNG") for name in charts)
    assert {shape.width for shape in document.inline_shapes} == {docx.shared.Cm(17)}
    sha = [p.text for p in document.paragraphs if ": sha256 " in p.text]
    assert sha and all(len(line.rsplit(" ", 1)[1]) == 64 for line in sha)
    fills = {shd.get(qn("w:fill")) for shd in document.element.body.iter(qn("w:shd"))}
    assert fills & {"00703c", "d4351c"}  # LAIT's band colours
    # a cell's whole text, its tagged numbers included (python-docx's .text leaves content controls out)
    cells = [
        "".join(t.text or "" for t in c._tc.iter(qn("w:t")))
        for t in document.tables
        for row in t.rows
        for c in row.cells
    ]
    assert any(re.fullmatch(r"[ABCD] \([-0-9.]+ to [-0-9.]+\)", c) for c in cells)  # with the band's range


def test_a_word_paper_saved_in_another_layout_reads_back_the_same_numbers(sample_publication, tmp_path, monkeypatch):
    """tagged_numbers reads a paper laid out as word.py writes it by pattern; a paper whose
    document part is laid out otherwise (another namespace prefix, CR LF line ends, a content
    control with more properties, as Word writes on saving) is parsed as XML and reads the same,
    and a number changed in it is still caught by the briefing check."""
    import zipfile

    from lxml import etree

    from orchestration.lib.outputs.briefing import word

    published = sample_publication / "warehouse/education.duckdb"
    out = tmp_path / "b"
    render.write_briefings(published, out, "St. Helens")
    paper = max((out / "st-helens").glob("*.docx"))
    parsed = []
    exact = word._parsed_tagged_numbers
    monkeypatch.setattr(word, "_parsed_tagged_numbers", lambda xml: parsed.append(1) or exact(xml))
    written = word.tagged_numbers(paper)
    assert parsed == [] and len(written) > 500  # read by pattern
    with zipfile.ZipFile(paper) as package:
        xml = package.read("word/document.xml").decode()
        assert written == exact(xml.encode())

    def saved_as(document: str) -> None:
        with zipfile.ZipFile(paper) as package:
            parts = {name: package.read(name) for name in package.namelist()}
        parts["word/document.xml"] = document.encode()
        with zipfile.ZipFile(paper, "w") as package:
            for name, data in parts.items():
                package.writestr(name, data)

    first_tag = re.search(r'<w:tag w:val="[^"]*"/>', xml).group(0)
    layouts = {
        "prefix": xml.replace("xmlns:w=", "xmlns:wp0=")
        .replace("<w:", "<wp0:")
        .replace("</w:", "</wp0:")
        .replace(" w:", " wp0:"),
        "line ends": xml.replace("><w:p>", ">\r\n<w:p>"),
        # the main namespace bound to a second prefix, which could hold controls the pattern misses
        "second binding": xml.replace("<w:body>", f'<w:body xmlns:x="{word._W_NAMESPACE.decode()}">', 1),
        "comment": xml.replace("<w:sdtContent>", "<w:sdtContent><!-- <w:t>0</w:t> -->", 1),
        "character reference": xml.replace(first_tag, first_tag.replace("&quot;", "&#34;"), 1),
        "properties": xml.replace(first_tag, f'<w:alias w:val="number"/>{first_tag}<w:id w:val="7"/>', 1),
    }
    for layout, document in layouts.items():
        saved_as(document)
        parsed.clear()
        assert word.tagged_numbers(paper) == written, layout
        assert parsed == [1], layout
    # declared in another encoding: read as the parser reads it, not as UTF-8
    latin = xml.replace("encoding='UTF-8'", "encoding='ISO-8859-1'", 1)
    assert latin != xml
    saved_as(latin)
    parsed.clear()
    assert word.tagged_numbers(paper) == exact(latin.encode()) and parsed == [1]
    # not well-formed (a bare "<" in a run of text): refused with the parser's error, never read by pattern
    saved_as(xml.replace('<w:t xml:space="preserve">', '<w:t xml:space="preserve">a < b ', 1))
    with pytest.raises(etree.XMLSyntaxError):
        word.tagged_numbers(paper)
    document = layouts["properties"]
    # the first tagged number of the last layout, changed: the check names it
    tag, shown = written[0]
    at = document.index(first_tag)
    run = f'<w:t xml:space="preserve">{shown}</w:t>'
    saved_as(document[:at] + document[at:].replace(run, '<w:t xml:space="preserve">999</w:t>', 1))
    files, _, problems = render.verify_briefings(published, out)
    assert files == 1 and len(problems) == 1 and "shows '999'" in problems[0] and ":".join(tag[1:]) in problems[0]


def test_a_publication_link_is_a_plain_https_address_with_its_title_escaped():
    pub = render._publication(
        "https://explore-education-statistics.service.gov.uk/find-statistics/ks2",
        "Department for Education",
        "KS2 [x](y)",
    )
    assert pub["markdown"] == (
        r"[KS2 \[x\](y)](https://explore-education-statistics.service.gov.uk/find-statistics/ks2)"
    )
    for address in ("javascript:alert(1)", "https://x.org/a b", 'https://x.org/"onmouseover="x', "http://x.org/"):
        with pytest.raises(ValueError, match="not a plain https address"):
            render._publication(address, "Ofsted", "t")


def test_briefings_use_every_core_even_after_a_busy_build(monkeypatch):
    """The load average at the briefing step is the run's own dbt build: it must not hold the
    briefings to one process."""
    monkeypatch.setattr(render.os, "getloadavg", lambda: (6.0, 6.0, 6.0), raising=False)
    monkeypatch.setattr(render.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert render.default_workers(153) == 2
    assert render.default_workers(30) == 1  # under a few dozen LAs a worker's start-up is not repaid
    monkeypatch.setattr(render.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert render.default_workers(153) == 4


def test_the_briefing_check_refuses_an_oversized_word_part(tmp_path, monkeypatch):
    import zipfile

    from orchestration.lib.outputs.briefing import word

    paper = tmp_path / "paper.docx"
    with zipfile.ZipFile(paper, "w") as package:
        package.writestr("word/document.xml", '<w:document xmlns:w="urn:x">' + "<w:p/>" * 1000 + "</w:document>")
    assert word.tagged_numbers(paper) == []
    monkeypatch.setattr(word, "_DOCUMENT_XML_MAX_BYTES", 1000)
    with pytest.raises(ValueError, match="paper.docx: word/document.xml is 6,.* bytes, over 1,000"):
        word.tagged_numbers(paper)


def test_release_dates_and_methodology_reach_every_format(sample_publication, tmp_path):
    """What update-sources recorded of a publication (dim_measure) is in the section's source line
    of the HTML and Markdown briefings and the Word paper's appendix; a title with markup stays text."""
    import docx

    published = tmp_path / "education.duckdb"
    shutil.copy(sample_publication / "warehouse/education.duckdb", published)
    with duckdb.connect(str(published)) as con:
        con.execute(
            "UPDATE marts.dim_measure SET latest_release_title = 'Academic year 2024/25 <b>revised</b>', "
            "latest_release_published = DATE '2025-12-11', next_release = '2026-12', "
            "methodology_url = 'https://explore-education-statistics.service.gov.uk/methodology/key-stage-2-attainment', "
            "release_dates_checked_on = DATE '2026-12-01' WHERE dataset = 'ks2'"
        )
        con.execute(
            "UPDATE marts.dim_measure SET latest_release_title = 'Academic year 2024/25', next_release = NULL, "
            "methodology_url = 'javascript:alert(1)' WHERE dataset = 'ks4'"
        )
    out = tmp_path / "b"
    render.write_briefings(published, out, "St. Helens")
    html = max((out / "st-helens").glob("*.html")).read_text(encoding="utf-8")
    assert (
        "latest release Academic year 2024/25 &lt;b&gt;revised&lt;/b&gt;, published 11 December 2025; "
        "next release December 2026 (DfE&#39;s website, 1 December 2026); "
        '<a href="https://explore-education-statistics.service.gov.uk/methodology/key-stage-2-attainment">methodology</a>'
    ) in html
    assert "latest release Academic year 2024/25; next release not announced)" in html  # KS4: no date announced
    assert "javascript:" not in html  # a link that is not plain https is left out
    markdown = max((out / "st-helens").glob("*.md")).read_text(encoding="utf-8")
    assert "next release December 2026" in markdown
    assert (
        "[methodology](https://explore-education-statistics.service.gov.uk/methodology/key-stage-2-attainment)"
        in markdown
    )
    paper = docx.Document(str(max((out / "st-helens").glob("*.docx"))))
    appendix = [p.text for p in paper.paragraphs if "Key stage 2 attainment" in p.text and "https://" in p.text]
    assert appendix and "next release December 2026" in appendix[0] and "methodology: https://" in appendix[0]
    assert render.verify_briefings(published, out)[2] == []


def test_measure_definitions_reach_every_format(sample_publication, tmp_path):
    """Each section says what its measures mean (dim_measure.definition, from the
    measure_definitions seed): a folded list under the HTML table, a list in Markdown, an appendix
    of the Word paper. The text is the seed's, escaped like every other value."""
    import docx

    published = tmp_path / "education.duckdb"
    shutil.copy(sample_publication / "warehouse/education.duckdb", published)
    with duckdb.connect(str(published)) as con:
        definition = con.execute(
            "SELECT definition FROM marts.dim_measure WHERE measure_code = 'ks2_rwm_expected' AND breakdown = 'all'"
        ).fetchone()[0]
        con.execute(
            "UPDATE marts.dim_measure SET definition = 'Pupils <i>meeting</i> the expected [standard](x)' "
            "WHERE measure_code = 'ks4_attainment8'"
        )
    assert definition.startswith("Percentage of pupils at the end of key stage 2 (year 6)")
    out = tmp_path / "b"
    render.write_briefings(published, out, "St. Helens")
    html = max((out / "st-helens").glob("*.html")).read_text(encoding="utf-8")
    assert '<details class="definitions"><summary>What these measures mean</summary>' in html
    assert f"<dd>{definition}</dd>" in html
    # on paper the folded list is printed open: the same list, shown only in print
    folded = re.findall(r'<details class="definitions">.*?(<dl>.*?</dl>)', html, re.S)
    printed = re.findall(r'<div class="definitions print-only">.*?(<dl>.*?</dl>)', html, re.S)
    assert folded and printed == folded
    print_rules = html.split("@media print {", 1)[1].split("\n}", 1)[0]
    assert "details.definitions { display: none; }" in print_rules and ".print-only { display: block; }" in print_rules
    assert "<dd>Pupils &lt;i&gt;meeting&lt;/i&gt; the expected [standard](x)</dd>" in html
    markdown = max((out / "st-helens").glob("*.md")).read_text(encoding="utf-8")
    assert "What these measures mean:" in markdown
    assert "Pupils \\<i\\>meeting\\</i\\> the expected \\[standard\\](x)" in markdown  # no link, no HTML
    paper = docx.Document(str(max((out / "st-helens").glob("*.docx"))))
    texts = [p.text for p in paper.paragraphs]
    appendix = texts[texts.index("Appendix: what the measures mean") + 1 : texts.index("Appendix: sources")]
    assert any(text.endswith(f": {definition}") for text in appendix)
    # KS1's and KS2's reading measures share a label: each keeps its own definition, under its section
    reading = [text for text in appendix if ": Pupils meeting the expected standard in reading: " in text]
    assert len(reading) == 2 and reading[0].startswith("Key stage 1") and reading[1].startswith("Key stage 2"), reading
    assert any(text.endswith(": Pupils <i>meeting</i> the expected [standard](x)") for text in appendix)
    assert render.verify_briefings(published, out)[2] == []


def test_two_las_of_one_name_get_briefing_folders_of_their_own(tmp_path):
    """DfE's older files name Dorset county (835, until 2019) and the unitary Dorset (838) alike:
    each gets its own folder, so neither briefing overwrites the other (the briefing check read one
    LA's numbers against the other's marts)."""
    las = [
        {"old_la_code": "835", "la_name": "Dorset", "latest_time_period": 201819},
        {"old_la_code": "838", "la_name": "Dorset", "latest_time_period": 202425},
        {"old_la_code": "342", "la_name": "St. Helens", "latest_time_period": 202425},
    ]
    published = render.Published(measures={}, las=las, by_la={}, by_measure={}, national_previous={})
    # the current Dorset keeps the folder it has in a publication without the old county
    assert [published.slug(la) for la in las] == ["dorset-835", "dorset", "st-helens"]
    # the index says which Dorset the other folder is
    stage = tmp_path / "stage"
    for folder in ("dorset", "dorset-835", "st-helens"):
        (stage / folder).mkdir(parents=True)
        (stage / folder / "2024-25.html").write_text("<html></html>", encoding="utf-8")
    provenance = {"publication_id": "p1", "published_at": None, "generated": "now"}
    render._write_index(render.template_environment(), stage, published, provenance)
    index = json.loads((stage / "index.json").read_text(encoding="utf-8"))
    assert [(e["name"], e["old_la_code"]) for e in index["briefings"]] == [
        ("Dorset", "838"),
        ("Dorset (835)", "835"),
        ("St Helens", "342"),
    ]
