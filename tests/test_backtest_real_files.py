"""Backtest on DfE's real downloads as published (../shared/data, ../shared/reference/ees_real),
each from a plain `files:` entry: no per-file settings, no hand edits. One pipeline run on fifteen real
files together, then one test per quirk they carry and the published values against DfE's own
LAIT figures.

- ``statistical_neighbours/sn_may_2025.xlsx``: DfE's workbook (title rows, SNP columns, a block
  of predecessor LAs under a caption)
- ``ees/exclusions/exclusions_by_geographic_level.csv.gz``: gzipped, 235,050 School rows with
  `z` codes, `.` cells, LAs abolished in 2009 with no ONS code; phases in school_type
- ``ees/eyfsp/1_eyfsp_headline_measures_2022.csv``: characteristic columns (FSM and SEN
  breakdowns), LA district rows, Cumbria (909) where the 2025 model has Cumberland and
  Westmorland and Furness
- ``ees/eyfsp/EYFSP_APS_GLD_ELG_underlying_data_2013_2018.csv``: `gld_percent`, England's 51.7
  in 2012/13
- ``ees/neet/UD_NEETNK_LA_dashboard_2023_final.csv``: 100.2 in a column no measure reads, no City
  of London or Isles of Scilly
- ``ees/ks4/201819_LA_characteristics_data_including_sen_description.xlsx``: XLSX; the headline
  marked `school_characteristic = State-funded schools (LA)`; disadvantage, FSM and SEN
  breakdowns in a `breakdown` column; Inner and Outer London rows coded E12000007
- ``ees/ks4/KS4_2018_LA_Char_Testdata.csv``: totals only (t_att8, t_pupils, ...) and no
  all-pupils row: each group is its totals' ratio, the headline is disadvantaged + other pupils
- ``ees/absence/absence_by_term.csv``: school_type has no Total (phases only), so the headline is
  the phases' summed sessions; Rutland has no special school, City of London no secondary
- ``ees/ks5/alevel_attainment_with_2025.csv``: national only; the state-funded total named three
  ways across the years, grades in words beside the points, no state-funded total for 2012/13
- ``ees/ks5/all_attainment_with_2025.csv``: no geography columns and no time_identifier at all
  (England's figures), the qualification type in `cert_type`, points per entry in `aps`, grades
  in words in `aps_grade`
- ``ees/level_2_3_at_19/LA_Dashboard_2022_without_Scilly.csv``: not an EES file (cohort_19_in,
  region, la_code_3, 'ALL' totals), read in the age19 entry's registered layout; cohorts 19 in
  2023 to 2025 carried with every result 0
- ``ees/level_2_3_at_19/level_2_3_sfla.csv``: each area's all-Total row repeated three times
  (the cohort, then its pupils without and with SEN labelled as the total), LA names cut short
  ('Wals', 'Cornw'), FSM and SEN breakdowns in `characteristic` columns
- ``ees_real/ks2_la.csv``, ``ks4_la.csv``, ``absence_la.csv``: outcomes of children in need,
  social_care_group CINO / CPPO / CLA and never an all-pupils row; no higher-standard KS2 column

Skipped cleanly when ../shared is absent.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from tests.backtest_fixtures import catalogue_lait_rows, time_period_of
from tests.conftest import REPO_ROOT, pipeline_env

pytestmark = [pytest.mark.backtest, pytest.mark.e2e]

DATA = REPO_ROOT.parent / "shared" / "data"
EES_REAL = REPO_ROOT.parent / "shared" / "reference" / "ees_real"
LAIT = REPO_ROOT.parent / "shared" / "reference" / "lait" / "bds_long.parquet"
FILES = {
    "statistical_neighbours": "statistical_neighbours/sn_may_2025.xlsx",
    "exclusions": "ees/exclusions/exclusions_by_geographic_level.csv.gz",
    "eyfs": [
        "ees/eyfsp/1_eyfsp_headline_measures_2022.csv",
        "ees/eyfsp/EYFSP_APS_GLD_ELG_underlying_data_2013_2018.csv",
    ],
    "neet": "ees/neet/UD_NEETNK_LA_dashboard_2023_final.csv",
    "ks4": [
        "ees/ks4/201819_LA_characteristics_data_including_sen_description.xlsx",
        "ees/ks4/KS4_2018_LA_Char_Testdata.csv",
        EES_REAL / "ks4_la.csv",
    ],
    "ks2": EES_REAL / "ks2_la.csv",
    "absence": ["ees/absence/absence_by_term.csv", EES_REAL / "absence_la.csv"],
    "ks5": ["ees/ks5/alevel_attainment_with_2025.csv", "ees/ks5/all_attainment_with_2025.csv"],
    # listed first: for the years both carry, the later-listed file (level_2_3_sfla.csv) is the one read
    "age19": ["ees/level_2_3_at_19/LA_Dashboard_2022_without_Scilly.csv", "ees/level_2_3_at_19/level_2_3_sfla.csv"],
}


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    paths = [DATA / p for v in FILES.values() for p in (v if isinstance(v, list) else [v])]
    if not all(p.exists() for p in paths) or not LAIT.exists():
        pytest.skip("../shared/data (DfE's real downloads) not available")
    workdir = tmp_path_factory.mktemp("real_files")
    lines = ["datasets:"]
    for dataset, entry in FILES.items():
        listed = entry if isinstance(entry, list) else [entry]
        lines.append(f"  {dataset}:\n    files:")
        lines += [f"      - {DATA / p}" for p in listed]
    sources = workdir / "sources.yml"
    sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"],
        cwd=REPO_ROOT,
        env=pipeline_env(workdir, sources, EDU_RUN_OUTPUTS="0"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    report = (workdir / "warehouse" / "build" / "logs" / "run_report.txt").read_text(encoding="utf-8")
    con = duckdb.connect(str(workdir / "warehouse" / "education.duckdb"), read_only=True)
    yield result.stdout, report, con
    con.close()


def published(con, measure: str, breakdown: str = "all") -> dict[tuple[int, str], float]:
    return {
        (period, code): value
        for period, code, value in con.execute(
            "SELECT time_period, old_la_code, value FROM marts.fct_la_measure "
            "WHERE measure_code = ? AND breakdown = ? AND value_status = 'published'",
            [measure, breakdown],
        ).fetchall()
    }


def lait(code: str, dataset: str = "ks2") -> dict[tuple[int, str], float]:
    """LAIT's LA figures for ``code``: (EES time_period, LA number) -> value (its '-' and 'c' left out)."""
    rows = duckdb.execute(
        'SELECT "Years", CAST("LA Number" AS INTEGER), "Values" FROM read_parquet(?) '
        'WHERE "Short Desc" = ? AND "LA Number" IS NOT NULL',
        [str(LAIT), code],
    ).fetchall()
    out = {}
    for years, number, value in rows:
        try:
            out[(time_period_of(years, dataset), f"{number:03d}")] = float(value)
        except (TypeError, ValueError):
            continue  # LAIT's '-' and 'c'
    return out


