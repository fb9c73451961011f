"""The school-level view on the bundled sample, end to end (one shared publication).

- School values aggregated with cohort weights reproduce DfE's LA figures (the sample's school
  files are consistent with its LA files, as a council's own data is with DfE's).
- Disclosure control: an attacker who knows every published school value and cohort *and* the
  exact LA total (worst case) cannot work out any withheld school value.
- The causing-concern list, the inspection shares and the transition view agree with the same
  figures worked out here independently from the published marts and the raw sample files.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT

SAMPLE_LOCAL = REPO_ROOT / "raw" / "sample" / "local"
MIN_COHORT = int(os.environ.get("EDU_SCHOOL_MIN_COHORT", "11"))
WITHHELD = ("suppressed_small_cohort", "suppressed_secondary", "suppressed_at_source")


@pytest.fixture(scope="module")
def published(sample_publication: Path):
    con = duckdb.connect(str(sample_publication / "warehouse" / "education.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def build(sample_publication: Path):
    """The run's build database: staging still holds the unsuppressed school values, which is
    what an attacker's "exact LA total" is made of."""
    con = duckdb.connect(str(sample_publication / "warehouse" / "build" / "education_build.duckdb"), read_only=True)
    yield con
    con.close()


def rows(con, sql: str, params=()) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def test_school_values_weighted_by_cohort_reproduce_the_la_figures(build, published):
    schools = rows(
        build,
        """
        with written as (
            -- How many decimals the school file really wrote (e.g. 66% has none).
            select dataset, measure_code,
                   max(length(split_part(replace(value, '%', ''), '.', 2))) as school_dp
            from raw.local_school_values
            group by all
        )
        select v.old_la_code, v.measure_code, v.time_period, written.school_dp,
               sum(v.unsuppressed_value * v.cohort) / sum(v.cohort) as weighted, sum(v.cohort) as cohort, count(*) as n
        from intermediate.int_school_values_suppressed v
        join written using (dataset, measure_code)
        where v.time_identifier = 'Academic year' and v.unsuppressed_value is not null
          and v.measure_code in (select measure_code from marts.dim_measure)
        group by all""",
    )
    assert len(schools) > 50
    la = {
        (r["old_la_code"], r["measure_code"], r["time_period"]): r
        for r in rows(
            published,
            """select old_la_code, measure_code, time_period, value, decimal_places
                                     from marts.fct_la_measure where breakdown = 'all'""",
        )
    }
    worst: dict[str, float] = {}
    for s in schools:
        target = la[(s["old_la_code"], s["measure_code"], s["time_period"])]
        if target["value"] is None:
            continue
        # School values are rounded to the school file's decimal places and the LA value to DfE's:
        # the weighted mean can be off by half a unit of each, no more.
        tolerance = 0.5 * 10 ** -s["school_dp"] + 0.5 * 10 ** -target["decimal_places"]
        gap = abs(s["weighted"] - target["value"])
        assert gap <= tolerance + 1e-9, (s, target)
        worst[s["measure_code"]] = max(worst.get(s["measure_code"], 0), gap)
    assert {"ks2_rwm_expected", "ks4_attainment8", "ks4_em_94"} <= set(worst)


def test_school_cohorts_add_up_to_the_la_cohort(build):
    mismatches = rows(
        build,
        """
        with schools as (
            select old_la_code, time_period, sum(cohort) as cohort
            from intermediate.int_school_values_suppressed
            where measure_code = 'ks2_rwm_expected' and time_identifier = 'Academic year'
            group by all
        ), la as (
            select old_la_code, cast(time_period as integer) as time_period,
                   try_cast(t_rwm_eligible_pupils as integer) as cohort
            from raw.ks2
            where geographic_level = 'Local authority' and breakdown = 'Total' and sex = 'Total'
              and version = 'Final'
        )
        select * from schools join la using (old_la_code, time_period)
        where schools.cohort <> la.cohort""",
    )
    assert mismatches == []


def _bounds(unit: str, value_min, value_max) -> tuple[float | None, float | None]:
    if unit == "percent":
        return 0.0, 100.0
    return value_min, value_max


