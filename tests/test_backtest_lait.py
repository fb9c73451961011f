"""Backtest: the published `marts.fct_la_measure` against DfE's own figures (LAIT).

LAIT's indicators for every catalogue measure (EYFS, phonics, KS1, KS2, KS4, 16-18, age
19, absence, exclusions, NEET; 2015/16..2024/25) are rewritten as EES files in a temporary folder
(tests/backtest_fixtures.py), the pipeline is run once on them with DfE's real statistical
neighbour model, and every LA row of the mart is compared with an independent pandas
recomputation of LAIT's method from LAIT's values: the value, England and regional figures,
statistical-neighbour average, previous comparable year, change, rank and quartile band.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.backtest_fixtures import (
    LAIT_MEASURES,
    LONDON_CODE,
    LONDON_SUBREGIONS,
    ST_HELENS,
    ST_HELENS_PROVISIONAL_RWM,
    catalogue_lait_rows,
    load_neighbours,
    write_backtest_sources,
)
from tests.conftest import REPO_ROOT, reference_file

pytestmark = [pytest.mark.backtest, pytest.mark.slow]

KEY = ["measure_code", "breakdown", "time_period", "old_la_code"]
# KS4 and 16-18 2019/20 (centre assessed) and 2020/21 (teacher assessed grades) compare with no
# other year.
STANDALONE_PERIODS = {"ks4": {201920, 202021}, "ks5": {201920, 202021}}
# The EYFS profile was reformed in 2021/22: earlier years are another series.
SERIES_STARTS = {"eyfs": 202122}


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    lait = reference_file("lait", "bds_long.parquet")
    dictionary = reference_file("lait", "lait_data_dictionary.csv")
    ees_ks2 = reference_file("ees_real", "ks2_la.csv")
    sn_file = reference_file("ees_real", "sn_model_2025_wide.csv")
    workdir = tmp_path_factory.mktemp("backtest_lait")
    sources = write_backtest_sources(workdir / "release", lait, ees_ks2, sn_file, dictionary)

    env = dict(os.environ)
    env.update(
        EDU_SOURCES=str(sources.sources_file),
        EDU_WAREHOUSE_DIR=str(workdir / "warehouse"),
        EDU_LANDING_DIR=str(workdir / "landing"),
        DAGSTER_HOME=str(workdir / "dagster_home"),
        # The backtest checks the marts; one briefing (St Helens) keeps the publication step's
        # briefing output exercised without writing all ~150.
        EDU_BRIEFING_LAS=ST_HELENS,
        # The backtest checks the marts; outputs (briefings, docs) have their own tests.
        EDU_RUN_OUTPUTS="0",
    )
    env.pop("EDU_BUILD_DB", None)
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        f"pipeline exit code {result.returncode}\n--- stdout (tail) ---\n{result.stdout[-3000:]}"
        f"\n--- stderr (tail) ---\n{result.stderr[-6000:]}"
    )
    database = workdir / "warehouse" / "education.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        mart = con.execute("select * from marts.fct_la_measure").df()
        revisions = con.execute("select * from marts.fct_release_revisions").df()
    return {
        "values": sources.values,
        "neighbours": load_neighbours(sn_file),
        "mart": mart,
        "revisions": revisions,
    }


# --- independent recomputation of LAIT's comparisons -------------------------------------------


@functools.cache  # pure; the same figures recur across LA rows
def round_half_up(number: float, places: int) -> float:
    """Rounding as LAIT (Excel ROUND) and SQL round() do: halves away from zero, unlike round()."""
    if pd.isna(number):
        return np.nan
    return float(Decimal(repr(float(number))).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP))


@functools.cache
def decimal_difference(a: float, b: float, places: int) -> float:
    if pd.isna(a) or pd.isna(b):
        return np.nan
    exact = Decimal(repr(float(a))) - Decimal(repr(float(b)))
    return float(exact.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP))


def comparable(dataset: str, period: int, earlier: int) -> bool:
    """Comparability (docs/architecture.md): KS4's and 16-18's COVID years stand alone, the EYFS reform starts a new
    series; every other gap (years not published) is just skipped."""
    standalone = STANDALONE_PERIODS.get(dataset, set())
    if period in standalone or earlier in standalone:
        return False
    return not (dataset in SERIES_STARTS and (period >= SERIES_STARTS[dataset]) != (earlier >= SERIES_STARTS[dataset]))


def with_previous(rows: pd.DataFrame, area_key: str) -> pd.DataFrame:
    """previous_time_period / previous_value: the latest earlier comparable period with a value."""
    rows = rows.copy()
    previous_period, previous_value = [], []
    published = rows.dropna(subset=["value"])
    # (measure, breakdown, area) -> [(period, value)] in period order; one pass over plain tuples
    history: dict[tuple, list] = {}
    ordered = published.sort_values("time_period")[["measure_code", "breakdown", area_key, "time_period", "value"]]
    for measure, breakdown, area, period, value in ordered.itertuples(index=False):
        history.setdefault((measure, breakdown, area), []).append((period, value))
    for dataset, measure, breakdown, area, period in rows[
        ["dataset", "measure_code", "breakdown", area_key, "time_period"]
    ].itertuples(index=False):
        candidates = [
            (p, v)
            for p, v in history.get((measure, breakdown, area), [])
            if p < period and comparable(dataset, period, p)
        ]
        previous_period.append(candidates[-1][0] if candidates else np.nan)
        previous_value.append(candidates[-1][1] if candidates else np.nan)
    rows["previous_time_period"] = previous_period
    rows["previous_value"] = previous_value
    return rows


def quartile_band(value: float, q1: float, q2: float, q3: float, polarity: str) -> str | None:
    if pd.isna(value):
        return None
    if polarity == "low":
        return "A" if value <= q1 else "B" if value <= q2 else "C" if value <= q3 else "D"
    return "A" if value > q3 else "B" if value > q2 else "C" if value > q1 else "D"


def expected_la_measures(values: pd.DataFrame, neighbours: pd.DataFrame) -> pd.DataFrame:
    group = ["measure_code", "breakdown", "time_period"]
    # polarity: lait_data_dictionary.csv; release: as the files were written (LAIT's labels such as
    # '2025 (prov)', else final, revised for a dataset's latest period)
    las = values[values["area_level"] == "local_authority"].copy()
    las["value_status"] = np.where(
        las["value"].notna(), "published", np.where(las["cell"] == "c", "suppressed", "not_available")
    )
    # LAIT's clean_ldn_region: a London borough against its own Inner or Outer London when LAIT has
    # any figure for that sub-region on the indicator (measure x breakdown), else against London
    regional_rows = values[(values["area_level"] == "regional") & values["value"].notna()]
    sub_regions_with_values = set(
        zip(regional_rows["measure_code"], regional_rows["breakdown"], regional_rows["area_code"])
    )
    own = las["region_code"]
    uses_sub_region = [
        code in LONDON_SUBREGIONS and (m, b, code) in sub_regions_with_values
        for m, b, code in zip(las["measure_code"], las["breakdown"], own)
    ]
    las["comparator_region"] = own.where(uses_sub_region, own.where(~own.isin(LONDON_SUBREGIONS), LONDON_CODE))
    las["regional_comparator_code"] = las["comparator_region"]

    national = values[values["area_level"] == "national"]
    national = with_previous(national, "area_code")[group + ["value", "previous_value"]].rename(
        columns={"value": "national_value", "previous_value": "national_previous_value"}
    )
    regional = values[values["area_level"] == "regional"][group + ["area_code", "value"]].rename(
        columns={"area_code": "comparator_region", "value": "regional_value"}
    )
    las = las.merge(national, on=group, how="left").merge(regional, on=group + ["comparator_region"], how="left")

    # Statistical neighbours: mean of the neighbours' published values, and how many there are.
    pairs = neighbours.merge(
        las[group + ["old_la_code", "value"]].rename(
            columns={"old_la_code": "neighbour_old_la_code", "value": "neighbour_value"}
        ),
        on="neighbour_old_la_code",
    )
    sn = (
        pairs.groupby(group + ["old_la_code"])["neighbour_value"].agg(sn_average="mean", sn_count="count").reset_index()
    )
    # the exact decimal mean of the published figures, for value - mean: a float mean such as
    # 4.7700000000000005 would turn 5.12 - 4.77 = 0.35 into 0.3 instead of 0.4
    exact_means = (
        pairs.dropna(subset=["neighbour_value"])
        .groupby(group + ["old_la_code"])["neighbour_value"]
        .agg(lambda v: sum(Decimal(repr(float(x))) for x in v) / len(v))
        .rename("sn_exact")
        .reset_index()
    )
    sn = sn.merge(exact_means, on=group + ["old_la_code"], how="left")
    las = las.merge(sn, on=group + ["old_la_code"], how="left")
    las["sn_count"] = las["sn_count"].fillna(0).astype(int)

    las = with_previous(las, "old_la_code")

    # Rank (1 = best given polarity, ties share the lowest rank) and LAIT quartile bands among
    # published LAs.
    las["rank"] = np.where(
        las["polarity"] == "low",
        las.groupby(group)["value"].rank(method="min", ascending=True),
        las.groupby(group)["value"].rank(method="min", ascending=False),
    )
    las["ranked_count"] = las.groupby(group)["value"].transform("count")
    quartiles = (
        las.dropna(subset=["value"])
        .groupby(group)["value"]
        .apply(lambda v: pd.Series(np.round(np.quantile(v.to_numpy(), [0.25, 0.5, 0.75]), 9), index=["q1", "q2", "q3"]))
        .unstack()
        .reset_index()
    )
    las = las.merge(quartiles, on=group, how="left")
    las["quartile_band"] = [
        quartile_band(v, q1, q2, q3, p)
        for v, q1, q2, q3, p in las[["value", "q1", "q2", "q3", "polarity"]].itertuples(index=False)
    ]
    # LAIT shows no band for its No_Quartile measures (KS2 scaled scores, ...): ranked, not banded
    lait_rows = catalogue_lait_rows()
    unbanded = set(
        map(tuple, lait_rows.loc[lait_rows["no_quartile_band"] == "true", ["measure_code", "breakdown"]].to_numpy())
    )
    las.loc[[key in unbanded for key in zip(las["measure_code"], las["breakdown"])], "quartile_band"] = None

    def rounded_difference(a: pd.Series, b: pd.Series) -> pd.Series:
        """a - b of the published decimals, rounded half up (as LAIT's spreadsheet arithmetic does:
        59.18 - 46.03 is 13.15 -> 13.2, although the binary difference is 13.1499999...)."""
        return pd.Series(
            [decimal_difference(x, y, dp) for x, y, dp in zip(a, b, las["decimal_places"])], index=las.index
        )

    las["change_vs_previous"] = rounded_difference(las["value"], las["previous_value"])
    las["diff_vs_national"] = rounded_difference(las["value"], las["national_value"])
    las["diff_vs_regional"] = rounded_difference(las["value"], las["regional_value"])
    las["diff_vs_sn"] = [
        np.nan
        if pd.isna(value) or not isinstance(mean, Decimal)
        else float((Decimal(repr(float(value))) - mean).quantize(Decimal(1).scaleb(-int(dp)), rounding=ROUND_HALF_UP))
        for value, mean, dp in zip(las["value"], las["sn_exact"], las["decimal_places"])
    ]
    las["national_change_vs_previous"] = rounded_difference(las["national_value"], las["national_previous_value"])
    return las.rename(columns={"new_la_code": "la_code"})


# --- comparison --------------------------------------------------------------------------------

# column -> absolute tolerance in units of the measure's last decimal place. sn_average is the
# unrounded mean, as LAIT publishes it, and is compared unrounded.
NUMERIC_CHECKS = {
    "value": 0,
    "national_value": 0,
    "regional_value": 0,
    "sn_average": 0,
    "sn_count": 0,
    "diff_vs_national": 0,
    "diff_vs_regional": 0,
    "diff_vs_sn": 0,
    "previous_time_period": 0,
    "previous_value": 0,
    "change_vs_previous": 0,
    "national_previous_value": 0,
    "national_change_vs_previous": 0,
    "rank": 0,
    "ranked_count": 0,
    "decimal_places": 0,
}
TEXT_CHECKS = ["la_code", "regional_comparator_code", "value_status", "release", "quartile_band", "polarity"]
# The previous comparable year is only meaningful for a published value (an unpublished year, e.g.
# KS2 2019/20, belongs to no series); the same holds for England's previous value.
PUBLISHED_ONLY = {"previous_time_period", "previous_value"}
NATIONAL_PUBLISHED_ONLY = {"national_previous_value"}
# Counts and periods are compared exactly; figures after rounding to the measure's decimal places.
UNROUNDED = {"sn_count", "sn_average", "rank", "ranked_count", "previous_time_period", "decimal_places"}


@pytest.fixture(scope="module")
def compared(backtest):
    expected = expected_la_measures(backtest["values"], backtest["neighbours"])
    mart = backtest["mart"]
    # the series LAIT has (catalogue breakdowns it lacks are only the files' "x" cells: see
    # test_series_lait_lacks_publish_no_value)
    series = expected[["measure_code", "breakdown"]].drop_duplicates()
    mart = mart.merge(series, on=["measure_code", "breakdown"])
    joined = expected.merge(mart, on=KEY, how="outer", suffixes=("_exp", "_got"), indicator=True)
    return joined


def _matches(joined: pd.DataFrame, column: str) -> pd.Series:
    exp, got = joined[f"{column}_exp"], joined[f"{column}_got"]
    if column in TEXT_CHECKS:
        return (exp.isna() & got.isna()) | (exp.astype(object) == got.astype(object))
    exp, got = pd.to_numeric(exp, errors="coerce").astype(float), pd.to_numeric(got, errors="coerce").astype(float)
    dp = joined["decimal_places_exp"].astype(float)
    tolerance = NUMERIC_CHECKS[column] * 10 ** (-dp) + 1e-9
    if column not in UNROUNDED and NUMERIC_CHECKS[column] == 0:
        exp = pd.Series([round_half_up(x, d) for x, d in zip(exp, dp)], index=joined.index)
        got = pd.Series([round_half_up(x, d) for x, d in zip(got, dp)], index=joined.index)
    return (exp.isna() & got.isna()) | ((exp - got).abs() <= tolerance)


def test_every_lait_row_is_in_the_mart(compared):
    missing = compared[compared["_merge"] == "left_only"]
    extra = compared[compared["_merge"] == "right_only"]
    assert missing.empty and extra.empty, (
        f"{len(missing)} expected LA rows missing from the mart, {len(extra)} unexpected:\n"
        f"{missing[KEY].head(10).to_string()}\n{extra[KEY].head(10).to_string()}"
    )
    assert len(compared) > 50_000
    # every catalogue measure and breakdown is backtested
    assert len(compared[["measure_code", "breakdown"]].drop_duplicates()) == len(LAIT_MEASURES) >= 200


def test_series_lait_lacks_publish_no_value(backtest):
    """The wide backtest files hold "x" where LAIT has no figure (e.g. KS4 Progress 8 for
    disadvantaged pupils): those rows stay not available, nothing is made up."""
    mart = backtest["mart"]
    compared_series = {(m, b) for _, m, b, *_ in LAIT_MEASURES.values()}
    others = mart[[(m, b) not in compared_series for m, b in zip(mart["measure_code"], mart["breakdown"])]]
    assert set(others["value_status"]) <= {"not_available"}, others["value_status"].value_counts()
    assert others["value"].isna().all()


def test_mart_matches_lait_recomputation(compared):
    both = compared[compared["_merge"] == "both"]
    published = both["value_exp"].notna()
    report, failures = [], []
    row_ok = pd.Series(True, index=both.index)
    for column in [*NUMERIC_CHECKS, *TEXT_CHECKS]:
        scope = (
            both[published]
            if column in PUBLISHED_ONLY
            else both[both["national_value_exp"].notna()]
            if column in NATIONAL_PUBLISHED_ONLY
            else both
        )
        ok = _matches(scope, column)
        row_ok.loc[ok.index] &= ok
        report.append((column, len(scope), int(ok.sum()), 100.0 * ok.mean()))
        if not ok.all():
            bad = scope[~ok]
            failures.append(
                f"\n{column}: {len(bad)} mismatches, by measure:\n"
                + bad.groupby(["measure_code", "breakdown"]).size().to_string()
                + "\nfirst rows:\n"
                + bad[[*KEY, "value_exp", "value_got", f"{column}_exp", f"{column}_got"]]
                .head(12)
                .to_string(index=False)
            )
    table = "\n".join(f"{c:<28} {n:>6} compared {m:>6} match {rate:6.2f}%" for c, n, m, rate in report)
    # Per measure: the share of LA rows on which every column above matches.
    by_measure = (
        both.assign(all_match=row_ok, published=published)
        .groupby(["lait_code", "measure_code", "breakdown"])
        .agg(rows=("all_match", "size"), published=("published", "sum"), all_match=("all_match", "mean"))
        .reset_index()
    )
    measure_table = "\n".join(
        f"{r.measure_code + '/' + r.breakdown:<42} {r.lait_code:<24} {r.rows:>6} rows {int(r.published):>6} published"
        f" {100.0 * r.all_match:6.2f}% all columns match"
        for r in by_measure.itertuples(index=False)
    )
    print("\nLAIT backtest match rates by column\n" + table + "\n\nby measure (LAIT code)\n" + measure_table)
    # A change must never be shown for an LA row without a published value.
    orphans = both[~published & both["change_vs_previous_got"].notna()]
    assert orphans.empty, f"change_vs_previous without a value:\n{orphans[KEY].head().to_string()}"
    assert not failures, table + "".join(failures)


def test_st_helens_ks2_2021_22_is_the_revised_figure(backtest):
    mart = backtest["mart"]
    row = mart[
        (mart["measure_code"] == "ks2_rwm_expected")
        & (mart["breakdown"] == "all")
        & (mart["old_la_code"] == ST_HELENS)
        & (mart["time_period"] == 202122)
    ]
    assert len(row) == 1
    assert row["value"].iloc[0] == 57
    assert row["release"].iloc[0] in {"revised", "final"}
    assert row["previous_time_period"].iloc[0] == 201819

    revisions = backtest["revisions"]
    revision = revisions[
        (revisions["measure_code"] == "ks2_rwm_expected")
        & (revisions["breakdown"] == "all")
        & (revisions["area_code"] == ST_HELENS)
        & (revisions["time_period"] == 202122)
    ]
    assert len(revision) == 1, revision.to_string()
    assert revision["earlier_release"].iloc[0] == "provisional"
    assert revision["earlier_value"].iloc[0] == ST_HELENS_PROVISIONAL_RWM
    assert revision["later_value"].iloc[0] == 57
    # The provisional file repeats every other 2021/22 figure unchanged.
    changed = revisions[revisions["is_changed"].astype(bool) & (revisions["time_period"] == 202122)]
    assert changed[["measure_code", "breakdown", "area_code"]].values.tolist() == [
        ["ks2_rwm_expected", "all", ST_HELENS]
    ]


def _previous(mart: pd.DataFrame, measure: str, period: int) -> pd.Series:
    rows = mart[
        (mart["measure_code"] == measure)
        & (mart["breakdown"] == "all")
        & (mart["time_period"] == period)
        & (mart["value_status"] == "published")
    ]
    assert len(rows) > 100, (measure, period, len(rows))
    return rows["previous_time_period"]


def test_comparability_boundaries(backtest):
    """Comparability (docs/architecture.md): EYFS 2021/22 has no previous period and 2022/23 compares
    with 2021/22; KS4 2020/21 has none and 2021/22 compares with 2018/19; absence 2020/21 skips
    the unpublished 2019/20; KS1 2021/22 compares with 2018/19."""
    mart = backtest["mart"]
    assert _previous(mart, "eyfs_gld", 202122).isna().all()
    assert (_previous(mart, "eyfs_gld", 202223) == 202122).mean() > 0.95
    assert _previous(mart, "ks4_attainment8", 202021).isna().all()
    assert (_previous(mart, "ks4_attainment8", 202122) == 201819).mean() > 0.95
    assert _previous(mart, "ks5_aps_per_entry", 202021).isna().all()
    assert (_previous(mart, "ks5_aps_per_entry", 202122) == 201819).mean() > 0.95
    assert (_previous(mart, "absence_overall", 202021) == 201819).mean() > 0.95
    assert (_previous(mart, "ks1_reading_expected", 202122) == 201819).mean() > 0.95
    neet = mart[(mart["measure_code"] == "neet_16_17") & (mart["time_period"] == 2025)]
    assert set(neet["academic_year"]) == {"2025"} and (neet["previous_time_period"].dropna() == 2024).all()
    note = mart[(mart["measure_code"] == "eyfs_gld") & (mart["time_period"] == 202122)]["comparability_note"]
    assert note.str.contains("reformed in 2021/22").all()