def test_every_file_publishes_from_a_plain_files_entry(real_run):
    stdout, _, con = real_run
    assert "published; every step and gate passed (exit 0)" in stdout
    series = con.execute(
        "SELECT measure_code, breakdown FROM marts.fct_la_measure WHERE value_status = 'published' GROUP BY ALL"
    ).fetchall()
    assert {("eyfs_gld", "all"), ("neet_16_17", "all"), ("exclusions_permanent_rate", "all")} <= set(series)


def test_school_rows_and_district_rows_warn_with_their_counts(real_run):
    _, report, con = real_run
    assert "235,050 row(s) at levels no measure publishes (School 235,050)" in report
    assert "row(s) at levels no measure publishes (Local authority district 1,860)" in report
    # its `characteristic` has eight values, Total the last in order: the file is read, and said to be
    assert "no measure reads this file" not in report
    # kept in raw as landed, never published
    assert con.execute("SELECT count(*) FROM marts.fct_la_measure WHERE old_la_code IS NULL").fetchall() == [(0,)]


def test_an_unread_column_out_of_range_warns_and_the_file_publishes(real_run):
    _, report, con = real_run
    assert "column september_guarantee_offer_made_percent (no measure reads it)" in report
    assert "1 percentage(s) outside 0-100" in report
    assert len(published(con, "neet_16_17")) >= 148


def test_city_of_london_and_scilly_missing_only_warn(real_run):
    _, report, _ = real_run
    assert "201 City of London: missing from" in report and "420 Isles of Scilly: missing from" in report