MIN_POSSIBILITIES = int(os.environ.get("EDU_SCHOOL_MIN_POSSIBILITIES", "3"))
MIN_INTERVAL_PERCENT = int(os.environ.get("EDU_SCHOOL_MIN_INTERVAL_PERCENT", "10"))


def feasible_counts(cohorts: list[int], total: int) -> list[set[int]]:
    """The attacker's solve: for each school, every pupil count it can have when the schools'
    counts (each 0..cohort) add up to ``total``. Subset sums of the others, by dynamic programming,
    independently of the model's interval arithmetic."""
    out = []
    for i, n in enumerate(cohorts):
        reachable = {0}
        for j, m in enumerate(cohorts):
            if j != i:
                reachable = {r + k for r in reachable for k in range(m + 1)}
        out.append({a for a in range(n + 1) if total - a in reachable})
    return out


def attack(hidden: list[dict], values: list[float], lo, hi) -> list[tuple[int, float]]:
    """For each withheld school: how many values stay possible (None for a score) and the width of
    the interval it can lie in, from the exact total of the withheld schools and their cohorts."""
    cohorts = [m["cohort"] for m in hidden]
    counts = [round(v * n / 100) for v, n in zip(values, cohorts)]
    if lo == 0 and hi == 100 and all(abs(100 * a / n - v) <= 0.5 for a, n, v in zip(counts, cohorts, values) if n):
        # percentages of whole pupils: solve for the counts
        return [
            (len(options), 100 * (max(options) - min(options)) / n)
            for options, n in zip(feasible_counts(cohorts, sum(counts)), cohorts)
        ]
    total, cohort = sum(v * n for v, n in zip(values, cohorts)), sum(cohorts)
    return [
        (None, (min(hi * n, total - lo * (cohort - n)) - max(lo * n, total - hi * (cohort - n))) / n) for n in cohorts
    ]


def assert_not_narrowed(key, hidden: list[dict], values: list[float], lo, hi) -> tuple[int, int]:
    """The attacker's solve for one group's withheld schools (with pupils) and their true values:
    each keeps MIN_POSSIBILITIES counts (or all its cohort allows) and MIN_INTERVAL_PERCENT of the
    range. Returns how many were checked, and how many of them as pupil counts."""
    counted = 0
    for m, (possible, width) in zip(hidden, attack(hidden, values, lo, hi)):
        where = f"{key}: URN {m['urn']} ({[(h['cohort'], h['value_status']) for h in hidden]})"
        assert width >= MIN_INTERVAL_PERCENT / 100 * (hi - lo) - 1e-6, f"{where} narrowed to {width:.2f}"
        if possible is not None:
            assert possible >= min(MIN_POSSIBILITIES, m["cohort"] + 1), f"{where}: {possible} counts left"
            counted += 1
    return len(hidden), counted


def test_no_withheld_school_value_can_be_narrowed_from_the_la_total(build, published):
    """The attacker knows every published school value and cohort and the exact LA total, so the
    exact total of the withheld schools. Solving for them leaves each withheld value at least
    EDU_SCHOOL_MIN_POSSIBILITIES pupil counts (or all its cohort allows) and an interval of at least
    EDU_SCHOOL_MIN_INTERVAL_PERCENT of the measure's range."""
    truth = {
        (r["urn"], r["measure_code"], r["time_period"], r["time_identifier"]): r
        for r in rows(
            build,
            """select urn, measure_code, time_period, time_identifier, unsuppressed_value as value, cohort
                                 from intermediate.int_school_values_suppressed""",
        )
    }
    bounds = {
        r["measure_code"]: _bounds(r["unit"], r["value_min"], r["value_max"])
        for r in rows(build, "select measure_code, unit, value_min, value_max from staging.stg_local__measures")
    }
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows(
        published,
        """select urn, old_la_code, measure_code, time_period, time_identifier,
                                        cohort, value, value_status from marts.mart_school_outcomes""",
    ):
        groups[(r["old_la_code"], r["measure_code"], r["time_period"], r["time_identifier"])].append(r)

    withheld_checked = secondary = counted = 0
    for key, members in groups.items():
        hidden = [m for m in members if m["value_status"] in WITHHELD]
        if not hidden:
            continue
        lo, hi = bounds[key[1]]
        known = [truth[(m["urn"], *key[1:])]["value"] for m in hidden]
        assert len(hidden) >= 2, f"{key}: a single withheld school is the LA total minus the others: {hidden}"
        if lo is None or hi is None or None in known:
            # Unbounded measure, or a value not published at source (unknown to us too): two
            # withheld schools is all that can be asked.
            continue
        with_pupils = [(m, v) for m, v in zip(hidden, known) if m["cohort"]]
        solved, as_counts = assert_not_narrowed(key, [m for m, _ in with_pupils], [v for _, v in with_pupils], lo, hi)
        withheld_checked += solved
        counted += as_counts
        secondary += sum(m["value_status"] == "suppressed_secondary" for m in hidden)
    assert withheld_checked > 0 and secondary > 0 and counted > 0


