"""Values worked out from a file's own totals (catalogue numerator_column / denominator_column):
a totals-only file publishes its ratios, and a file with no all-pupils row publishes the headline
from a complete partition (the registry's headline_partitions), marked in value_derivation.

The file is built from the bundled sample's KS4 2021/22 file in the layout of DfE's 2017/18
characteristics file (t_att8 and t_pupils per group, no avg_att8, no all-pupils row), with planted
cases: a suppressed part, a part with no row, a zero denominator, and the file's own (suppressed)
headline row beside a complete partition.
"""

from __future__ import annotations

import csv
import os
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from orchestration.lib import gates
from orchestration.lib.ingest.load import ingest
from orchestration.lib.settings import load_settings
from tests.conftest import REPO_ROOT
from tests.dbt_inline import run_dbt

SAMPLE = REPO_ROOT / "raw" / "sample"
# MISSING_PART is the Isles of Scilly: an LA missing from a headline only warns there (DfE often
# leaves it out), so the run still publishes
SUPPRESSED_PART, MISSING_PART, ZERO_PUPILS, OWN_HEADLINE, HALF_WAY = "342", "420", "343", "344", "341"


def rounded(numerator: float, denominator: float, places: int = 1) -> float:
    """Half away from zero on the exact quotient, as DfE publishes (Python's round works on the double)."""
    exact = Decimal(str(numerator)) / Decimal(str(denominator))
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _totals_only_file(path) -> dict[tuple[str, str], tuple[float, int]]:
    """Writes the file; returns (old_la_code, breakdown) -> (t_att8, t_pupils) as written."""
    with (SAMPLE / "ks4" / "ks4_la_2022_provisional.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    standard = list(rows[0])[: list(rows[0]).index("version") + 1]  # the sample's area and period columns
    written, totals = [], {}
    for row in rows:
        if row["sex"] != "Total":
            continue
        group = {"Disadvantaged": "disadvantaged", "Not disadvantaged": "disadvantaged_Total_other"}.get(
            row["breakdown"]
        )
        code = row["old_la_code"]
        if group is None and code != OWN_HEADLINE:
            continue  # like DfE's file: no all-pupils row
        try:  # the sample withholds some small groups ('c'): their totals are withheld too
            pupils, att8 = row["t_pupils"], str(round(float(row["avg_att8"]) * int(row["t_pupils"]), 1))
        except ValueError:
            pupils, att8 = row["t_pupils"], "c"
        out = {c: row[c] for c in standard}
        out.update(
            breakdown="Disadvantage" if group else "Total",
            characteristic_disadvantage=group or "Total",
            t_pupils=pupils,
            t_att8=att8,
        )
        if code == SUPPRESSED_PART and group == "disadvantaged_Total_other":
            out["t_att8"] = "c"
        if code == MISSING_PART and group == "disadvantaged":
            continue
        if code == ZERO_PUPILS and group == "disadvantaged":
            out["t_pupils"], out["t_att8"] = "0", "0"
        if code == OWN_HEADLINE and group is None:
            out["t_att8"] = "c"
        if code == HALF_WAY and group == "disadvantaged":
            out["t_pupils"], out["t_att8"] = "20", "23"  # 1.15 exactly; the double 23 / 20 is 1.1499999...
        if out["t_att8"] != "c":
            totals[(code, group or "all")] = (float(out["t_att8"]), int(out["t_pupils"]))
        written.append(out)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(written[0]))
        writer.writeheader()
        writer.writerows(written)
    return totals