def test_cumbria_before_its_split_completes_the_geography(real_run):
    _, _, con = real_run
    rows = con.execute("SELECT DISTINCT old_la_code FROM marts.fct_la_measure WHERE time_period = 202122").fetchall()
    codes = {c for (c,) in rows}
    assert "909" in codes and not {"942", "943"} & codes


def test_englands_gld_of_51_7_in_2012_13_passes_the_catalogues_bounds(real_run):
    _, _, con = real_run
    england = con.execute(
        "SELECT value FROM marts.fct_area_measure WHERE measure_code = 'eyfs_gld' AND breakdown = 'all' "
        "AND area_level = 'national' AND time_period = 201213"
    ).fetchall()
    assert england == [(51.7,)]


def test_older_symbols_read_as_symbols(real_run):
    _, _, con = real_run
    statuses = dict(
        con.execute(
            "SELECT value_status, count(*) FROM marts.fct_la_measure WHERE measure_code LIKE 'exclusions%' GROUP BY 1"
        ).fetchall()
    )
    assert statuses.get("published", 0) > 0 and "missing" not in statuses


# Compared with LAIT: every catalogue row with a lait_code whose series these files carry, at the
# catalogue's decimal places (LAIT's absence by phase carries two decimals where the 2012/13-2016/17
# file has one, so those compare within half a unit). Not compared, and why:
NOT_COMPARED_DATASETS = {
    "age19": "LAIT has the level 2/3 at 19 figures in a later vintage than the file here (43% equal, all within ~0.3)",
    "ks5": "the A level file is national only: test_a_national_only_file_gives_englands_values checks England",
}
# Series that differ from LAIT in one period only: (measure, breakdown) -> (the period, how many LAs
# may differ there, why). Every other period of the series must match as any other series does.
KNOWN_DIFFERENCES = {
    ("ks4_attainment8", "asian"): (
        201819,
        160,
        "LAIT's Asian figure differs from the 2018/19 LA characteristics file's for every LA (Camden 48.4 "
        "against 47.8); 2017/18 matches on every LA",
    ),
    ("ks4_progress8", "asian"): (201819, 160, "as for Attainment 8"),
    ("ks4_attainment8", "chinese"): (201819, 4, "four LAs differ by 0.1"),
}
# Series these files must carry (a column or group that stops publishing fails here, not silently):
# the headline figures, every breakdown of KS4's characteristics files and the children-in-need files.
REAL_FILE_SERIES = [
    ("eyfs_gld", "all"),
    ("eyfs_gld", "fsm_eligible"),
    ("eyfs_gld", "ehc_plan"),
    ("eyfs_gld", "white"),
    ("eyfs_all_elgs", "all"),
    ("eyfs_average_elgs", "all"),
    ("exclusions_permanent_rate", "all"),
    ("exclusions_permanent_rate", "special"),
    ("exclusions_suspension_rate", "primary"),
    ("exclusions_one_plus_suspension_rate", "all"),
    ("exclusions_one_plus_suspension_rate", "secondary"),
    ("absence_overall", "all"),
    ("absence_overall", "special"),
    ("absence_overall", "cla_12_months"),
    ("absence_authorised", "primary"),
    ("absence_unauthorised", "cin_other"),
    ("absence_persistent", "cpp_other"),
    ("ks2_rwm_expected", "cin_other"),
    ("ks2_gps_expected", "cla_12_months"),
    ("ks2_maths_progress", "cla_12_months"),
    ("ks4_attainment8", "all"),
    ("ks4_attainment8", "not_disadvantaged"),
    ("ks4_attainment8", "no_sen"),
    ("ks4_attainment8", "black"),
    ("ks4_attainment8", "cpp_other"),
    ("ks4_progress8", "fsm_eligible"),
    ("ks4_progress8", "ehc_plan"),
    ("ks4_progress8", "cin_other"),
    ("ks4_em_95", "all"),
    ("ks4_em_94", "cla_12_months"),
    ("ks4_ebacc_entry", "sen_support"),
    ("ks4_ebacc_aps", "no_sen"),
    ("ks4_ebacc_95", "all"),
    ("ks4_ebacc_94", "all"),
    ("neet_16_17", "all"),
]
MIN_REAL_FILE_SERIES = 108  # LAIT-coded series these files carry: none may stop being carried unnoticed
LAIT_ROWS = catalogue_lait_rows()