def test_the_attacker_solves_the_issues_example():
    """The attacker above, on the case that used to get through: withheld cohorts of 10 and 1 with
    8 passes between them leave the larger school at 7 or 8 passes (70% or 80%)."""
    assert feasible_counts([10, 1], 8) == [{7, 8}, {0, 1}]
    (possible, width), _ = attack([{"cohort": 10}, {"cohort": 1}], [80.0, 0.0], 0, 100)
    assert (possible, width) == (2, 10.0)
    # with a third school of 30 (15 passes) withheld too, every count 0-10 is possible again
    assert attack([{"cohort": 10}, {"cohort": 1}, {"cohort": 30}], [80.0, 0.0, 50.0], 0, 100)[0] == (11, 100.0)


def test_every_small_cohort_is_withheld_and_nothing_is_shown_beside_it(published):
    leaks = rows(
        published,
        f"""
        select * from marts.mart_school_outcomes
        where (cohort < {MIN_COHORT} and value_status = 'published')
           or (value_status <> 'published' and (value is not null or change is not null
               or diff_from_england is not null or below_national is not null or declining_two_years is not null))""",
    )
    assert leaks == []
    # A published change never sits next to a withheld previous value either: the previous value
    # and the change are both NULL when last year's value was withheld.
    hidden_previous = rows(
        published,
        """
        select cur.urn, cur.measure_code, cur.time_period
        from marts.mart_school_outcomes cur
        join marts.mart_school_outcomes prev
          on prev.urn = cur.urn and prev.measure_code = cur.measure_code
         and prev.time_period = cur.previous_time_period and prev.time_identifier = cur.time_identifier
        where prev.value_status <> 'published' and (cur.change is not null or cur.previous_value is not null)""",
    )
    assert hidden_previous == []


def test_the_sample_cases_that_need_secondary_suppression_get_it(published):
    # St. Helens 2023/24: exactly one school under 11 on KS2 RWM; Knowsley 2023/24: two small
    # schools both at 100% (the generator plants both).
    for la, period in (("342", 202324), ("340", 202324)):
        statuses = [
            r["value_status"]
            for r in rows(
                published,
                """
            select value_status from marts.mart_school_outcomes
            where old_la_code = ? and time_period = ? and measure_code = 'ks2_rwm_expected'""",
                (la, period),
            )
        ]
        assert statuses.count("suppressed_secondary") >= 1, (la, period, statuses)


