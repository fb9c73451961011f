"""Briefing sentences from fct_la_measure rows: the committee-paper quote, and the edge cases
(no previous period, suppressed value, equal values, lower-is-better, provisional release)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration.lib.outputs.briefing.sentences import (
    MeasureRow,
    comparability_sentence,
    continue_sentence,
    display_name,
    format_number,
    gap_sentences,
    la_sentence,
    measure_sentences,
    national_sentence,
    ordinal,
    period_label,
    period_slug,
    region_phrase,
)
from tests.conftest import CONTRACT_COLUMNS

QUOTE_LA = "In St Helens, 56% of pupils met the expected standard in reading, writing and maths, down from 66% in 2019."
QUOTE_NATIONAL = "Nationally, 59% met the expected standard, down from 65% in 2019."
KS2_NOTE = (
    "KS2 assessments were cancelled in 2019/20 and 2020/21 (COVID-19) and no results were published, "
    "so 2021/22 is compared with 2018/19."
)

COLUMNS = [*CONTRACT_COLUMNS, "data_source_file", "file_sha256"]


def fct_row(**overrides) -> dict:
    """One fct_la_measure row (KS2 RWM, St Helens) with every contract column."""
    row = dict(
        measure_code="ks2_rwm_expected",
        breakdown="all",
        time_period=202324,
        academic_year="2023/24",
        la_code="E08000013",
        old_la_code="342",
        la_name="St. Helens",
        region_code="E12000002",
        region_name="North West",
        value=65.0,
        value_status="published",
        release="final",
        national_value=61.0,
        regional_value=57.0,
        sn_average=63.0,
        sn_count=10,
        diff_vs_national=4.0,
        diff_vs_regional=8.0,
        diff_vs_sn=2.0,
        previous_time_period=202223,
        previous_value=62.0,
        change_vs_previous=3.0,
        national_previous_value=60.0,
        national_change_vs_previous=1.0,
        rank=34,
        ranked_count=153,
        quartile_band="B",
        polarity="high",
        unit="%",
        decimal_places=0,
        comparability_note=None,
        data_source_file="raw/sample/ks2/ks2_la_timeseries.csv",
        file_sha256="0" * 64,
    )
    row.update(overrides)
    return row


def measure(row: dict, phase: str = "ks2", **kwargs) -> MeasureRow:
    return MeasureRow(
        row,
        display_name(row["la_name"]),
        phase,
        kwargs.pop("measure_name", None),
        kwargs.pop("region_name", row.get("region_name")),
        **kwargs,
    )


def texts(sentences) -> list[str]:
    return [s.text for s in sentences if s is not None]


# --- the committee-paper quote (acceptance) ------------------------------------------------------


@pytest.fixture
def st_helens_fct() -> duckdb.DuckDBPyConnection:
    """A fct_la_measure-shaped DuckDB table: only a provisional 2021/22 KS2 release after the
    earlier years (2019/20 and 2020/21 not published), St Helens 56% (66% in 2018/19), England 59% (65%)."""
    rows = [
        fct_row(
            time_period=201718,
            academic_year="2017/18",
            value=64.0,
            national_value=64.0,
            previous_time_period=None,
            previous_value=None,
            change_vs_previous=None,
            national_previous_value=None,
            national_change_vs_previous=None,
        ),
        fct_row(
            time_period=201819,
            academic_year="2018/19",
            value=66.0,
            national_value=65.0,
            previous_time_period=201718,
            previous_value=64.0,
            change_vs_previous=2.0,
            national_previous_value=64.0,
            national_change_vs_previous=1.0,
        ),
        fct_row(
            time_period=201920,
            academic_year="2019/20",
            value=None,
            value_status="not_available",
            national_value=None,
            regional_value=None,
            sn_average=None,
            sn_count=0,
            previous_time_period=None,
            previous_value=None,
            change_vs_previous=None,
            national_previous_value=None,
            national_change_vs_previous=None,
            rank=None,
            ranked_count=0,
            quartile_band=None,
            comparability_note="KS2 tests and teacher assessments were cancelled in 2019/20 and 2020/21 because "
            "of COVID-19, so no results were published for those years.",
        ),
        fct_row(
            time_period=202122,
            academic_year="2021/22",
            value=56.0,
            release="provisional",
            national_value=59.0,
            regional_value=55.0,
            sn_average=58.0,
            previous_time_period=201819,
            previous_value=66.0,
            change_vs_previous=-10.0,
            national_previous_value=65.0,
            national_change_vs_previous=-6.0,
            rank=70,
            ranked_count=150,
            quartile_band="B",
            comparability_note=KS2_NOTE,
        ),
    ]
    con = duckdb.connect()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    con.register("frame", frame)
    con.execute("CREATE TABLE fct_la_measure AS SELECT * FROM frame")
    con.unregister("frame")
    yield con
    con.close()


def _latest_row(con: duckdb.DuckDBPyConnection) -> dict:
    cursor = con.execute(
        "SELECT * FROM fct_la_measure WHERE old_la_code = '342' AND measure_code = 'ks2_rwm_expected' "
        "AND breakdown = 'all' AND value_status = 'published' ORDER BY time_period DESC LIMIT 1"
    )
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0]))


def test_st_helens_ks2_reproduces_the_committee_quote(st_helens_fct):
    row = _latest_row(st_helens_fct)
    assert row["time_period"] == 202122 and row["release"] == "provisional"
    sentences = texts(measure_sentences(measure(row)))
    la, national, context = sentences[:3]
    # Value, direction, previous comparable year (the calendar year of the summer exam), flagged provisional.
    assert (
        la
        == "In St Helens, 56% of pupils met the expected standard in reading, writing and maths (provisional), down from 66% in 2019."
    )
    assert la.replace(" (provisional)", "") == QUOTE_LA
    assert national == QUOTE_NATIONAL
    assert context == (
        "These are the first statistics since 2019, because KS2 assessments were cancelled in 2019/20 "
        "and 2020/21 (COVID-19) and no results were published, so 2021/22 is compared with 2018/19."
    )
    assert "In the North West, 55% met the expected standard." in sentences
    assert "The average for its statistical neighbours was 58%." in sentences
    assert (
        "This places St Helens in band B (the second-highest quarter of local authorities), ranked 70th of 150."
        in sentences
    )


def test_pandas_row_reads_the_same_as_a_duckdb_row(st_helens_fct):
    frame = st_helens_fct.execute("SELECT * FROM fct_la_measure ORDER BY time_period").df()
    from_pandas = texts(measure_sentences(measure(frame.iloc[-1])))
    from_duckdb = texts(measure_sentences(measure(_latest_row(st_helens_fct))))
    assert from_pandas == from_duckdb


# --- edge cases -----------------------------------------------------------------------------------


def test_no_previous_period():
    row = fct_row(
        previous_time_period=None,
        previous_value=None,
        change_vs_previous=None,
        national_previous_value=None,
        national_change_vs_previous=None,
    )
    m = measure(row)
    assert la_sentence(m).text == "In St Helens, 65% of pupils met the expected standard in reading, writing and maths."
    assert national_sentence(m).text == "Nationally, 61% met the expected standard."
    assert comparability_sentence(m).text == "There is no earlier comparable figure for St Helens."


def test_no_time_series_after_a_reform_uses_the_comparability_note():
    row = fct_row(
        measure_code="eyfs_gld",
        time_period=202122,
        value=63.4,
        decimal_places=1,
        previous_time_period=None,
        previous_value=None,
        change_vs_previous=None,
        national_previous_value=None,
        national_change_vs_previous=None,
        comparability_note="The EYFS profile was reformed in 2021/22, so results are not comparable with "
        "earlier years and no change is shown for 2021/22.",
    )
    sentences = texts(measure_sentences(measure(row, phase="early_years")))
    assert sentences[0] == "In St Helens, 63.4% of children achieved a good level of development."
    assert (
        "No time series is available, because the EYFS profile was reformed in 2021/22, so results are not "
        "comparable with earlier years and no change is shown for 2021/22."
    ) in sentences


def test_suppressed_value():
    row = fct_row(
        value=None,
        value_status="suppressed",
        rank=None,
        quartile_band=None,
        change_vs_previous=None,
        previous_value=None,
        previous_time_period=None,
    )
    # England's previous comparable year comes from fct_area_measure when the LA has none of its own.
    sentences = texts(measure_sentences(measure(row, national_previous_period=202223)))
    assert sentences[0] == "The figure for St Helens is suppressed to protect confidentiality."
    assert sentences[1] == "Nationally, 61% met the expected standard, up from 60% in 2023."
    assert not any("band" in s for s in sentences)  # no rank or band without a published figure


def test_equal_values_say_no_change():
    row = fct_row(
        value=62.0,
        previous_value=62.0,
        change_vs_previous=0.0,
        national_value=60.0,
        national_previous_value=60.0,
        national_change_vs_previous=0.0,
    )
    m = measure(row)
    assert la_sentence(m).text.endswith("reading, writing and maths, the same as in 2023.")
    assert national_sentence(m).text == "Nationally, 60% met the expected standard, the same as in 2023."


def test_lower_is_better_calls_a_fall_an_improvement():
    base = dict(
        measure_code="absence_overall",
        time_period=202425,
        academic_year="2024/25",
        unit="%",
        decimal_places=1,
        polarity="low",
        previous_time_period=202324,
        national_value=6.9,
        national_previous_value=7.1,
        national_change_vs_previous=-0.2,
        quartile_band="A",
        rank=12,
        ranked_count=152,
    )
    fall = measure(fct_row(**base, value=6.8, previous_value=7.6, change_vs_previous=-0.8), phase="attendance")
    rise = measure(
        fct_row(
            **base,
            value=7.9,
            previous_value=7.6,
            change_vs_previous=0.3,
        ),
        phase="attendance",
    )
    assert la_sentence(fall).text == (
        "In St Helens, the overall absence rate was 6.8%, down from 7.6% in 2023/24, an improvement."
    )
    assert la_sentence(rise).text.endswith("up from 7.6% in 2023/24, a deterioration.")
    # England's change is reported without a judgement; whole-year measures keep the academic year.
    assert national_sentence(fall).text == "Nationally, the rate was 6.9%, down from 7.1% in 2023/24."
    band = [s for s in texts(measure_sentences(fall)) if "band" in s][0]
    assert band == (
        "This places St Helens in band A (the lowest quarter of local authorities, where lower is better), "
        "ranked 12th of 152."
    )


@pytest.mark.parametrize("release, flag", [("provisional", " (provisional)"), ("revised", " (revised)"), ("final", "")])
def test_release_is_flagged(release, flag):
    text = la_sentence(measure(fct_row(release=release))).text
    assert (
        text
        == f"In St Helens, 65% of pupils met the expected standard in reading, writing and maths{flag}, up from 62% in 2023."
    )


def test_decimal_places_follow_the_measure():
    row = fct_row(
        measure_code="ks4_progress8",
        unit="score",
        decimal_places=2,
        value=-0.1,
        previous_value=-0.25,
        change_vs_previous=0.15,
        national_value=-0.03,
        national_previous_value=-0.03,
        national_change_vs_previous=0.0,
        time_period=202324,
        previous_time_period=202223,
    )
    m = measure(row, phase="ks4")
    assert la_sentence(m).text == "In St Helens, the average Progress 8 score was -0.10, up from -0.25 in 2023."
    assert national_sentence(m).text == "Nationally, the average was -0.03, the same as in 2023."
    assert format_number(4.1, 2, "score") == "4.10" and format_number(56.0, 0, "%") == "56%"
    assert format_number(-0.0, 1, "%", signed=True) == "0.0" and format_number(3, 0, "%", signed=True) == "+3"


def test_not_published_year_explains_why_from_the_note():
    row = fct_row(
        measure_code="ks4_progress8",
        time_period=202425,
        value=None,
        value_status="not_applicable",
        unit="score",
        decimal_places=2,
        national_value=None,
        rank=None,
        quartile_band=None,
        comparability_note="Progress 8 was not published for 2024/25: these pupils had no key stage 2 "
        "results because KS2 tests were cancelled in 2020 (COVID-19).",
    )
    sentences = texts(measure_sentences(measure(row, phase="ks4")))
    assert sentences[0] == (
        "There is no published figure for St Helens for 2025, because Progress 8 was not published "
        "for 2024/25: these pupils had no key stage 2 results because KS2 tests were cancelled in "
        "2020 (COVID-19)."
    )


def test_years_published_in_between_but_not_comparable():
    # KS4 2019/20 and 2020/21 were published (CAGs, TAGs) but 2021/22 compares with 2018/19.
    note = (
        "2019/20 and 2020/21 used centre and teacher assessed grades and are not comparable, so 2021/22 is "
        "compared with 2018/19, the last exam year."
    )
    row = fct_row(
        measure_code="ks4_attainment8",
        unit="score",
        decimal_places=1,
        time_period=202122,
        value=47.0,
        previous_time_period=201819,
        previous_value=45.1,
        change_vs_previous=1.9,
        comparability_note=note,
    )
    assert comparability_sentence(measure(row, phase="ks4", published_in_between=True)).text == (
        "The last comparable year is 2019, because 2019/20 and 2020/21 used centre and teacher assessed grades and "
        "are not comparable, so 2021/22 is compared with 2018/19, the last exam year."
    )


def test_gap_between_the_last_comparable_year_and_this_one_without_a_note():
    # The LA's own 2022/23 figure was suppressed, so its previous comparable year is two years back.
    row = fct_row(previous_time_period=202122, previous_value=61.0, change_vs_previous=4.0)
    assert comparability_sentence(measure(row)).text == "St Helens had no published figure in the years in between."


def test_note_of_a_year_compared_as_normal_is_quoted():
    note = "Schools were closed to most pupils for parts of 2019/20 (COVID-19); the figures are compared as normal."
    row = fct_row(
        measure_code="exclusions_suspension_rate",
        time_period=201920,
        previous_time_period=201819,
        unit="rate",
        decimal_places=2,
        polarity="low",
        value=3.12,
        previous_value=4.5,
        change_vs_previous=-1.38,
        comparability_note=note,
    )
    assert comparability_sentence(measure(row, phase="behaviour")).text == note


# --- gaps for disadvantaged pupils ----------------------------------------------------------------


def _gap_pair(group_value, rest_value, group_status="published", **extra):
    group = fct_row(
        breakdown="disadvantaged",
        value=group_value,
        value_status=group_status,
        national_value=44.0,
        previous_value=50.0,
        **extra,
    )
    rest = fct_row(breakdown="not_disadvantaged", value=rest_value, national_value=66.0, previous_value=73.0, **extra)
    return measure(group), measure(rest)


def test_disadvantaged_gap_where_both_halves_are_published():
    assert texts(gap_sentences(*_gap_pair(45.0, 70.0))) == [
        "Among disadvantaged pupils, 45% met the expected standard, compared with 70% for other pupils: "
        "a gap of 25 percentage points.",
        "Nationally, the gap was 22 percentage points.",
        "The gap has widened from 23 percentage points in 2023.",
    ]


def test_no_gap_beside_a_suppressed_half():
    sentences = texts(gap_sentences(*_gap_pair(None, 70.0, group_status="suppressed")))
    assert sentences == [
        "The figure for disadvantaged pupils in St Helens is suppressed to protect confidentiality, so no gap is shown."
    ]


# --- wording helpers ------------------------------------------------------------------------------


def test_names_years_and_ordinals_as_officers_write_them():
    assert display_name("St. Helens") == "St Helens"
    assert display_name("Bristol, City of") == "Bristol" and display_name("Herefordshire, County of") == "Herefordshire"
    assert region_phrase("North West") == "the North West" and region_phrase("London") == "London"
    assert region_phrase("Yorkshire and The Humber") == "Yorkshire and the Humber"
    assert period_label(201819) == "2019" and period_label(201819, "attendance") == "2018/19"
    assert period_label(2025, "neet") == "2025" and period_slug(202425) == "2024-25"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111, 153)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
        "153rd",
    ]
    assert continue_sentence("The EYFS profile was reformed.") == "the EYFS profile was reformed"
    assert continue_sentence("KS2 assessments were cancelled.") == "KS2 assessments were cancelled"
    assert continue_sentence("Progress 8 was not published.") == "Progress 8 was not published"
    assert continue_sentence("2019/20 results were CAGs.") == "2019/20 results were CAGs"


def test_a_measure_added_to_the_catalogue_later_still_reads():
    row = fct_row(
        measure_code="ks2_new_measure",
        unit="%",
        decimal_places=1,
        value=12.3,
        previous_value=11.0,
        change_vs_previous=1.3,
    )
    text = la_sentence(measure(row, measure_name="Key stage 2: pupils meeting a new standard")).text
    assert text == "In St Helens, the figure for pupils meeting a new standard was 12.3%, up from 11.0% in 2023."


def test_a_measure_without_quartile_bands_gives_its_rank_alone():
    """dim_measure.quartile_banded false (LAIT's No_Quartile): no band, but the rank is still said,
    and an unranked (suppressed) value says neither."""
    unbanded = measure(fct_row(quartile_band=None, rank=124, ranked_count=150))
    assert texts(measure_sentences(unbanded))[-1] == "St Helens is ranked 124th of 150 local authorities."
    withheld = measure(fct_row(value=None, value_status="suppressed", quartile_band=None, rank=None))
    assert not [t for t in texts(measure_sentences(withheld)) if "ranked" in t]