def lait_mismatches(con, row) -> tuple[int, list[tuple[int, str]]]:
    """(LA-years both publish, those whose figure differs from LAIT's at the row's decimal places)."""
    ours, theirs = published(con, row.measure_code, row.breakdown), lait(row.lait_code, row.dataset)
    common = sorted(set(ours) & set(theirs))
    return len(common), [k for k in common if abs(ours[k] - theirs[k]) > 0.5 * 10**-row.decimal_places + 1e-9]


def test_values_match_lait(real_run):
    """Every LAIT-coded series the files carry equals DfE's LAIT figures on at least 99% of LA-years
    (at least 100 of them), but for the named differences in one period; the report lists them all."""
    _, _, con = real_run
    report, failures, carried = [], [], set()
    for row in LAIT_ROWS.itertuples(index=False):
        if row.dataset in NOT_COMPARED_DATASETS:
            continue
        common, different = lait_mismatches(con, row)
        if not common:
            continue
        series = (row.measure_code, row.breakdown)
        carried.add(series)
        report.append(
            f"{row.measure_code:38} {row.breakdown:18} {row.lait_code:30} {common - len(different):5} of {common:5}"
        )
        if series in KNOWN_DIFFERENCES:
            period, most, _ = KNOWN_DIFFERENCES[series]
            if {p for p, _ in different} - {period} or len(different) > most:
                failures.append(report[-1] + f" (differs beyond {period}, or in more than {most} LAs)")
        elif common < 100 or len(different) / common > 0.01:
            failures.append(report[-1])
    print("\n".join(report))
    assert not failures, "\n".join(failures)
    assert set(REAL_FILE_SERIES) <= carried, set(REAL_FILE_SERIES) - carried
    assert set(KNOWN_DIFFERENCES) <= carried and len(carried) >= MIN_REAL_FILE_SERIES, len(carried)


def test_asian_pupils_2017_18_match_lait(real_run):
    """The 2017/18 totals-only file's ASIAN rows give LAIT's figures for every LA (2018/19 differs:
    KNOWN_DIFFERENCES)."""
    _, _, con = real_run
    for measure, code, places in [
        ("ks4_attainment8", "AVG_Attain8_Score_Asian", 1),
        ("ks4_progress8", "AVG_Prog8_Score_Asian", 2),
    ]:
        ours, theirs = published(con, measure, "asian"), lait(code)
        years = {k: v for k, v in ours.items() if k[0] == 201718 and k in theirs}
        assert len(years) >= 140
        assert all(abs(v - theirs[k]) <= 0.5 * 10**-places + 1e-9 for k, v in years.items())


def test_a_headline_marked_state_funded_schools_publishes(real_run):
    """KS4 2018/19's file marks every row school_characteristic = State-funded schools (LA)."""
    _, _, con = real_run
    assert published(con, "ks4_attainment8")[(201819, "342")] == 44.5  # St Helens, as LAIT has it
    assert published(con, "ks4_em_95")[(201819, "342")] == 37.6


def test_inner_and_outer_london_coded_as_london_are_the_sub_regions(real_run):
    _, _, con = real_run
    rows = dict(
        con.execute(
            "SELECT area_code, value FROM marts.fct_area_measure WHERE measure_code = 'ks4_attainment8' "
            "AND breakdown = 'all' AND area_level = 'regional' AND time_period = 201819 "
            "AND area_code IN ('E12000007', 'E13000001', 'E13000002')"
        ).fetchall()
    )
    sheet = pd.read_excel(DATA / FILES["ks4"][0], dtype=str)
    filters = [
        "breakdown",
        "gender",
        "ethnic_major",
        "sen_description",
        "free_school_meals",
        "sen_status",
        "disadvantage",
        "first_language",
    ]
    headline = sheet[filters].eq("Total").all(axis=1)
    regional = sheet[(sheet["geographic_level"] == "Regional") & (sheet["region_code"] == "E12000007") & headline]
    in_file = {name: float(value) for name, value in zip(regional["region_name"], regional["avg_att8"])}
    assert set(rows) == {"E12000007", "E13000001", "E13000002"}
    # each area's own row of the file, though all three carry London's code there
    assert rows == {
        "E12000007": in_file["London"],
        "E13000001": in_file["Inner London"],
        "E13000002": in_file["Outer London"],
    }