def test_causing_concern_list_matches_the_rules_worked_out_from_school_outcomes(published):
    outcomes = rows(
        published,
        """select urn, measure_code, time_period, value, england_value, polarity,
                                         previous_value, change, declining_two_years, below_national, is_headline
                                  from marts.mart_school_outcomes
                                  where is_headline and time_identifier = 'Academic year'""",
    )
    latest: dict[tuple, dict] = {}
    for r in outcomes:
        key = (r["urn"], r["measure_code"])
        if r["value"] is not None and (key not in latest or r["time_period"] > latest[key]["time_period"]):
            latest[key] = r
    expected = {urn for (urn, _), r in latest.items() if r["below_national"] and r["declining_two_years"]}
    listed = {
        r["urn"]
        for r in rows(
            published,
            """select urn from marts.mart_schools_causing_concern
                                                   where rule_id = 'results_below_and_declining'""",
        )
    }
    assert expected and listed == expected
    reasons = rows(
        published,
        """select c.reason, c.value, c.england_value, c.academic_year, m.polarity
                                 from marts.mart_schools_causing_concern c
                                 join marts.dim_measure m on m.measure_code = c.measure_code and m.breakdown = 'all'
                                 where c.rule_id = 'results_below_and_declining'""",
    )
    for r in reasons:
        worse = r["value"] < r["england_value"] if r["polarity"] == "high" else r["value"] > r["england_value"]
        assert worse and "England" in r["reason"] and r["academic_year"] in r["reason"], r


def _ofsted_snapshot(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_inspection_shares_match_the_ofsted_file(published):
    snapshot = _ofsted_snapshot(SAMPLE_LOCAL / "ofsted_inspections_2023_08_31.csv")
    st_helens_primary = [r for r in snapshot if r["Local authority"] == "St. Helens" and r["Ofsted phase"] == "Primary"]
    graded = [r for r in st_helens_primary if r["Overall effectiveness"] in ("1", "2", "3", "4")]
    good = [r for r in graded if r["Overall effectiveness"] in ("1", "2")]
    mart = rows(
        published,
        """select * from marts.mart_inspection_outcomes
                              where old_la_code = '342' and phase = 'Primary' and as_at = DATE '2023-08-31'""",
    )
    assert len(mart) == 1
    row = mart[0]
    assert row["schools"] == len(st_helens_primary)
    assert row["schools_with_judgement"] == len(graded)
    assert row["schools_good_or_outstanding"] == len(good)
    assert row["pct_schools_good_or_outstanding"] == pytest.approx(100 * len(good) / len(graded), abs=0.05)
    pupils = sum(int(r["Total number of pupils"]) for r in graded)
    pupils_good = sum(int(r["Total number of pupils"]) for r in good)
    assert row["pct_pupils_good_or_outstanding"] == pytest.approx(100 * pupils_good / pupils, abs=0.05)

    # 2025: inspections since September 2024 have no single-word judgement, and say so.
    latest = _ofsted_snapshot(SAMPLE_LOCAL / "ofsted_inspections_2025_08_31.csv")
    not_judged = [
        r for r in latest if r["Local authority"] == "St. Helens" and r["Overall effectiveness"] == "Not judged"
    ]
    all_schools = rows(
        published,
        """select * from marts.mart_inspection_outcomes
                                     where old_la_code = '342' and phase = 'All schools' and as_at = DATE '2025-08-31'""",
    )
    assert all_schools[0]["schools_without_single_word_judgement"] == len(not_judged) > 0
    assert "September 2024" in all_schools[0]["note"]


def test_transition_view_pairs_ks2_with_ks4_five_years_later(published):
    pairs = rows(
        published,
        """select t.*, k2.value as k2, k4.value as k4
        from marts.mart_cohort_transition t
        left join marts.fct_la_measure k2 on k2.old_la_code = t.old_la_code and k2.measure_code = 'ks2_rwm_expected'
             and k2.breakdown = 'all' and k2.time_period = t.ks2_time_period
        left join marts.fct_la_measure k4 on k4.old_la_code = t.old_la_code and k4.measure_code = 'ks4_attainment8'
             and k4.breakdown = 'all' and k4.time_period = t.ks4_time_period
        where t.old_la_code = '342'""",
    )
    by_ks2 = {r["ks2_time_period"]: r for r in pairs}
    assert by_ks2[201819]["ks4_time_period"] == 202324
    for r in pairs:
        assert r["ks4_time_period"] == r["ks2_time_period"] + 505
        assert r["ks2_rwm_expected_value"] == r["k2"]
        assert r["ks4_attainment8_value"] == r["k4"]
