"""Backtest: the school-level ingest (sources.yml ``local:``) on REAL DfE performance tables.

../shared/data/performance_tables holds DfE's "compare school performance" downloads for
Hampshire (LA 850) and Surrey (LA 936): KS2 2016/17-2018/19 and KS4 2016/17-2018/19 (no Hampshire
KS4 for 2018/19). They are read where they are, never copied into the repo: a temporary folder gets
a sources.yml pointing at them, schema files and a school register, and the real ingest
(:func:`orchestration.lib.ingest.load.ingest`) loads them into a temporary DuckDB. The test then checks,
against the files' own figures read independently with the csv module:

1. every school row (RECTYPE 1 mainstream, 2 special) is loaded and the LA and national rows are
   left out by ``include_rows``;
2. cells load exactly as written (``66%``, ``SUPP``, ``NE``, ``NP``, ``LOWCOV``, ``NA``) and pass the
   blocking raw gates (raw_local_schools, raw_local_school_values);
3. the cohort-weighted mean of the loaded school values reproduces DfE's LA row (KS2 RECTYPE 3,
   KS4 RECTYPE 4) within a bound derived from the unpublished share of the cohort and rounding;
4. DfE's own small-number suppression (``SUPP``) is withheld by our default EDU_SCHOOL_MIN_COHORT
   too, and DfE's rule is pinned down exactly (SUPP iff 1 <= cohort <= 5).

There is no GIAS extract beside the files, so the register is written in the temporary folder from
the school rows of the same files (URN, LEA, SCHNAME; phase from which key stage lists the school).
It is derived data and lives only in tmp.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.lib import gates
from orchestration.lib.ingest.load import ingest
from orchestration.lib.ingest.local_datasets import DEFAULT_MISSING_VALUES
from orchestration.lib.settings import load_settings
from tests.conftest import REPO_ROOT, SHARED

pytestmark = [pytest.mark.backtest, pytest.mark.slow]

PERFORMANCE_TABLES = SHARED / "data" / "performance_tables"
# DfE's statistical neighbour model as bundled with the repo (it lists 850 and 936): loading it
# lets the register gate check la_code against real LA numbers, not just their 3-digit form.
SN_MODEL = REPO_ROOT / "raw" / "sample" / "statistical_neighbours" / "sn_model_wide.csv"
SCHOOL_RECTYPES = ("1", "2")
LA_RECTYPE = {"ks2": "3", "ks4": "4"}
# Independent and non-maintained special schools are in the KS4 files but not in DfE's LA figure
# (state-funded schools only); the school-row cohorts of the rest add up to the LA row's.
NOT_STATE_FUNDED = {"IND", "INDSPEC", "NMSS"}
# Codes that mean "not published at source" seen in the columns loaded below.
SOURCE_CODES = {"SUPP", "NE", "NP", "LOWCOV", "NA"}

# (code, file column, cohort column, lower bound, upper bound, reproduce the LA row?)
# The LA check uses measures whose denominator IS the cohort column: KS2 percentages are of
# eligible pupils (TELIG), KS4 Attainment 8 and percentages of pupils at the end of KS4 (TPUP).
# Progress 8 is averaged over P8PUP pupils and has no natural bounds, so it is loaded (it carries
# the NP code, and SUPP/NE in its cohort column) but not compared with the LA row.
KS2_MEASURES = [
    ("ks2_rwm_expected", "PTRWM_EXP", "TELIG", 0, 100, True),
    ("ks2_rwm_higher", "PTRWM_HIGH", "TELIG", 0, 100, True),
    ("ks2_reading_expected", "PTREAD_EXP", "TELIG", 0, 100, True),
    ("ks2_maths_expected", "PTMAT_EXP", "TELIG", 0, 100, True),
    ("ks2_local_reading_progress", "READPROG", "TELIG", None, None, False),  # LOWCOV, NA
]
KS4_MEASURES = [
    ("ks4_attainment8", "ATT8SCR", "TPUP", 0, 90, True),
    ("ks4_em_94", "PTL2BASICS_94", "TPUP", 0, 100, True),
    ("ks4_em_95", "PTL2BASICS_95", "TPUP", 0, 100, True),
    ("ks4_ebacc_entry", "PTEBACC_E_PTQ_EE", "TPUP", 0, 100, True),
    ("ks4_progress8", "P8MEA", "P8PUP", None, None, False),
]
MEASURES = {"ks2": KS2_MEASURES, "ks4": KS4_MEASURES}


@dataclass(frozen=True)
class SourceFile:
    stage: str  # ks2 | ks4
    path: Path
    la_code: str
    period: str  # 2016/17

    @property
    def label(self) -> str:
        return f"{self.stage.upper()} {self.la_code} {self.period}"


def performance_files() -> list[SourceFile]:
    """The downloads, or skip cleanly when ../shared is not beside the repo."""
    if not PERFORMANCE_TABLES.is_dir():
        pytest.skip(f"real DfE performance tables not available: {PERFORMANCE_TABLES}")
    files = []
    # KS2 names carry the academic year's start ("2016" = 2016/17, PROVENANCE.md section 4);
    # KS4 names carry both years.
    for path in sorted((PERFORMANCE_TABLES / "ks2").glob("*-ks2.csv")):
        start, la, _ = path.name.split("-")
        files.append(SourceFile("ks2", path, la, f"{start}/{(int(start) + 1) % 100:02d}"))
    for path in sorted((PERFORMANCE_TABLES / "ks4").glob("*_ks4final.csv")):
        years, la, _ = path.name.split("_")
        start = years.split("-")[0]
        files.append(SourceFile("ks4", path, la, f"{start}/{(int(start) + 1) % 100:02d}"))
    if not files:
        pytest.skip(f"no performance-table CSVs under {PERFORMANCE_TABLES}")
    return files


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, row) as DfE wrote it; read with the csv module, independently of the ingest. Rows
    shorter than the header (schools with no results stop after the address columns) read as
    blank cells, as a spreadsheet shows them."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = []
        for cells in reader:
            if any(c.strip() for c in cells):
                cells = cells + [""] * (len(header) - len(cells))
                rows.append((reader.line_num, {h: c.strip() for h, c in zip(header, cells)}))
    return rows


def number(cell: str | None) -> float | None:
    try:
        return float((cell or "").strip().rstrip("%"))
    except ValueError:
        return None


def decimals(cell: str) -> int:
    """Decimal places a figure was published to: '68.30%' -> 2, '47' -> 0."""
    text = cell.strip().rstrip("%")
    return len(text.split(".")[1]) if "." in text else 0


def measures_schema(stage: str, phase: str) -> str:
    lines = [
        "kind: school_measures",
        f"description: {stage.upper()} results by school, DfE performance tables (backtest)",
        f"phase: {phase}",
        # Only school rows: DfE's LA and national rows have no URN and are not schools.
        'include_rows: {RECTYPE: ["1", "2"]}',
        # No missing_values: the default list must already cover every code DfE writes.
        "columns: {urn: URN, la_code: LEA, school_name: SCHNAME}",
        "measures:",
    ]
    for code, column, cohort, low, high, _ in MEASURES[stage]:
        lines += [f"  - code: {code}", f"    value_column: {column}", f"    cohort_column: {cohort}"]
        if code == "ks2_local_reading_progress":
            lines += ["    label: KS2 reading progress score", "    unit: average", "    polarity: high"]
        elif low is not None and high != 100:  # percentages take the catalogue's unit: percent, 0-100
            lines += ["    unit: average", f"    min: {low}", f"    max: {high}"]
    return "\n".join(lines) + "\n"


def write_register(path: Path, files: list[SourceFile]) -> None:
    """The school register, built from the school rows of the files themselves: every URN once,
    its LA and latest name; phase from the key stages it reports (both = all-through)."""
    schools: dict[str, dict[str, str]] = {}
    stages: dict[str, set[str]] = defaultdict(set)
    for source in sorted(files, key=lambda f: f.period):
        for _, row in read_rows(source.path):
            if row["RECTYPE"] in SCHOOL_RECTYPES:
                schools[row["URN"]] = {"URN": row["URN"], "LEA": row["LEA"], "SCHNAME": row["SCHNAME"]}
                stages[row["URN"]].add(source.stage)
    phase = {frozenset({"ks2"}): "Primary", frozenset({"ks4"}): "Secondary", frozenset({"ks2", "ks4"}): "All-through"}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["URN", "LEA", "SCHNAME", "Phase"])
        writer.writeheader()
        for urn in sorted(schools):
            writer.writerow({**schools[urn], "Phase": phase[frozenset(stages[urn])]})


def school_min_cohort_default() -> int:
    """The default threshold as the dbt models read it (one place: the school_disclosure macro)."""
    macro = (REPO_ROOT / "dbt_project" / "macros" / "school_disclosure.sql").read_text(encoding="utf-8")
    match = re.search(r"env_var\('EDU_SCHOOL_MIN_COHORT',\s*'(\d+)'\)", macro)
    assert match, "school_min_cohort() no longer reads EDU_SCHOOL_MIN_COHORT with a default"
    return int(match.group(1))


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    files = performance_files()
    folder = tmp_path_factory.mktemp("performance_tables")
    write_register(folder / "schools.csv", files)
    (folder / "schools.schema.yml").write_text(
        "kind: school_register\ncolumns: {urn: URN, la_code: LEA, school_name: SCHNAME, phase: Phase}\n",
        encoding="utf-8",
    )
    (folder / "ks2.schema.yml").write_text(measures_schema("ks2", "primary"), encoding="utf-8")
    (folder / "ks4.schema.yml").write_text(measures_schema("ks4", "secondary"), encoding="utf-8")
    entries = {
        stage: "".join(f"      - {{path: '{f.path}', period: '{f.period}'}}\n" for f in files if f.stage == stage)
        for stage in ("ks2", "ks4")
    }
    (folder / "sources.yml").write_text(
        f"datasets:\n  statistical_neighbours: {{files: ['{SN_MODEL}']}}\n"
        "local:\n"
        "  schools: {schema: schools.schema.yml, files: [schools.csv]}\n"
        f"  school_ks2:\n    schema: ks2.schema.yml\n    files:\n{entries['ks2']}"
        f"  school_ks4:\n    schema: ks4.schema.yml\n    files:\n{entries['ks4']}",
        encoding="utf-8",
    )
    database = folder / "build.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDU_SOURCES", str(folder / "sources.yml"))
        patch.setenv("EDU_WAREHOUSE_DIR", str(folder / "warehouse"))
        patch.setenv("EDU_LANDING_DIR", str(folder / "landing"))
        patch.delenv("EDU_MAX_ROWS_PER_FILE", raising=False)
        results = {r.dataset: r for r in ingest(load_settings(), database)}
    with duckdb.connect(str(database), read_only=True) as con:
        values = con.execute(
            "SELECT dataset, _source_file, _row_number, urn, la_code, school_name, time_period, measure_code, "
            "source_column, value, cohort FROM raw.local_school_values ORDER BY _source_file, _row_number, measure_code"
        ).fetchall()
        gate_results = {
            t: gates.validate(f"raw_{t}", gates.raw_local_frame(con, t))
            for t in ("local_schools", "local_school_values")
        }
    loaded: dict[str, list[dict]] = defaultdict(list)
    keys = (
        "dataset",
        "source_file",
        "line",
        "urn",
        "la_code",
        "school_name",
        "time_period",
        "measure_code",
        "source_column",
        "value",
        "cohort",
    )
    for row in values:
        record = dict(zip(keys, row))
        loaded[record["source_file"]].append(record)
    return {
        "files": files,
        "results": results,
        "loaded": loaded,
        "gates": gate_results,
        "rows": {str(f.path): read_rows(f.path) for f in files},
    }


# --- 1. every school row, and only school rows -----------------------------------------------------


def test_every_school_row_is_loaded_and_la_and_national_rows_are_not(backtest):
    for source in backtest["files"]:
        rows = backtest["rows"][str(source.path)]
        school_lines = {line for line, row in rows if row["RECTYPE"] in SCHOOL_RECTYPES}
        other = {line: row["RECTYPE"] for line, row in rows if row["RECTYPE"] not in SCHOOL_RECTYPES}
        loaded = backtest["loaded"][str(source.path)]
        by_line = Counter(r["line"] for r in loaded)
        # One raw row per school row x declared measure, and nothing else.
        assert set(by_line) == school_lines, source.label
        assert set(by_line.values()) == {len(MEASURES[source.stage])}, source.label
        assert not set(other) & set(by_line), f"{source.label}: LA/national lines loaded"
        # The files hold an LA row and the national rows, all left out (PROVENANCE.md section 4).
        expected_other = {"ks2": ["3", "4", "5"], "ks4": ["4", "5", "7"]}[source.stage]
        assert sorted(other.values()) == expected_other, source.label
        assert all(r["urn"] and r["la_code"] == source.la_code for r in loaded), source.label
        # The per-file period: (2016/17) read as the academic year 201617.
        assert {r["time_period"] for r in loaded} == {source.period.replace("/", "")}, source.label
    # Row totals as the ingest reports them: school rows x measures, over all files.
    expected = sum(
        len(MEASURES[f.stage]) * sum(1 for _, row in backtest["rows"][str(f.path)] if row["RECTYPE"] in SCHOOL_RECTYPES)
        for f in backtest["files"]
    )
    assert backtest["results"]["local_school_values"].row_count == expected


# --- 2. cells as written, through the raw gates ---------------------------------------------------


def test_cells_load_as_written_and_pass_the_raw_gates(backtest):
    seen_codes: Counter = Counter()
    percent_cells: Counter = Counter()
    for source in backtest["files"]:
        rows = dict(backtest["rows"][str(source.path)])
        columns = {code: (column, cohort) for code, column, cohort, *_ in MEASURES[source.stage]}
        for record in backtest["loaded"][str(source.path)]:
            row = rows[record["line"]]
            column, cohort = columns[record["measure_code"]]
            assert record["source_column"] == column
            assert (record["urn"], record["school_name"]) == (row["URN"], row["SCHNAME"])
            # Exactly the file's text: '66%', '68.30%', '-0.12', 'SUPP', 'NE', 'NP', 'LOWCOV', blank.
            assert (record["value"], record["cohort"]) == (row[column], row[cohort]), (
                source.label,
                record["line"],
                column,
            )
            if record["value"].endswith("%"):
                percent_cells[source.label] += 1
            elif record["value"] and number(record["value"]) is None:
                seen_codes[record["value"]] += 1
            if record["cohort"] and number(record["cohort"]) is None:
                seen_codes[record["cohort"]] += 1
    # Every file's percentages arrive with their % sign (none lost to a numeric read).
    assert set(percent_cells) == {f.label for f in backtest["files"]} and min(percent_cells.values()) > 300, (
        percent_cells
    )
    # The real files exercise every code the brief names, and the schema's default list covers all.
    assert set(seen_codes) == SOURCE_CODES, seen_codes
    assert set(DEFAULT_MISSING_VALUES) >= SOURCE_CODES
    for _table, result in backtest["gates"].items():
        assert result.passed, result.summary()


# --- 3. the LA row from the school rows -----------------------------------------------------------


def la_reconstruction(source: SourceFile, rows: list[tuple[int, dict]], loaded: list[dict], measure: tuple) -> dict:
    """DfE's LA figure against the cohort-weighted mean of the published school values.

    Bound. The LA value V is the mean over its N pupils. The loaded schools with a published
    value cover n_pub of them, with weighted mean m; the other N - n_pub pupils (schools
    suppressed, not entered, or counted in the LA but in no school row) have values somewhere in
    the measure's range [lo, hi]. So V - m lies within s * max(m - lo, hi - m), s = (N - n_pub) / N,
    widened by |sum of school cohorts - N| / N for pupils a school row counts but the LA does not.
    Rounding adds the LA figure's half unit (exact) and the school values' rounding, whose
    cohort-weighted mean is a sum of independent uniform errors: 4 standard deviations
    (half unit / sqrt(3) x sqrt(sum n^2) / sum n) covers it.
    """
    code, column, cohort_column, low, high, _ = measure
    la_row = next(row for _, row in rows if row["RECTYPE"] == LA_RECTYPE[source.stage])
    funding = {row["URN"]: row["NFTYPE"] for _, row in rows if row["RECTYPE"] in SCHOOL_RECTYPES}
    state = [r for r in loaded if r["measure_code"] == code and funding[r["urn"]] not in NOT_STATE_FUNDED]
    published = [(number(r["value"]), number(r["cohort"])) for r in state if number(r["value"]) is not None]
    n_pub = sum(n for _, n in published)
    n_schools = sum(number(r["cohort"]) or 0 for r in state)
    la_value, la_cohort = number(la_row[column]), number(la_row[cohort_column])
    mean = sum(v * n for v, n in published) / n_pub
    unpublished = max(la_cohort - n_pub, 0) + abs(n_schools - la_cohort)
    share = unpublished / la_cohort
    school_half_unit = max(0.5 * 10 ** -decimals(r["value"]) for r in state if number(r["value"]) is not None)
    rounding_sd = school_half_unit / math.sqrt(3) * math.sqrt(sum(n * n for _, n in published)) / n_pub
    tolerance = share * max(mean - low, high - mean) + 0.5 * 10 ** -decimals(la_row[column]) + 4 * rounding_sd
    return {
        "file": source.label,
        "measure": code,
        "la_value": la_row[column],
        "school_mean": round(mean, 3),
        "gap": round(mean - la_value, 3),
        "tolerance": round(tolerance, 3),
        "unpublished_share_pct": round(100 * share, 3),
        "la_cohort": int(la_cohort),
        "school_cohort": int(n_schools),
        "published_cohort": int(n_pub),
    }


def test_school_values_reproduce_the_la_row(backtest):
    report = []
    for source in backtest["files"]:
        rows = backtest["rows"][str(source.path)]
        for measure in MEASURES[source.stage]:
            if measure[-1]:
                report.append(la_reconstruction(source, rows, backtest["loaded"][str(source.path)], measure))
    print("\nLA row vs cohort-weighted mean of published school values:")
    for item in report:
        print("  " + ", ".join(f"{k}={v}" for k, v in item.items()))
    outside = [item for item in report if abs(item["gap"]) > item["tolerance"]]
    assert not outside, outside
    by_key = {(item["file"], item["measure"]): item for item in report}
    # KS2: the school rows' TELIG adds up to the LA row's exactly (every pupil is in a school row).
    assert all(item["school_cohort"] == item["la_cohort"] for item in report if item["file"].startswith("KS2"))
    # The brief's example, Hampshire KS2 RWM 2018/19: 67.753 from 14,846 of 14,855 pupils vs DfE's 68%.
    hampshire = by_key[("KS2 850 2018/19", "ks2_rwm_expected")]
    assert (hampshire["la_value"], hampshire["school_mean"], hampshire["published_cohort"]) == ("68%", 67.753, 14846)
    # The largest gap seen is 0.613 (Surrey KS4 EBacc entry 2018/19, 0.9% of pupils unpublished):
    # well inside a percentage point, i.e. real agreement rather than a loose tolerance.
    assert max(abs(item["gap"]) for item in report) < 0.65


# --- 4. DfE's suppression against our default threshold -------------------------------------------


def test_dfe_suppression_is_withheld_by_our_default_threshold(backtest):
    minimum = school_min_cohort_default()
    suppressed: dict[str, Counter] = defaultdict(Counter)  # measure -> cohorts of its SUPP cells
    published_small: Counter = Counter()  # published by DfE, withheld by us (cohort below our minimum)
    for source in backtest["files"]:
        for record in backtest["loaded"][str(source.path)]:
            cohort = number(record["cohort"])
            if record["value"] == "SUPP":
                # Withheld by us too: the cohort is below our minimum, or unknown (a cohort cell
                # that is itself a code: P8PUP 'SUPP'/'NE'), which int_school_values_suppressed
                # also withholds.
                assert cohort is None or cohort < minimum, (source.label, record)
                suppressed[record["measure_code"]][cohort if cohort is None else int(cohort)] += 1
            elif number(record["value"]) is not None and cohort is not None and cohort < minimum:
                published_small[int(cohort)] += 1
            # DfE's rule, exactly, wherever the cohort column is the measure's own denominator: a
            # value about 1-5 pupils is SUPP, and from 6 pupils DfE publishes it (or writes NE, NP
            # or blank for other reasons). Reading progress is over the pupils with KS1 results,
            # a subset of TELIG the file does not count, so it is SUPP at TELIG up to 10.
            if cohort is not None and cohort >= 1 and record["measure_code"] != "ks2_local_reading_progress":
                assert (record["value"] == "SUPP") == (cohort <= 5), (source.label, record)
    print(
        f"\nSUPP cells by measure and cohort: { {m: dict(sorted(c.items(), key=str)) for m, c in suppressed.items()} }"
    )
    print(f"published by DfE but withheld at EDU_SCHOOL_MIN_COHORT={minimum}: {dict(sorted(published_small.items()))}")
    assert minimum == 11
    whole_cohort = {c for m, counts in suppressed.items() if m != "ks2_local_reading_progress" for c in counts}
    assert whole_cohort - {None} == {1, 2, 3, 4, 5}
    assert max(suppressed["ks2_local_reading_progress"]) <= 10
    # Our default is stricter than DfE's: it also withholds values DfE published about 6-10 pupils.
    assert published_small and set(published_small) <= set(range(6, minimum))