def test_children_in_need_files_publish_their_groups_and_no_headline(real_run):
    _, report, con = real_run
    assert len(published(con, "ks2_rwm_expected", "cla_12_months")) >= 300
    assert len(published(con, "ks4_attainment8", "cin_other")) >= 500
    assert len(published(con, "absence_persistent", "cpp_other")) >= 500
    assert published(con, "ks2_rwm_expected") == {}  # no all-pupils row in those files
    # one warning names every KS2 measure the children-in-need file has no column for
    assert "ks2_rwm_higher (pt_rwm_met_higher_standard), " in report
    assert "no loaded ks2 file has these columns (or a name it had before), so these" in report


def test_phases_without_a_total_publish_and_an_la_without_special_schools_warns(real_run):
    _, report, con = real_run
    for phase in ("primary", "secondary", "special"):
        assert len(published(con, "absence_overall", phase)) >= 700
    # the term file's years, for each absence rate it carries by phase: one warning line naming them
    rutland = next(line for line in report.splitlines() if "857 Rutland: missing from" in line)
    assert "absence_authorised special 201213" in rutland and "absence_overall special 201213" in rutland


def test_a_headline_with_no_total_row_is_its_phases_summed_sessions(real_run):
    """absence_by_term.csv has no Total school type: England's overall absence is DfE's published
    5.3% (2012/13) and 4.7% (2016/17) from the three phases' sessions; City of London (no state
    secondary or special school) and Rutland (no special school) sum the phases they have, as LAIT
    does."""
    _, _, con = real_run
    england = dict(
        con.execute(
            "SELECT time_period, value FROM marts.fct_area_measure WHERE measure_code = 'absence_overall' "
            "AND breakdown = 'all' AND area_level = 'national' AND value_derivation = "
            "'sum of sess_overall / sum of sess_possible over primary + secondary + special'"
        ).fetchall()
    )
    assert england[201213] == 5.3 and england[201617] == 4.7
    ours, primary = published(con, "absence_overall"), published(con, "absence_overall", "primary")
    assert ours[(201617, "201")] == primary[(201617, "201")]
    rutland = pd.read_csv(DATA / FILES["absence"][0], dtype=str).query(
        "old_la_code == '857' and time_period == '201617' and term == 'Total'"
    )
    assert sorted(rutland["school_type"]) == ["State-funded primary", "State-funded secondary"]
    sessions = rutland[["sess_overall", "sess_possible"]].astype(int).sum()
    assert ours[(201617, "857")] == round(100 * sessions["sess_overall"] / sessions["sess_possible"], 1)
    assert abs(ours[(201617, "857")] - lait("TotAbs")[(201617, "857")]) <= 0.05 + 1e-9


def test_a_totals_only_file_publishes_its_ratios_marked_derived(real_run):
    """KS4 2017/18's characteristics file has t_att8, t_pupils, ... and no all-pupils row. St Helens'
    figures are LAIT's (A8 44.6, 5+ E&M 38.8, EBacc entry 37.8, APS 3.75, P8 -0.39, EBacc at grade 5
    11.8 and at grade 4 19.1, from t_ebacc_95 and t_ebacc_94 over t_pupils); its 2018/19
    figures still come from the 2018/19 file's own cells."""
    _, _, con = real_run
    st_helens = {
        measure: (value, derivation)
        for measure, value, derivation in con.execute(
            "SELECT measure_code, value, value_derivation FROM marts.fct_la_measure WHERE old_la_code = '342' "
            "AND breakdown = 'all' AND time_period = 201718 AND measure_code LIKE 'ks4%'"
        ).fetchall()
    }
    assert {m: v for m, (v, _) in st_helens.items()} == {
        "ks4_attainment8": 44.6,
        "ks4_em_95": 38.8,
        "ks4_em_94": 60.3,
        "ks4_ebacc_entry": 37.8,
        "ks4_ebacc_aps": 3.75,
        "ks4_progress8": -0.39,
        "ks4_ebacc_95": 11.8,
        "ks4_ebacc_94": 19.1,
    }
    assert st_helens["ks4_attainment8"][1] == "sum of t_att8 / sum of t_pupils over disadvantaged + not_disadvantaged"
    derivations = dict(
        con.execute(
            "SELECT time_period, any_value(value_derivation) FROM marts.fct_la_measure WHERE old_la_code = '342' "
            "AND measure_code = 'ks4_attainment8' AND breakdown = 'disadvantaged' GROUP BY 1"
        ).fetchall()
    )
    assert derivations == {201718: "t_att8 / t_pupils of the same row", 201819: "published"}


