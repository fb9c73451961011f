"""The Schools section and the KS2-to-KS4 cohort paragraph of a briefing, from hand-made school
marts added to the small published database of test_briefing_render (no pipeline run): the
numbers for an LA with school data, nothing for an LA without (or for a publication without the
marts), withheld values never shown as numbers, concern reasons listed, and the read-back check
covering the school numbers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib.outputs.briefing import render, schools
from tests.test_briefing_render import build_published_db

OUTCOME_COLUMNS = """urn VARCHAR, school_name VARCHAR, old_la_code VARCHAR, la_code VARCHAR, la_name VARCHAR,
    phase VARCHAR, measure_code VARCHAR, measure_label VARCHAR, unit VARCHAR, polarity VARCHAR,
    decimal_places INTEGER, is_headline BOOLEAN, is_catalogue_measure BOOLEAN, time_period INTEGER,
    academic_year VARCHAR, time_identifier VARCHAR, cohort INTEGER, value DOUBLE, value_status VARCHAR,
    small_cohort BOOLEAN, previous_time_period INTEGER, previous_value DOUBLE, change DOUBLE, la_value DOUBLE,
    la_value_source VARCHAR, england_value DOUBLE, diff_from_england DOUBLE, below_national BOOLEAN,
    declining_two_years BOOLEAN, data_source_file VARCHAR, file_sha256 VARCHAR, source_row_number INTEGER"""

KS2 = (
    "ks2_rwm_expected",
    "Key stage 2: pupils meeting the expected standard in reading, writing and maths",
    "%",
    "high",
    0,
)
KS4 = ("ks4_attainment8", "Key stage 4: average Attainment 8 score", "score", "high", 1)
SHA = "cd" * 32


def outcome(
    urn,
    name,
    measure,
    period,
    value,
    status="published",
    *,
    previous=None,
    change=None,
    england=None,
    diff=None,
    below=None,
    declining=None,
    la_value=None,
    cohort=30,
    headline=True,
    term="Academic year",
    phase="Primary",
    la="342",
):
    code, label, unit, polarity, dp = measure
    return dict(
        urn=urn,
        school_name=name,
        old_la_code=la,
        la_code="E08000013",
        la_name="St. Helens",
        phase=phase,
        measure_code=code,
        measure_label=label,
        unit=unit,
        polarity=polarity,
        decimal_places=dp,
        is_headline=headline,
        is_catalogue_measure=True,
        time_period=period,
        academic_year=f"{period // 100}/{period % 100:02d}",
        time_identifier=term,
        cohort=cohort,
        value=value if status == "published" else None,
        value_status=status,
        small_cohort=cohort < 11,
        previous_time_period=201819 if period == 202122 else None,
        previous_value=previous,
        change=change,
        la_value=la_value,
        la_value_source="DfE published LA figure (marts.fct_la_measure)" if la_value is not None else None,
        england_value=england,
        diff_from_england=diff,
        below_national=below,
        declining_two_years=declining,
        data_source_file=f"raw/sample/local/school_{code[:3]}.csv",
        file_sha256=SHA,
        source_row_number=2,
    )


# St Helens only: KS2 2021/22 (England 59%, St Helens 56% as in fct_la_measure), KS4 2021/22.
OUTCOMES = [
    outcome(
        "100001",
        "Alder Primary",
        KS2,
        202122,
        48.0,
        previous=60.0,
        change=-12.0,
        england=59.0,
        diff=-11.0,
        below=True,
        declining=True,
        la_value=56.0,
    ),
    outcome(
        "100002",
        "Birch Primary",
        KS2,
        202122,
        70.0,
        previous=68.0,
        change=2.0,
        england=59.0,
        diff=11.0,
        below=False,
        declining=False,
        la_value=56.0,
    ),
    # Withheld: the mart holds no value, change or comparison; the cohort would be one if shown.
    outcome(
        "100003", "Cedar Primary", KS2, 202122, None, "suppressed_small_cohort", england=59.0, la_value=56.0, cohort=7
    ),
    outcome(
        "100004", "Damson Primary", KS2, 202122, None, "suppressed_secondary", england=59.0, la_value=56.0, cohort=13
    ),
    outcome("100005", "Elm Primary", KS2, 202122, None, "suppressed_at_source", england=59.0, la_value=56.0),
    # Earlier years and other rows that the table must not show.
    outcome("100001", "Alder Primary", KS2, 201819, 60.0, england=65.0, diff=-5.0, below=True, la_value=66.0),
    outcome("100002", "Birch Primary", KS2, 201819, 68.0, england=65.0, diff=3.0, below=False, la_value=66.0),
    outcome(
        "100001",
        "Alder Primary",
        ("ks2_reading_expected", "Reading", "%", "high", 0),
        202122,
        77.0,
        headline=False,
        england=74.0,
    ),
    outcome(
        "100001",
        "Alder Primary",
        ("attendance_overall_absence_termly", "Overall absence rate, termly", "%", "low", 1),
        202324,
        6.3,
        term="Autumn term",
    ),
    outcome(
        "100101",
        "Fir High School",
        KS4,
        202122,
        44.3,
        previous=45.0,
        change=-0.7,
        england=48.9,
        diff=-4.6,
        below=True,
        declining=False,
        la_value=47.0,
        phase="Secondary",
        cohort=180,
    ),
    outcome(
        "100102",
        "Grove High School",
        KS4,
        202122,
        50.2,
        previous=49.1,
        change=1.1,
        england=48.9,
        diff=1.3,
        below=False,
        declining=False,
        la_value=47.0,
        phase="Secondary",
        cohort=210,
    ),
]

INSPECTIONS = [  # phase, as_at, schools, with judgement, good+, %, pupils, pupils good+, %, without
    ("All schools", "2024-08-31", 70, 69, 58, 84.1, 21000, 17800, 85.2, 1),
    ("All schools", "2025-08-31", 70, 60, 52, 86.7, 21100, 18100, 90.0, 10),
    ("Primary", "2024-08-31", 60, 59, 50, 84.7, 12000, 10300, 86.0, 1),
    ("Primary", "2025-08-31", 60, 52, 46, 88.5, 12050, 10500, 89.3, 8),
    ("Secondary", "2024-08-31", 10, 10, 8, 80.0, 9000, 7500, 83.3, 0),
    ("Secondary", "2025-08-31", 10, 8, 6, 75.0, 9050, 7600, 90.5, 2),
]

CONCERN = [  # urn, school, phase, rule id, description, reason
    (
        "100001",
        "Alder Primary",
        "Primary",
        "results_below_and_declining",
        "Headline result below England and down two years running",
        "Key stage 2: pupils meeting the expected standard in reading, writing and maths 48% in 2021/22, below England "
        "(59%), down two years running (62% in 2017/18, 60% in 2018/19)",
    ),
    (
        "100001",
        "Alder Primary",
        "Primary",
        "ofsted_below_good",
        "Latest Ofsted overall effectiveness Requires improvement or Inadequate",
        "Alder Primary: latest Ofsted overall effectiveness Requires improvement (grade 3), inspected 3 March 2025, in "
        "Ofsted's data as at 31 August 2025",
    ),
    (
        "100101",
        "Fir High School",
        "Secondary",
        "results_below_three_years",
        "Headline result below England in each of the last three published years",
        "Key stage 4: average Attainment 8 score below England in each of the last 3 published years: 44.0 in 2017/18 "
        "(England 46.5), 45.0 in 2018/19 (England 46.7), 44.3 in 2021/22 (England 48.9)",
    ),
]

RULE_TYPES = {
    "results_below_and_declining": "below_national_and_declining",
    "results_below_three_years": "below_national_for_years",
    "ofsted_below_good": "inspection_below_good",
}


def add_school_marts(path: Path, *, cohorts: bool = True) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE TABLE marts.mart_school_outcomes ({OUTCOME_COLUMNS})")
        frame = pd.DataFrame(OUTCOMES)
        con.register("outcomes", frame)
        con.execute("INSERT INTO marts.mart_school_outcomes BY NAME SELECT * FROM outcomes")
        con.execute("""CREATE TABLE marts.mart_inspection_outcomes (old_la_code VARCHAR, la_code VARCHAR,
            la_name VARCHAR, phase VARCHAR, as_at DATE, schools INTEGER, schools_with_judgement INTEGER,
            schools_good_or_outstanding INTEGER, pct_schools_good_or_outstanding DOUBLE, pupils BIGINT,
            pupils_in_good_or_outstanding BIGINT, pct_pupils_good_or_outstanding DOUBLE,
            schools_without_single_word_judgement INTEGER, note VARCHAR)""")
        for phase, as_at, n, judged, good, pct, pupils, pupils_good, pct_pupils, without in INSPECTIONS:
            con.execute(
                "INSERT INTO marts.mart_inspection_outcomes VALUES ('342', 'E08000013', 'St. Helens', ?, "
                "CAST(? AS DATE), ?, ?, ?, ?, ?, ?, ?, ?, 'Ofsted stopped single-word judgements.')",
                [phase, as_at, n, judged, good, pct, pupils, pupils_good, pct_pupils, without],
            )
        con.execute("""CREATE TABLE marts.mart_schools_causing_concern (urn VARCHAR, school_name VARCHAR,
            old_la_code VARCHAR, la_code VARCHAR, la_name VARCHAR, phase VARCHAR, rule_id VARCHAR, rule_type VARCHAR,
            rule_description VARCHAR, measure_code VARCHAR, reason VARCHAR)""")
        for urn, name, phase, rule, description, reason in CONCERN:
            con.execute(
                "INSERT INTO marts.mart_schools_causing_concern VALUES (?, ?, '342', 'E08000013', 'St. Helens', "
                "?, ?, ?, ?, NULL, ?)",
                [urn, name, phase, rule, RULE_TYPES[rule], description, reason],
            )
        if cohorts:
            # As the real mart builds it: fct_la_measure's KS2 row and its KS4 rows five years on
            # (KS2 2016/17 -> KS4 2021/22, the one cohort the fixture holds both ends of).
            con.execute("""INSERT INTO marts.fct_la_measure BY NAME
                SELECT * REPLACE (201617 AS time_period, '2016/17' AS academic_year, 'final' AS release,
                       value - 3 AS value, 61.0 AS national_value, NULL AS previous_time_period,
                       NULL AS previous_value, NULL AS change_vs_previous, NULL AS comparability_note)
                FROM marts.fct_la_measure WHERE measure_code = 'ks2_rwm_expected' AND breakdown = 'all'
                  AND time_period = 201819""")
            con.execute("""CREATE TABLE marts.mart_cohort_transition AS
                SELECT ks2.old_la_code, ks2.la_code, ks2.la_name, ks2.time_period AS ks2_time_period,
                    ks2.academic_year AS ks2_academic_year, ks2.time_period + 505 AS ks4_time_period,
                    a8.academic_year AS ks4_academic_year,
                    ks2.value AS ks2_rwm_expected_value, ks2.value_status AS ks2_rwm_expected_status,
                    ks2.national_value AS ks2_rwm_expected_england, ks2.rank AS ks2_rwm_expected_rank,
                    ks2.ranked_count AS ks2_rwm_expected_ranked_count,
                    a8.value AS ks4_attainment8_value, a8.value_status AS ks4_attainment8_status,
                    a8.national_value AS ks4_attainment8_england, a8.rank AS ks4_attainment8_rank,
                    a8.ranked_count AS ks4_attainment8_ranked_count,
                    NULL::DOUBLE AS ks4_em_94_value, NULL::VARCHAR AS ks4_em_94_status,
                    NULL::DOUBLE AS ks4_em_94_england, NULL::INTEGER AS ks4_em_94_rank,
                    NULL::INTEGER AS ks4_em_94_ranked_count, NULL::VARCHAR AS comparability_note
                FROM marts.fct_la_measure AS ks2
                LEFT JOIN marts.fct_la_measure AS a8 ON a8.measure_code = 'ks4_attainment8' AND a8.breakdown = 'all'
                    AND a8.old_la_code = ks2.old_la_code AND a8.time_period = ks2.time_period + 505
                WHERE ks2.measure_code = 'ks2_rwm_expected' AND ks2.breakdown = 'all'""")
    return path


@pytest.fixture
def published_db(tmp_path) -> Path:
    return build_published_db(tmp_path / "education.duckdb")


@pytest.fixture
def schools_db(tmp_path) -> Path:
    return add_school_marts(build_published_db(tmp_path / "education.duckdb"))


class _SchoolPage(HTMLParser):
    """h2/h3 headings, every span.school-num with its tags, and the text of each table row
    (keyed by data-urn) of the Schools section."""

    def __init__(self):
        super().__init__()
        self.headings: list[str] = []
        self.school_numbers: list[dict] = []
        self.rows: dict[tuple[str, str], str] = {}  # (measure, urn) -> row text
        self._heading: list[str] | None = None
        self._span_depth: list[bool] = []
        self._measure: str | None = None
        self._row: tuple[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h2", "h3"):
            self._heading = []
        if tag == "table":
            self._measure = attrs.get("data-measure")
        if tag == "tr" and attrs.get("data-urn") and self._measure:
            self._row = (self._measure, attrs["data-urn"])
            self.rows[self._row] = ""
        if tag == "span":
            is_school = attrs.get("class") == "school-num"
            self._span_depth.append(is_school)
            if is_school:
                self.school_numbers.append(
                    {**{k[5:]: v for k, v in attrs.items() if k.startswith("data-")}, "text": ""}
                )

    def handle_endtag(self, tag):
        if tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        if tag == "span" and self._span_depth:
            self._span_depth.pop()
        if tag == "tr":
            self._row = None
        if tag == "table":
            self._measure = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading.append(data)
        if self._span_depth and self._span_depth[-1]:
            self.school_numbers[-1]["text"] += data
        if self._row:
            self.rows[self._row] += data


def school_page(path: Path) -> _SchoolPage:
    page = _SchoolPage()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _write(db: Path, out: Path, las: str) -> None:
    render.write_briefings(db, out, las, charts=False, workers=1)


# --- the section for an LA with school data -----------------------------------------------------


def test_schools_section_for_an_la_with_school_data(schools_db, tmp_path):
    out = tmp_path / "briefings"
    _write(schools_db, out, "St. Helens")
    html, md = out / "st-helens/2021-22.html", out / "st-helens/2021-22.md"
    text = md.read_text(encoding="utf-8")
    page = school_page(html)
    h = page.headings
    assert (
        h.index("Schools")
        < h.index("Ofsted inspection outcomes")
        < h.index("Pupils meeting the expected standard in reading, writing and maths: 2022")
        < h.index("Average Attainment 8 score: 2022")
        < h.index("Schools causing concern")
        < h.index("From key stage 2 to key stage 4: the same pupils")
        < h.index("How to read this briefing")
    )

    # Inspections: the latest snapshot against the one before, and the September 2024 note.
    assert (
        "At 31 August 2025, 86.7% of the schools in St Helens with a single-word Ofsted judgement were good or "
        "outstanding (84.1% at 31 August 2024), and 90.0% of their pupils attended a good or outstanding school "
        "(85.2%)."
    ) in text
    assert (
        "Ofsted stopped giving single-word overall effectiveness judgements in September 2024; schools inspected "
        "since then receive report cards instead, so 10 of the 70 schools had no single-word judgement at "
        "31 August 2025 and the percentages are of the schools and pupils with one."
    ) in text
    assert "| Primary | 31 August 2025 | 60 | 88.5% | 89.3% | 8 |" in text
    assert "| Secondary | 31 August 2024 | 10 | 80.0% | 83.3% | 0 |" in text

    # Results: counts, England (fct_la_measure's, so provisional), LA, the table with flags.
    assert (
        "In 2022, 2 of the 5 schools in St Helens with results had a published figure; 1 of them was below "
        "England's 59% (provisional) and 1 fell for the second year running."
    ) in text
    assert (
        "In 2022, all 2 schools in St Helens with results had a published figure; 1 of them was below England's 48.9."
        in text
    )
    assert "The figure for St Helens as a whole was 56% (provisional)." in text
    assert "3 figures are withheld to protect small cohorts; no change or comparison is shown for them." in text
    assert "| School | 2022 | Change | Difference from England (59%) | Flags |" in text
    assert "| Alder Primary | 48% | -12 since 2019 | -11 | below England, down two years running |" in text
    assert "| Birch Primary | 70% | +2 since 2019 | +11 |  |" in text
    assert "| Cedar Primary | withheld (small cohort) |  |  |  |" in text
    assert "| Damson Primary | withheld (protects a small cohort) |  |  |  |" in text
    assert "| Elm Primary | withheld at source |  |  |  |" in text
    assert "| Fir High School | 44.3 | -0.7 since 2019 | -4.6 | below England |" in text
    # Earlier years, non-headline and termly rows are not in the tables.
    assert "60%" not in re.sub(r"\(62% in 2017/18, 60% in 2018/19\)", "", text.split("## Schools")[1])
    assert "77%" not in text and "6.3" not in text

    # Concern: every school once, with each of its reasons.
    assert "2 schools meet at least one of the council's causing-concern rules:" in text
    assert (
        "- **Alder Primary** (Primary, URN 100001): Key stage 2: pupils meeting the expected standard in reading, "
        "writing and maths 48% in 2021/22, below England (59%), down two years running (62% in 2017/18, 60% in "
        "2018/19); Alder Primary: latest Ofsted overall effectiveness Requires improvement (grade 3)"
    ) in text
    assert (
        "- **Fir High School** (Secondary, URN 100101): Key stage 4: average Attainment 8 score below England" in text
    )
    assert text.count("**Alder Primary**") == 1

    # Cohort: KS2 2016/17 (63%, England 61%) -> GCSEs 2021/22 (Attainment 8 47.0, England 48.9).
    assert (
        "Pupils who took KS2 in 2016/17 (63% met the expected standard in reading, writing and maths, England 61%) "
        "took their GCSEs in 2021/22: Attainment 8 47.0 (England 48.9); St Helens ranked 2nd of 5 local "
        "authorities at KS2 and 4th of 5 on Attainment 8."
    ) in text
    # The same numbers in the HTML: school numbers tagged for the school marts.
    tags = {(n["table"], n["key"], n["field"]): n["text"] for n in page.school_numbers}
    assert tags[("mart_school_outcomes", "100001|ks2_rwm_expected|202122|Academic year", "value")] == "48%"
    assert tags[("mart_school_outcomes", "100101|ks4_attainment8|202122|Academic year", "diff_from_england")] == "-4.6"
    assert tags[("mart_inspection_outcomes", "342|All schools|2025-08-31", "pct_pupils_good_or_outstanding")] == "90.0%"
    assert tags[("mart_schools_causing_concern", "342", "schools")] == "2"


def test_withheld_values_never_appear_as_numbers(schools_db, tmp_path):
    out = tmp_path / "briefings"
    _write(schools_db, out, "St. Helens")
    page = school_page(out / "st-helens/2021-22.html")
    withheld = {r["urn"]: r["value_status"] for r in OUTCOMES if r["value_status"] != "published"}
    for urn, status in withheld.items():
        row = page.rows[("ks2_rwm_expected", urn)]
        assert schools.WITHHELD_TEXT[status] in row
        # The school's name and the status, nothing else: no value, change, difference or flag.
        assert not re.search(r"\d", row.replace(schools.WITHHELD_TEXT[status], "")), row
        assert "England" not in row and "running" not in row
    assert not any(n["key"].split("|")[0] in withheld for n in page.school_numbers)
    md = (out / "st-helens/2021-22.md").read_text(encoding="utf-8")
    for line in md.splitlines():
        if any(name in line for name in ("Cedar Primary", "Damson Primary", "Elm Primary")):
            assert not re.search(r"\d", line), line


def test_no_schools_section_for_an_la_without_school_rows(schools_db, tmp_path):
    out = tmp_path / "briefings"
    _write(schools_db, out, "Knowsley")
    text = (out / "knowsley/2021-22.md").read_text(encoding="utf-8")
    page = school_page(out / "knowsley/2021-22.html")
    for heading in ("Schools", "Ofsted inspection outcomes", "Schools causing concern"):
        assert heading not in page.headings
    assert "## Schools" not in text and "withheld (" not in text and "mart_school_outcomes" not in text
    assert page.school_numbers == []
    # The cohort paragraph reads only DfE's LA figures, so it is there for every LA with them.
    assert "From key stage 2 to key stage 4: the same pupils" in page.headings
    assert "Pupils who took KS2 in 2016/17 (" in text and "took their GCSEs in 2021/22: Attainment 8 41.9" in text


def test_publication_without_the_school_marts_has_neither_section(published_db, tmp_path):
    out = tmp_path / "briefings"
    _write(published_db, out, "St. Helens")
    page = school_page(out / "st-helens/2021-22.html")
    assert "Schools" not in page.headings
    assert not any("key stage 4: the same pupils" in h for h in page.headings)


def test_cohort_without_a_published_ks4_figure_is_left_out(tmp_path):
    db = add_school_marts(build_published_db(tmp_path / "education.duckdb"))
    with duckdb.connect(str(db)) as con:
        con.execute(
            "UPDATE marts.mart_cohort_transition SET ks4_attainment8_status = 'suppressed', "
            "ks4_attainment8_value = NULL WHERE old_la_code = '340'"
        )
    out = tmp_path / "briefings"
    _write(db, out, "Knowsley")
    page = school_page(out / "knowsley/2021-22.html")
    assert not any("the same pupils" in h for h in page.headings)


# --- the read-back check ---------------------------------------------------------------------------


def test_school_numbers_read_back_and_a_changed_one_is_caught(schools_db, tmp_path):
    out = tmp_path / "briefings"
    _write(schools_db, out, "St. Helens, Knowsley")
    files, numbers, problems = render.verify_briefings(schools_db, out)
    assert files == 2 and problems == []
    page_path = out / "st-helens/2021-22.html"
    school_numbers = len(school_page(page_path).school_numbers)
    assert school_numbers > 40
    # The cohort numbers are span.num tagged with fct_la_measure fields, read back against it.
    cohort_html = page_path.read_text(encoding="utf-8").split('id="cohorts"')[1]
    assert (
        'data-field="value" data-measure="ks2_rwm_expected" data-breakdown="all" data-period="201617">63%'
        in cohort_html
    )
    html = page_path.read_text(encoding="utf-8")
    tampered = html.replace(
        'data-key="100001|ks2_rwm_expected|202122|Academic year" data-field="value">48%',
        'data-key="100001|ks2_rwm_expected|202122|Academic year" data-field="value">58%',
        1,
    )
    assert tampered != html
    page_path.write_text(tampered, encoding="utf-8")
    _, _, problems = render.verify_briefings(schools_db, out)
    assert problems == [
        "st-helens/2021-22.html: mart_school_outcomes 100001|ks2_rwm_expected|202122|Academic year "
        "value shows '58%', the mart says '48%'"
    ]


def test_a_withheld_value_shown_as_a_number_fails_the_read_back(schools_db):
    data = render.load_published(schools_db).schools
    key = "100003|ks2_rwm_expected|202122|Academic year"
    assert schools.expected_school_number(data, "mart_school_outcomes", key, "value") is None
    # Another LA's school or count never reads back as this LA's.
    assert (
        schools.expected_school_number(
            data, "mart_school_outcomes", "100001|ks2_rwm_expected|202122|Academic year", "value", old_la_code="340"
        )
        is None
    )


def test_briefing_check_passes_with_school_numbers(schools_db, tmp_path, monkeypatch):
    import shutil

    import dagster as dg

    from orchestration.defs.ingest.resources import WarehouseResource
    from orchestration.defs.outputs.assets import BRIEFINGS_KEY, briefing_check_spec, outputs

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(schools_db, warehouse / "education.duckdb")
    monkeypatch.setenv("EDU_BRIEFING_LAS", "St. Helens")
    resources = {"warehouse": WarehouseResource(warehouse_dir=str(warehouse))}
    result = dg.materialize(
        [outputs], selection=[BRIEFINGS_KEY], resources=resources, instance=dg.DagsterInstance.ephemeral()
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.description
    assert evaluation.metadata["briefings"].value == 1 and evaluation.metadata["numbers"].value > 100
    # the check alone (as from the UI) reads the same numbers back from the briefings on disk
    again = dg.materialize(
        [outputs],
        selection=dg.AssetSelection.checks(briefing_check_spec.key),
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    [alone] = again.get_asset_check_evaluations()
    assert again.get_asset_materialization_events() == []
    assert alone.passed and alone.description == evaluation.description


# --- sentences ---------------------------------------------------------------------------------------


def test_lower_is_better_flags_and_withheld_wording():
    row = outcome(
        "1",
        "A",
        ("absence", "Absence", "%", "low", 1),
        202122,
        9.5,
        previous=8.0,
        change=1.5,
        england=7.0,
        diff=2.5,
        below=True,
        declining=True,
        la_value=8.0,
    )
    data = schools.SchoolData(outcomes={"342": [row]})
    [section] = schools.results_subsections(data, {"old_la_code": "342"}, "St Helens", {}, {}, lambda c: c)
    assert section["table"][0]["flags"] == ["above England", "up two years running"]
    assert section["sentences"][0].text == (
        "In 2022, the one school in St Helens with results had a published figure; it was above England's 7.0% and "
        "it rose for the second year running."
    )
    assert "rose for the second year running" in section["sentences"][0].text
    assert schools.withheld_text("suppressed_small_cohort") == "withheld (small cohort)"
    assert schools.withheld_text(None) == "not available"