@pytest.fixture(scope="module")
def derived_run(tmp_path_factory):
    """The file ingested as a run ingests it (the library the ingest asset calls), its raw gate
    judged, then dbt builds and tests everything up to fct_la_measure (the derived values' bounds
    test among them): what a run would publish, without a second whole pipeline run in the fast
    tier (the sample publication is its one)."""
    workdir = tmp_path_factory.mktemp("derived")
    totals = _totals_only_file(workdir / "ks4_totals_only.csv")
    sources = workdir / "sources.yml"
    sources.write_text(
        "datasets:\n"
        f"  ks4:\n    files: [{workdir / 'ks4_totals_only.csv'}]\n"
        f"  statistical_neighbours:\n    files: [{SAMPLE / 'statistical_neighbours' / 'sn_model_wide.csv'}]\n",
        encoding="utf-8",
    )
    db = workdir / "build.duckdb"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EDU_SOURCES", str(sources))
        env.setenv("EDU_WAREHOUSE_DIR", str(workdir / "warehouse"))
        env.setenv("EDU_LANDING_DIR", str(workdir / "landing"))
        env.setenv("EDU_SOURCE_DIRS", os.pathsep.join([str(workdir), str(SAMPLE)]))
        ingest(load_settings(), db)
    with duckdb.connect(str(db), read_only=True) as con:
        gate = gates.validate("raw_ks4", gates.raw_ees_frame(con, "ks4"))
    # the headline is worked out from the partitions: the missing part warns, nothing blocks
    assert gate.passed, gate.failures
    # only the tests whose every parent is built (a relationship test to an unbuilt mart is not)
    run_dbt("build", ["--select", "+fct_la_measure", "--indirect-selection", "cautious"], workdir, db)
    con = duckdb.connect(str(db), read_only=True)
    yield totals, con
    con.close()


def _row(con, code: str, breakdown: str):
    return con.execute(
        "SELECT value, value_status, value_derivation FROM marts.fct_la_measure "
        "WHERE measure_code = 'ks4_attainment8' AND breakdown = ? AND old_la_code = ?",
        [breakdown, code],
    ).fetchone()


def test_a_group_is_its_totals_ratio_and_says_so(derived_run):
    totals, con = derived_run
    att8, pupils = totals[("350", "disadvantaged")]
    assert _row(con, "350", "disadvantaged") == (
        rounded(att8, pupils),
        "published",
        "t_att8 / t_pupils of the same row",
    )


def test_the_headline_is_the_partitions_summed_totals(derived_run):
    totals, con = derived_run
    (a1, n1), (a2, n2) = totals[("350", "disadvantaged")], totals[("350", "disadvantaged_Total_other")]
    assert _row(con, "350", "all") == (
        rounded(a1 + a2, n1 + n2),
        "published",
        "sum of t_att8 / sum of t_pupils over disadvantaged + not_disadvantaged",
    )
    derivations = {r[0] for r in con.execute("SELECT DISTINCT value_derivation FROM marts.fct_la_measure").fetchall()}
    assert "published" not in derivations  # nothing in this file is the measure itself


def test_a_suppressed_part_keeps_the_headline_suppressed(derived_run):
    _, con = derived_run
    assert _row(con, SUPPRESSED_PART, "not_disadvantaged")[:2] == (None, "suppressed")
    value, status, _ = _row(con, SUPPRESSED_PART, "all")
    assert (value, status) == (None, "suppressed")  # the sum would reveal the withheld part


def test_a_partition_with_a_member_missing_makes_no_headline(derived_run):
    totals, con = derived_run
    att8, pupils = totals[(MISSING_PART, "disadvantaged_Total_other")]
    assert _row(con, MISSING_PART, "disadvantaged") is None
    # KS4's partitions need every member: with one missing, no headline is made up from the other
    assert _row(con, MISSING_PART, "all") is None
    assert _row(con, MISSING_PART, "not_disadvantaged")[:2] == (rounded(att8, pupils), "published")


def test_a_zero_denominator_has_no_value(derived_run):
    totals, con = derived_run
    assert _row(con, ZERO_PUPILS, "disadvantaged")[:2] == (None, "not_applicable")
    att8, pupils = totals[(ZERO_PUPILS, "disadvantaged_Total_other")]
    assert _row(con, ZERO_PUPILS, "all")[:2] == (rounded(att8, pupils), "published")


def test_the_files_own_headline_row_beats_the_partition_even_suppressed(derived_run):
    _, con = derived_run
    assert _row(con, OWN_HEADLINE, "all") == (None, "suppressed", "t_att8 / t_pupils of the same row")
    assert _row(con, OWN_HEADLINE, "disadvantaged")[1] == "published"


def test_a_derived_value_rounds_half_away_from_zero_on_the_exact_quotient(derived_run):
    _, con = derived_run
    assert _row(con, HALF_WAY, "disadvantaged")[:2] == (1.2, "published")