def test_at_least_twenty_series_come_out_of_real_files(real_run):
    _, _, con = real_run
    series = con.execute(
        "SELECT count(DISTINCT (measure_code, breakdown)) FROM marts.fct_la_measure WHERE value_status = 'published'"
    ).fetchall()[0][0]
    assert series >= 80


def test_a_national_only_file_gives_englands_values(real_run):
    """DfE's A level time series has England's rows only: they are England's values (LAIT's
    APSE_Alevel, as published to four places since 2019/20), and the LA facts say the measure has
    none of their own rather than failing. 2012/13 has no state-funded total and no points on
    today's scale: a warning, not a failure."""
    _, report, con = real_run
    england = dict(
        con.execute(
            "SELECT time_period, value FROM marts.fct_area_measure WHERE measure_code = 'ks5_aps_per_entry' "
            "AND breakdown = 'all' AND area_level = 'national' AND value_status = 'published'"
        ).fetchall()
    )
    theirs = {
        time_period_of(years): float(value)
        for years, value in duckdb.execute(
            'SELECT "Years", "Values" FROM read_parquet(?) WHERE "Short Desc" = \'APSE_Alevel\' '
            "AND \"LA and Regions\" = 'England'",
            [str(LAIT)],
        ).fetchall()
    }
    assert len(theirs) == 10 and set(theirs) <= set(england)
    assert all(abs(england[p] - theirs[p]) < 0.006 for p in theirs), {p: (england[p], theirs[p]) for p in theirs}
    assert england[201920] == 38.5477  # as the file publishes it
    assert published(con, "ks5_aps_per_entry") == {}
    assert "ks5_aps_per_entry: the loaded ks5 files have no local-authority rows" in report
    assert "1 group(s) of rows have no headline row" in report and "line 602" in report


def test_a_file_without_geography_columns_is_englands(real_run):
    """DfE's 16-18 time series of every qualification type has time_period but no geographic_level,
    country or area column: its rows are England's, said so in the run's warnings, and its applied
    general and tech level points per entry are England's values (LAIT's APSE_GenS and APSE_Tech,
    which LAIT gives to four places and the file to two). Its A level rows (cert_type A level) are
    not a second headline beside the A level file's."""
    _, report, con = real_run
    assert (
        "all_attainment_with_2025.csv: no geography columns, so its rows are read as England's figures "
        "(time_identifier Academic year, geographic_level National, country_code E92000001, country_name England)"
    ) in report
    for measure, code in (
        ("ks5_vocational_applied_general_aps", "APSE_GenS"),
        ("ks5_vocational_tech_level_aps", "APSE_Tech"),
    ):
        england = dict(
            con.execute(
                "SELECT time_period, value FROM marts.fct_area_measure WHERE measure_code = ? "
                "AND breakdown = 'all' AND area_level = 'national' AND value_status = 'published'",
                [measure],
            ).fetchall()
        )
        theirs = {
            time_period_of(years): float(value)
            for years, value in duckdb.execute(
                'SELECT "Years", "Values" FROM read_parquet(?) WHERE "Short Desc" = ? AND "LA and Regions" = \'England\'',
                [str(LAIT), code],
            ).fetchall()
        }
        assert len(theirs) == 8 and set(theirs) <= set(england), (measure, sorted(england), sorted(theirs))
        assert all(abs(england[p] - theirs[p]) < 0.006 for p in theirs), {p: (england[p], theirs[p]) for p in theirs}
    assert england[202425] == 28.82  # tech level, as the file publishes it
    # England's A level figure is still the A level file's, to four places
    assert con.execute(
        "SELECT value FROM marts.fct_area_measure WHERE measure_code = 'ks5_aps_per_entry' AND breakdown = 'all' "
        "AND area_level = 'national' AND time_period = 202425"
    ).fetchall() == [(34.9873,)]


def test_a_file_in_a_registered_layout_reads_as_ees(real_run):
    """DfE's attainment-at-19 dashboard file is not an EES file (cohort_19_in, region, la_code_3,
    'ALL' for England, the regions and each filter's total). Read in its registered layout it gives
    the years level_2_3_sfla.csv does not have, 2018/19 to 2021/22, as published (unrounded), with
    their FSM and SEN groups; its placeholder cohorts (19 in 2023 to 2025, every result 0) are left
    out, so no year after 2021/22 appears."""
    _, report, con = real_run
    assert (
        "LA_Dashboard_2022_without_Scilly.csv: read as an EES file from its own layout (cohort_19_in, la_code_3)"
    ) in report
    sheet = pd.read_csv(DATA / FILES["age19"][0], dtype=str)
    totals = (sheet["gender"] == "ALL") & (sheet["sen"] == "ALL")
    for measure, column, fsm, breakdown in (
        ("age19_l3", "l3_by19_rate", "ALL", "all"),
        ("age19_l2_em", "l2_with_em_by19_rate", "ALL", "all"),
        ("age19_l2", "l2_by19_rate", "Eligible for FSM", "fsm_eligible"),
    ):
        rows = sheet[totals & (sheet["fsm"] == fsm) & (sheet["la_code_3"] != "ALL")]
        theirs = {
            (int(year) - 1) * 100 + int(year) % 100: (code, float(value))
            for year, code, value in zip(rows["cohort_19_in"], rows["la_code_3"], rows[column])
            if 2019 <= int(year) <= 2022 and code == "342"
        }
        ours = published(con, measure, breakdown)
        assert {p: (code, ours[(p, code)]) for p, (code, _) in theirs.items()} == theirs, measure
    assert published(con, "age19_l3")[(202122, "342")] == 49.06976744  # St Helens, 49.1 to LAIT's 1 place
    england = con.execute(
        "SELECT time_period, value FROM marts.fct_area_measure WHERE measure_code = 'age19_l3' AND breakdown = 'all' "
        "AND area_level = 'national' AND time_period >= 201819 AND value_status = 'published' ORDER BY 1"
    ).fetchall()
    assert england[-1][0] == 202122 and round(england[-1][1], 2) == 60.68  # LAIT's later revision: 60.06
    # the cohorts not yet 19 (2023 to 2025, every result 0) are left out, with a warning
    assert "row(s) of years not yet measured left out" in report
    assert con.execute(
        "SELECT count(*) FROM marts.fct_la_measure WHERE measure_code LIKE 'age19%' AND time_period >= 202223"
    ).fetchall() == [(0,)]
    assert con.execute(
        "SELECT max(latest_time_period) FROM marts.dim_measure WHERE measure_code LIKE 'age19%'"
    ).fetchall() == [(202122,)]


def test_repeated_total_rows_read_the_whole_cohort(real_run):
    """level_2_3_sfla.csv repeats each area's all-Total row: the cohort (largest), then sub-groups
    labelled as the total. The headline is the cohort's row: St Helens' level 3 by 19 in 2015/16 is
    50.46% (PROVENANCE: LAIT's later revision gives 50.41)."""
    _, report, con = real_run
    sheet = pd.read_csv(DATA / FILES["age19"][1], dtype=str)
    totals = sheet[
        (sheet["old_la_code"] == "342") & (sheet["time_period"] == "201516") & (sheet["characteristic"] == "Total")
    ]
    assert len(totals) == 3
    cohort = totals.loc[totals["number_in_ss_cohort"].astype(int).idxmax()]
    assert published(con, "age19_l3")[(201516, "342")] == float(cohort["l3by19"])
    assert round(float(cohort["l3by19"]), 2) == 50.46
    assert "4,186 row(s) repeat another row's period, area and filters with a smaller number_in_ss_cohort" in report


def test_shortened_la_names_warn_and_publish_under_the_models_name(real_run):
    _, report, con = real_run
    assert "old_la_code 335 is named 'Wals' on 109 row(s), short for 'Walsall': read as Walsall" in report
    names = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT la_name FROM marts.fct_la_measure WHERE old_la_code IN ('335', '908')"
        ).fetchall()
    }
    assert names == {"Walsall", "Cornwall"}


def test_age_19_breakdowns_come_from_characteristic_columns(real_run):
    _, _, con = real_run
    for breakdown in ("fsm_eligible", "not_fsm_eligible", "sen_support", "ehc_plan", "no_sen"):
        assert len(published(con, "age19_l3", breakdown)) >= 1_900, breakdown
    # England's FSM figure of 2004/05 passes the catalogue's bounds (the history starts low)
    assert con.execute(
        "SELECT round(value, 1) FROM marts.fct_area_measure WHERE measure_code = 'age19_l2_em' "
        "AND breakdown = 'fsm_eligible' AND area_level = 'national' AND time_period = 200405"
    ).fetchall() == [(19.9,)]
