"""The bundled sample release: reproducible from the generator, shaped like real DfE files."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from pathlib import Path

import pytest

from tools.sample_data.generator import DEFAULT_OUT, KS2_TARGETS, generate
from tools.sample_data.geography import (
    LOCAL_AUTHORITIES,
    REGIONS,
    la_by_old_code,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "raw" / "sample"
REAL_KS2 = REPO_ROOT.parent / "shared" / "reference" / "ees_real" / "ks2_la.csv"
# Directories the generator owns; other sample datasets may sit beside them.
GENERATED_DIRS = (
    "ks2",
    "ks4",
    "statistical_neighbours",
    "eyfs",
    "phonics",
    "ks1",
    "ks5",
    "age19",
    "absence",
    "exclusions",
    "neet",
    "ks4_destinations",
    "local",
)
EES_DIRS = tuple(d for d in GENERATED_DIRS if d not in ("statistical_neighbours", "local"))
HEADLINE = ("Total", "Total", "Total")
PUPIL_FILTERS = ["breakdown_topic", "breakdown", "sex"]
# folder -> (filter columns in file order, headline value of each)
DATASET_FILTERS = {
    "ks2": (PUPIL_FILTERS, ["Total"] * 3),
    "ks4": (PUPIL_FILTERS, ["Total"] * 3),
    "eyfs": (PUPIL_FILTERS, ["Total"] * 3),
    "phonics": (PUPIL_FILTERS, ["Total"] * 3),
    "ks1": (PUPIL_FILTERS, ["Total"] * 3),
    "ks5": (PUPIL_FILTERS, ["Total"] * 3),
    "age19": (["breakdown_topic", "breakdown"], ["Total", "Total"]),
    "absence": (["school_type"], ["Total"]),
    "exclusions": (["school_type"], ["Total"]),
    "neet": (["Age"], ["16-17"]),
    "ks4_destinations": (
        ["institution_group", "institution_type", "breakdown_topic", "breakdown", "data_type"],
        ["State-funded mainstream schools", "Total", "Total", "Total", "Percentage"],
    ),
}
STANDARD = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "la_name",
    "new_la_code",
    "version",
]
# Columns named "rate" that are percentages (the age-19 attainment rates); the exclusion "rates"
# are per 100 pupils and carry no % unit.
PERCENT_RATES = {"l2_with_em_by19_rate", "l3_by19_rate", "l2_by19_rate", "l2_em_by19_belowat16_rate"}
PUBLISHED_KS2_RWM = {
    "201516": 53,
    "201617": 61,
    "201718": 64,
    "201819": 65,
    "202122": 59,
    "202223": 60,
    "202324": 61,
    "202425": 62,
}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _filters(row: dict[str, str]) -> tuple[str, str, str]:
    return row["breakdown_topic"], row["breakdown"], row["sex"]


@pytest.fixture(scope="module")
def ks2() -> list[dict[str, str]]:
    return _read(SAMPLE_DIR / "ks2" / "ks2_la_timeseries.csv")


def test_default_output_is_the_committed_sample():
    assert DEFAULT_OUT == SAMPLE_DIR


def test_generator_reproduces_committed_files(tmp_path):
    written = generate(tmp_path)
    generated = {p.relative_to(tmp_path).as_posix() for p in written}
    committed = {
        p.relative_to(SAMPLE_DIR).as_posix() for d in GENERATED_DIRS for p in (SAMPLE_DIR / d).rglob("*") if p.is_file()
    }
    assert committed, "raw/sample is empty: run python -m tools.sample_data.generator"
    assert committed - generated == set(), "committed sample files the generator no longer writes"
    assert generated - committed == set(), "generated files missing from raw/sample"
    for name in sorted(generated):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name
        assert (tmp_path / name).stat().st_size < 3_000_000, name


def test_files_are_plain_utf8_with_unix_newlines():
    for d in GENERATED_DIRS:
        for path in (SAMPLE_DIR / d).rglob("*.csv"):
            data = path.read_bytes()
            assert not data.startswith(b"\xef\xbb\xbf"), path
            assert b"\r" not in data, path
            data.decode("utf-8")


def test_geography_list_is_complete():
    assert len(LOCAL_AUTHORITIES) == 153
    assert len({la.old_code for la in LOCAL_AUTHORITIES}) == 153
    assert len({la.new_code for la in LOCAL_AUTHORITIES}) == 153
    assert [r.code for r in REGIONS] == [f"E1200000{i}" for i in range(1, 10)]
    assert la_by_old_code("342").name == "St. Helens"
    assert {la.new_code[:3] for la in LOCAL_AUTHORITIES} == {"E06", "E08", "E09", "E10"}


# Files split by a filter that has no all-rows value, as DfE's are (one row per area of learning,
# per qualification type): file -> (that filter, its values)
SPLIT_FILES = {
    "eyfs/eyfs_la_areas_of_learning.csv": (
        "area_of_learning",
        [
            "Communication and language",
            "Personal, social and emotional development",
            "Physical development",
            "Literacy",
            "Mathematics",
            "Understanding the world",
            "Expressive arts and design",
        ],
    ),
    "ks5/ks5_vocational_la_timeseries.csv": ("exam_cohort", ["Applied general", "Tech level"]),
}


def _data_files() -> list[Path]:
    """The sample's EES files with the headline layout of their folder (DATASET_FILTERS)."""
    return sorted(
        p
        for d in EES_DIRS
        for p in (SAMPLE_DIR / d).glob("*.csv")
        if not p.name.endswith(".meta.csv") and f"{d}/{p.name}" not in SPLIT_FILES
    )


def _headline(rows: list[dict[str, str]], dataset: str) -> list[dict[str, str]]:
    columns, values = DATASET_FILTERS[dataset]
    return [r for r in rows if [r[c] for c in columns] == values]


def _national(dataset: str, relative: str, column: str) -> dict[str, str]:
    rows = _headline(_read(SAMPLE_DIR / relative), dataset)
    return {r["time_period"]: r[column] for r in rows if r["geographic_level"] == "National"}


def test_every_dataset_has_files():
    assert {p.parent.name for p in _data_files()} == set(DATASET_FILTERS)


def test_headline_row_unique_per_la_and_year():
    for file in _data_files():
        rows = [r for r in _read(file) if r["geographic_level"] == "Local authority"]
        headline = Counter((r["time_period"], r["new_la_code"]) for r in _headline(rows, file.parent.name))
        years = {r["time_period"] for r in rows}
        assert len(headline) == len(years) * len(LOCAL_AUTHORITIES), file.name
        assert set(headline.values()) == {1}, file.name
        # every row is one area, year and filter combination
        columns, _ = DATASET_FILTERS[file.parent.name]
        keys = Counter((r["time_period"], r["new_la_code"], *(r[c] for c in columns)) for r in rows)
        assert set(keys.values()) == {1}, file.name


def test_standard_columns_and_meta():
    for file in _data_files():
        header = list(_read(file)[0].keys())
        filters, _ = DATASET_FILTERS[file.parent.name]
        assert header[: 11 + len(filters)] == STANDARD + filters, file.name
        meta = _read(file.with_name(file.name.removesuffix(".csv") + ".meta.csv"))
        assert [m["col_name"] for m in meta] == header[10:], file.name
        types = {m["col_name"]: m["col_type"] for m in meta}
        assert [c for c in header if types.get(c) == "Filter"] == ["version", *filters], file.name
        for m in meta:
            if m["col_type"] == "Indicator":
                name = m["col_name"]
                is_pct = "percent" in name.lower() or name.startswith("pt_") or name in PERCENT_RATES
                assert m["indicator_unit"] == ("%" if is_pct else ""), m


def test_every_area_is_published():
    london = {la.old_code: la.sub_region.code for la in LOCAL_AUTHORITIES if la.sub_region}
    for file in _data_files():
        rows = _read(file)
        assert {r["geographic_level"] for r in rows} == {"National", "Regional", "Local authority"}
        regional = {r["region_code"] for r in rows if r["geographic_level"] == "Regional"}
        assert regional == {r.code for r in REGIONS} | {"E13000001", "E13000002"}, file.name
        las = {(r["old_la_code"], r["region_code"]) for r in rows if r["geographic_level"] == "Local authority"}
        assert len(las) == 153, file.name
        for code, region in las:
            assert region == london.get(code, la_by_old_code(code).region.code), (file.name, code)


def test_london_las_sit_under_inner_or_outer_london(ks2):
    london = {la.old_code: la.sub_region.code for la in LOCAL_AUTHORITIES if la.sub_region}
    assert len(london) == 33
    for row in ks2:
        if row["geographic_level"] != "Local authority":
            continue
        la = la_by_old_code(row["old_la_code"])
        if row["old_la_code"] in london:
            assert row["region_code"] == london[row["old_la_code"]]
            assert row["region_name"] in ("Inner London", "Outer London")
        else:
            assert row["region_code"] == la.region.code
    regional = {r["region_code"] for r in ks2 if r["geographic_level"] == "Regional"}
    assert regional == {r.code for r in REGIONS} | {"E13000001", "E13000002"}


def test_ks2_cancelled_years_are_present_and_all_x(ks2):
    indicators = [c for c in ks2[0] if c.startswith(("pt_", "t_"))]
    cancelled = [r for r in ks2 if r["time_period"] in ("201920", "202021")]
    assert len(cancelled) == 2 * (1 + 11 + 153) * 7
    assert {r[c] for r in cancelled for c in indicators} == {"x"}
    published = [r for r in ks2 if r["time_period"] not in ("201920", "202021")]
    assert "x" not in {r[c] for r in published for c in indicators}


def test_ks2_versions(ks2):
    versions = {(r["time_period"], r["version"]) for r in ks2}
    assert versions == {(y, "Revised" if y == "202425" else "Final") for y in KS2_TARGETS}


def test_national_rwm_matches_published_levels(ks2):
    national = {
        r["time_period"]: r["pt_rwm_met_expected_standard"]
        for r in ks2
        if r["geographic_level"] == "National" and _filters(r) == HEADLINE
    }
    for year, published in PUBLISHED_KS2_RWM.items():
        assert abs(int(national[year]) - published) <= 1, year


def test_national_is_the_sum_of_its_las(ks2):
    for year in ("201516", "202425"):
        rows = [r for r in ks2 if r["time_period"] == year and _filters(r) == HEADLINE]
        national = next(r for r in rows if r["geographic_level"] == "National")
        las = [r for r in rows if r["geographic_level"] == "Local authority"]
        assert int(national["t_rwm_eligible_pupils"]) == sum(int(r["t_rwm_eligible_pupils"]) for r in las)


def test_disadvantaged_gap_is_realistic(ks2):
    national = {
        (r["time_period"], r["breakdown"]): int(r["pt_rwm_met_expected_standard"])
        for r in ks2
        if r["geographic_level"] == "National" and r["sex"] == "Total" and r["time_period"] == "201819"
    }
    gap = national[("201819", "Not disadvantaged")] - national[("201819", "Disadvantaged")]
    assert 16 <= gap <= 24


def test_provisional_st_helens_is_final_minus_one(ks2):
    def st_helens(rows):
        return next(
            r for r in rows if r["old_la_code"] == "342" and r["time_period"] == "202122" and _filters(r) == HEADLINE
        )

    provisional_rows = _read(SAMPLE_DIR / "ks2" / "ks2_la_2022_provisional.csv")
    assert {r["version"] for r in provisional_rows} == {"Provisional"}
    assert {r["time_period"] for r in provisional_rows} == {"202122"}
    final = int(st_helens(ks2)["pt_rwm_met_expected_standard"])
    provisional = int(st_helens(provisional_rows)["pt_rwm_met_expected_standard"])
    assert provisional == final - 1


def test_suppression_symbols(ks2):
    city_disadvantaged = [
        r
        for r in ks2
        if r["old_la_code"] == "201"
        and r["breakdown"] == "Disadvantaged"
        and r["time_period"] not in ("201920", "202021")
    ]
    assert city_disadvantaged and {r["pt_rwm_met_expected_standard"] for r in city_disadvantaged} == {"c"}
    scilly_higher = {r["pt_rwm_met_higher_standard"] for r in ks2 if r["old_la_code"] == "420"}
    assert "low" in scilly_higher
    ks4 = _read(SAMPLE_DIR / "ks4" / "ks4_la_timeseries.csv")
    assert {r["avg_p8score"] for r in ks4 if r["time_period"] in ("201920", "202021")} == {"x"}
    assert {r["pt_l2basics_95"] for r in ks4 if r["time_period"] == "201516"} == {"z"}
    ks4_2025 = _read(SAMPLE_DIR / "ks4" / "ks4_la_2025.csv")
    assert {r["progress8_average"] for r in ks4_2025} == {"z"}
    assert {r["version"] for r in ks4_2025} == {"Revised"}


def test_statistical_neighbours_wide_layout():
    rows = _read(SAMPLE_DIR / "statistical_neighbours" / "sn_model_wide.csv")
    header = list(rows[0].keys())
    assert header[:4] == ["old_la_code", "la_name", "region_ind", "region_name"]
    assert header[4:] == [c for k in range(1, 11) for c in (f"SN_{k}", f"SN_{k}P")]
    assert {r["old_la_code"] for r in rows} == {la.old_code for la in LOCAL_AUTHORITIES}
    labels = ["Extremely close", "Very close", "Close", "Somewhat close", "Not close"]
    for row in rows:
        neighbours = [row[f"SN_{k}"] for k in range(1, 11)]
        assert len(set(neighbours)) == 10 and row["old_la_code"] not in neighbours
        closeness = [labels.index(row[f"SN_{k}P"]) for k in range(1, 11)]
        assert closeness == sorted(closeness)
        la = la_by_old_code(row["old_la_code"])
        assert row["region_ind"] == str(la.region.ind) and row["region_name"] == la.region.name


@pytest.mark.backtest
def test_geography_matches_real_dfe_file():
    if not REAL_KS2.exists():
        pytest.skip(f"reference file absent: {REAL_KS2}")
    real = {}
    for row in _read(REAL_KS2):
        if row["time_period"] == "202425" and row["geographic_level"] == "Local authority":
            real.setdefault(row["old_la_code"], set()).add(
                (row["new_la_code"], row["la_name"], row["region_code"], row["region_name"])
            )
    ours = {
        la.old_code: (la.new_code, la.name, la.reporting_region_code, la.reporting_region_name)
        for la in LOCAL_AUTHORITIES
    }
    assert set(real) == set(ours)
    mismatches = {code: (ours[code], sorted(real[code])) for code in ours if real[code] != {ours[code]}}
    assert mismatches == {}


# ---------------------------------------------------------------------------------------------
# The datasets beyond KS2/KS4

# (dataset, file, column) -> England figure by period, from DfE's publications (LAIT); the
# sample lands within 1.5 points (0.02 for two-decimal rates) of each.
PUBLISHED_ENGLAND = {
    ("eyfs", "eyfs/eyfs_la_timeseries.csv", "gld_percentage"): {
        "201516": 69.3,
        "201617": 70.7,
        "201718": 71.5,
        "201819": 71.8,
        "202122": 65.2,
        "202223": 67.2,
        "202324": 67.7,
        "202425": 68.3,
    },
    ("eyfs", "eyfs/eyfs_la_timeseries.csv", "elg_percentage"): {
        "201516": 67.3,
        "201819": 70.7,
        "202122": 63.4,
        "202425": 66.9,
    },
    ("phonics", "phonics/phonics_la_timeseries.csv", "pt_phonics_y1_met_expected_standard"): {
        "201516": 81,
        "201617": 81,
        "201718": 82,
        "201819": 82,
        "202122": 75,
        "202223": 79,
        "202324": 79,
        "202425": 80,
    },
    ("ks1", "ks1/ks1_la_timeseries.csv", "pt_read_met_expected_standard"): {
        "201516": 74,
        "201617": 76,
        "201718": 75,
        "201819": 75,
        "202122": 67,
        "202223": 68,
    },
    ("ks1", "ks1/ks1_la_timeseries.csv", "pt_writ_met_expected_standard"): {
        "201516": 65,
        "201617": 68,
        "201718": 70,
        "201819": 69,
        "202122": 58,
        "202223": 60,
    },
    ("ks1", "ks1/ks1_la_timeseries.csv", "pt_mat_met_expected_standard"): {
        "201516": 73,
        "201617": 75,
        "201718": 76,
        "201819": 76,
        "202122": 68,
        "202223": 70,
    },
    ("ks5", "ks5/ks5_la_timeseries.csv", "aps_per_entry"): {
        "201516": 30.44,
        "201617": 31.13,
        "201718": 32.12,
        "201819": 32.87,
        "201920": 38.55,
        "202021": 40.46,
        "202122": 37.86,
        "202223": 34.16,
        "202324": 34.38,
        "202425": 34.99,
    },
    ("ks5", "ks5/ks5_la_timeseries.csv", "aab_percent"): {
        "201819": 18.4,
        "201920": 30.4,
        "202021": 37.6,
        "202122": 31.4,
        "202425": 24.3,
    },
    ("ks5", "ks5/ks5_la_timeseries.csv", "three_a_percent"): {
        "201819": 10.8,
        "201920": 19.9,
        "202021": 25.3,
        "202122": 20.3,
        "202425": 14.9,
    },
    ("age19", "age19/level_2_3_at_19_la.csv", "l2_with_em_by19_rate"): {
        "201516": 68.9,
        "201819": 68.9,
        "202122": 72.1,
        "202223": 75.8,
        "202324": 73.8,
    },
    ("age19", "age19/level_2_3_at_19_la.csv", "l3_by19_rate"): {
        "201516": 57.1,
        "201819": 57.2,
        "202122": 60.1,
        "202223": 59.2,
        "202324": 57.6,
    },
    ("absence", "absence/absence_la_timeseries.csv", "sess_overall_percent"): {
        "201516": 4.6,
        "201617": 4.7,
        "201718": 4.8,
        "201819": 4.7,
        "202021": 4.6,
        "202122": 7.6,
        "202223": 7.4,
        "202324": 7.1,
        "202425": 6.9,
    },
    ("absence", "absence/absence_la_timeseries.csv", "enrolments_pa_10_exact_percent"): {
        "201516": 10.5,
        "201819": 10.9,
        "202021": 12.1,
        "202122": 22.5,
        "202223": 22.3,
        "202324": 20.0,
        "202425": 18.5,
    },
    ("exclusions", "exclusions/exclusions_la_2016_to_2018.csv", "perm_excl_rate"): {
        "201516": 0.08,
        "201617": 0.10,
        "201718": 0.10,
    },
    ("exclusions", "exclusions/exclusions_la_2016_to_2018.csv", "fixed_excl_rate"): {
        "201516": 4.29,
        "201617": 4.76,
        "201718": 5.08,
    },
    ("exclusions", "exclusions/exclusions_la_timeseries.csv", "perm_excl_rate"): {
        "201819": 0.10,
        "201920": 0.06,
        "202021": 0.05,
        "202122": 0.08,
        "202223": 0.11,
        "202324": 0.13,
    },
    ("exclusions", "exclusions/exclusions_la_timeseries.csv", "susp_rate"): {
        "201819": 5.36,
        "201920": 3.76,
        "202021": 4.25,
        "202122": 6.91,
        "202223": 9.33,
        "202324": 10.90,
    },
    ("neet", "neet/neet_la_timeseries.csv", "NEET_percent"): {
        "2019": 2.6,
        "2020": 2.7,
        "2021": 2.8,
        "2022": 2.6,
        "2023": 2.8,
        "2024": 3.2,
        "2025": 3.4,
    },
    ("neet", "neet/neet_la_timeseries.csv", "NEET_not_known_percent"): {
        "2019": 5.5,
        "2020": 5.5,
        "2021": 5.5,
        "2022": 4.7,
        "2023": 5.2,
        "2024": 5.4,
        "2025": 5.6,
    },
}
# Count columns: national rows are the sum of their LAs.
COUNT_COLUMNS = {
    "eyfs/eyfs_la_timeseries.csv": "t_children",
    "phonics/phonics_la_timeseries.csv": "t_pupils",
    "ks1/ks1_la_timeseries.csv": "t_pupils",
    "ks5/ks5_la_timeseries.csv": "t_students",
    "age19/level_2_3_at_19_la.csv": "number_in_ss_cohort",
    "absence/absence_la_timeseries.csv": "t_enrolments",
    "exclusions/exclusions_la_timeseries.csv": "headcount",
    "neet/neet_la_timeseries.csv": "Cohort_DJFavg",
}
ACADEMIC_YEARS = ["201516", "201617", "201718", "201819", "201920", "202021", "202122", "202223", "202324", "202425"]
ROWS_PER_PERIOD = 1 + 11 + 153  # England, 9 regions + Inner/Outer London, LAs


@pytest.mark.parametrize(
    ("key", "published"),
    PUBLISHED_ENGLAND.items(),
    ids=[f"{relative}:{column}" for _, relative, column in PUBLISHED_ENGLAND],
)
def test_national_levels_match_published(key, published):
    dataset, relative, column = key
    national = _national(dataset, relative, column)
    for period, figure in published.items():
        value = national[period]
        tolerance = 0.02 if len(value.partition(".")[2]) == 2 else 1.5
        assert abs(float(value) - figure) <= tolerance, (column, period, value, figure)


@pytest.mark.parametrize("relative", sorted(COUNT_COLUMNS))
def test_national_counts_are_the_sum_of_their_las(relative):
    dataset = relative.split("/")[0]
    column = COUNT_COLUMNS[relative]
    rows = _headline(_read(SAMPLE_DIR / relative), dataset)
    for period in sorted({r["time_period"] for r in rows}):
        in_period = [r for r in rows if r["time_period"] == period]
        national = next(r for r in in_period if r["geographic_level"] == "National")
        if national[column] == "x":
            continue
        la_values = [r[column] for r in in_period if r["geographic_level"] == "Local authority"]
        # suppressed or not-applicable LAs are small enough not to move the check
        la_total = sum(int(v) for v in la_values if v.isdigit())
        assert la_total <= int(national[column]) <= la_total + 2_000, (relative, period)


def test_periods_and_gaps():
    def periods(relative):
        return sorted({r["time_period"] for r in _read(SAMPLE_DIR / relative)})

    def withheld(relative, years):
        rows = _read(SAMPLE_DIR / relative)
        indicators = list(rows[0])[11 + len(DATASET_FILTERS[relative.split("/")[0]][0]) :]
        gap = {r[c] for r in rows if r["time_period"] in years for c in indicators}
        rest = {r[c] for r in rows if r["time_period"] not in years for c in indicators}
        return gap, rest

    assert periods("eyfs/eyfs_la_timeseries.csv") == [y for y in ACADEMIC_YEARS if y not in ("201920", "202021")]
    assert periods("phonics/phonics_la_timeseries.csv") == ACADEMIC_YEARS
    assert periods("ks1/ks1_la_timeseries.csv") == ACADEMIC_YEARS[:8]
    assert periods("ks5/ks5_la_timeseries.csv") == ACADEMIC_YEARS
    assert periods("age19/level_2_3_at_19_la.csv") == ACADEMIC_YEARS[:9]
    assert periods("absence/absence_la_timeseries.csv") == ACADEMIC_YEARS
    assert periods("neet/neet_la_timeseries.csv") == [str(y) for y in range(2016, 2026)]
    for relative, years in (
        ("phonics/phonics_la_timeseries.csv", {"201920", "202021"}),
        ("ks1/ks1_la_timeseries.csv", {"201920", "202021"}),
        ("absence/absence_la_timeseries.csv", {"201920"}),
    ):
        gap, rest = withheld(relative, years)
        assert gap == {"x"}, relative
        assert "x" not in rest, relative
    # centre and teacher assessed grades are published, and higher
    aps = _national("ks5", "ks5/ks5_la_timeseries.csv", "aps_per_entry")
    assert min(float(aps["201920"]), float(aps["202021"])) > max(float(aps[y]) for y in ("201819", "202223"))


def test_row_counts():
    counts = {
        relative: len(_read(SAMPLE_DIR / relative))
        for relative in (
            "eyfs/eyfs_la_timeseries.csv",
            "phonics/phonics_la_timeseries.csv",
            "ks1/ks1_la_timeseries.csv",
            "ks5/ks5_la_timeseries.csv",
            "ks5/ks5_la_2025_provisional.csv",
            "age19/level_2_3_at_19_la.csv",
            "absence/absence_la_timeseries.csv",
            "exclusions/exclusions_la_2016_to_2018.csv",
            "exclusions/exclusions_la_timeseries.csv",
            "neet/neet_la_timeseries.csv",
        )
    }
    assert counts == {
        "eyfs/eyfs_la_timeseries.csv": 8 * ROWS_PER_PERIOD * 7,
        "phonics/phonics_la_timeseries.csv": 10 * ROWS_PER_PERIOD * 7,
        "ks1/ks1_la_timeseries.csv": 8 * ROWS_PER_PERIOD * 7,
        "ks5/ks5_la_timeseries.csv": 10 * ROWS_PER_PERIOD * 7,
        "ks5/ks5_la_2025_provisional.csv": ROWS_PER_PERIOD * 7,
        "age19/level_2_3_at_19_la.csv": 9 * ROWS_PER_PERIOD * 5,
        "absence/absence_la_timeseries.csv": 10 * ROWS_PER_PERIOD * 4,
        "exclusions/exclusions_la_2016_to_2018.csv": 3 * ROWS_PER_PERIOD * 4,
        "exclusions/exclusions_la_timeseries.csv": 6 * ROWS_PER_PERIOD * 4,
        "neet/neet_la_timeseries.csv": 10 * ROWS_PER_PERIOD * 3,
    }


@pytest.mark.parametrize("relative", sorted(SPLIT_FILES))
def test_files_split_by_area_or_qualification(relative):
    column, values = SPLIT_FILES[relative]
    rows = _read(SAMPLE_DIR / relative)
    header = list(rows[0])
    assert header[:12] == [*STANDARD, column]
    meta = _read(SAMPLE_DIR / relative.replace(".csv", ".meta.csv"))
    assert [m["col_name"] for m in meta] == header[10:]
    assert [m["col_name"] for m in meta if m["col_type"] == "Filter"] == ["version", column]
    periods = sorted({r["time_period"] for r in rows})
    # one row per area, period and value, every LA in every period
    keys = Counter(
        (r["time_period"], r["geographic_level"], r["region_code"], r["old_la_code"], r[column]) for r in rows
    )
    assert set(keys.values()) == {1}
    assert len(rows) == len(periods) * ROWS_PER_PERIOD * len(values)
    assert [r[column] for r in rows[: len(values)]] == values


def test_areas_of_learning_are_at_least_the_good_level_of_development():
    """A good level of development needs the expected level in the prime areas, literacy and maths,
    so no LA's share at the expected level in those five areas is below its GLD share."""
    gld = {
        (r["time_period"], r["old_la_code"]): r["gld_percentage"]
        for r in _headline(_read(SAMPLE_DIR / "eyfs" / "eyfs_la_timeseries.csv"), "eyfs")
        if r["geographic_level"] in ("National", "Local authority")
    }
    required = SPLIT_FILES["eyfs/eyfs_la_areas_of_learning.csv"][1][:5]  # the prime areas, literacy, maths
    areas = [
        r
        for r in _read(SAMPLE_DIR / "eyfs" / "eyfs_la_areas_of_learning.csv")
        if r["geographic_level"] in ("National", "Local authority")
    ]
    compared = 0
    for r in (r for r in areas if r["area_of_learning"] in required):
        value, headline = r["expected_percentage"], gld[(r["time_period"], r["old_la_code"])]
        if value.replace(".", "").isdigit() and headline.replace(".", "").isdigit():
            assert float(value) >= float(headline) - 0.05, r
            compared += 1
    assert compared > 0.95 * len(areas) * 5 / 7
    england = {
        r["area_of_learning"]: float(r["expected_percentage"])
        for r in areas
        if r["geographic_level"] == "National" and r["time_period"] == "202425"
    }
    # England's figures as DfE publishes them: literacy lowest, physical development highest
    assert min(england, key=england.get) == "Literacy"
    assert 65 <= england["Literacy"] <= 75 and 83 <= england["Physical development"] <= 90


def test_best_three_a_levels_score_above_all_entries():
    rows = _headline(_read(SAMPLE_DIR / "ks5" / "ks5_la_timeseries.csv"), "ks5")
    published = [r for r in rows if r["aps_per_entry"][:1].isdigit()]
    assert published
    for r in published:
        assert 0 < float(r["best_three_alevels_aps"]) - float(r["aps_per_entry"]) < 5, r
        assert float(r["best_three_alevels_aps"]) <= 60


def test_breakdowns_and_decoys():
    pupil_combos = {
        ("Total", "Total", "Total"),
        ("Total", "Total", "Boys"),
        ("Total", "Total", "Girls"),
        ("Disadvantage", "Disadvantaged", "Total"),
        ("Disadvantage", "Not disadvantaged", "Total"),
        ("Disadvantage", "Disadvantaged", "Boys"),
        ("Disadvantage", "Disadvantaged", "Girls"),
    }
    for relative in (
        "eyfs/eyfs_la_timeseries.csv",
        "phonics/phonics_la_timeseries.csv",
        "ks1/ks1_la_timeseries.csv",
        "ks5/ks5_la_timeseries.csv",
    ):
        assert {_filters(r) for r in _read(SAMPLE_DIR / relative)} == pupil_combos, relative
    age19 = _read(SAMPLE_DIR / "age19" / "level_2_3_at_19_la.csv")
    assert "sex" not in age19[0]
    assert {(r["breakdown_topic"], r["breakdown"]) for r in age19} == {
        ("Total", "Total"),
        ("Free school meals", "FSM eligible"),
        ("Free school meals", "Not FSM eligible"),
        ("Gender", "Male"),
        ("Gender", "Female"),
    }
    for relative in (
        "absence/absence_la_timeseries.csv",
        "exclusions/exclusions_la_timeseries.csv",
        "exclusions/exclusions_la_2016_to_2018.csv",
    ):
        rows = _read(SAMPLE_DIR / relative)
        assert not {"breakdown_topic", "breakdown", "sex"} & set(rows[0]), relative
        assert {r["school_type"] for r in rows} == {
            "Total",
            "State-funded primary",
            "State-funded secondary",
            "Special",
        }, relative


def test_disadvantage_gaps_are_realistic():
    def gap(dataset, relative, column, year, low_group, high_group, breakdown="breakdown"):
        rows = [
            r
            for r in _read(SAMPLE_DIR / relative)
            if r["geographic_level"] == "National" and r["time_period"] == year and r.get("sex", "Total") == "Total"
        ]
        values = {r[breakdown]: float(r[column]) for r in rows}
        return values[high_group] - values[low_group]

    disadvantage = ("Disadvantaged", "Not disadvantaged")
    assert 12 <= gap("eyfs", "eyfs/eyfs_la_timeseries.csv", "gld_percentage", "202324", *disadvantage) <= 24
    assert (
        8
        <= gap(
            "phonics",
            "phonics/phonics_la_timeseries.csv",
            "pt_phonics_y1_met_expected_standard",
            "202324",
            *disadvantage,
        )
        <= 20
    )
    assert 12 <= gap("ks1", "ks1/ks1_la_timeseries.csv", "pt_read_met_expected_standard", "201819", *disadvantage) <= 24
    assert 3 <= gap("ks5", "ks5/ks5_la_timeseries.csv", "aps_per_entry", "201819", *disadvantage) <= 8
    assert (
        20
        <= gap(
            "age19",
            "age19/level_2_3_at_19_la.csv",
            "l2_with_em_by19_rate",
            "202324",
            "FSM eligible",
            "Not FSM eligible",
        )
        <= 34
    )


def test_neet_age_filter_and_calendar_years():
    rows = _read(SAMPLE_DIR / "neet" / "neet_la_timeseries.csv")
    header = list(rows[0])
    assert header[11:] == [
        "Age",
        "Cohort_DJFavg",
        "NEET_percent",
        "NEET_not_known_percent",
        "Notknown_percent",
        "TOTAL_participating_in_education_and_training_percent",
    ]
    assert {r["time_identifier"] for r in rows} == {"Calendar year"}
    assert {r["version"] for r in rows} == {"Final"}
    assert {r["Age"] for r in rows} == {"16-17", "16", "17"}
    assert "Total" not in {r["Age"] for r in rows}
    national = {(r["time_period"], r["Age"]): r for r in rows if r["geographic_level"] == "National"}
    for year in ("2016", "2025"):
        whole, sixteen, seventeen = (national[(year, age)] for age in ("16-17", "16", "17"))
        # the decoys are the two halves of the headline, and 17 year olds are more often NEET
        assert int(whole["Cohort_DJFavg"]) == int(sixteen["Cohort_DJFavg"]) + int(seventeen["Cohort_DJFavg"])
        assert float(sixteen["NEET_percent"]) < float(whole["NEET_percent"]) < float(seventeen["NEET_percent"])
        total = float(whole["NEET_not_known_percent"])
        assert abs(total - float(whole["NEET_percent"]) - float(whole["Notknown_percent"])) <= 0.1
        # participation is of those neither NEET nor unknown, so it stays below the rest of the cohort
        assert 85 < float(whole["TOTAL_participating_in_education_and_training_percent"]) < 100 - total
    la = [
        float(r["NEET_percent"])
        for r in _headline(rows, "neet")
        if r["geographic_level"] == "Local authority" and r["NEET_percent"] not in ("c", "low")
    ]
    assert min(la) >= 0.5 and max(la) <= 9.0


def test_exclusions_old_name_file():
    old = _read(SAMPLE_DIR / "exclusions" / "exclusions_la_2016_to_2018.csv")
    new = _read(SAMPLE_DIR / "exclusions" / "exclusions_la_timeseries.csv")
    assert list(old[0])[12:] == ["headcount", "perm_excl_rate", "fixed_excl_rate", "one_plus_fixed_rate"]
    assert list(new[0])[12:] == ["headcount", "perm_excl_rate", "susp_rate", "one_plus_susp_rate"]
    assert sorted({r["time_period"] for r in old}) == ["201516", "201617", "201718"]
    assert sorted({r["time_period"] for r in new}) == ACADEMIC_YEARS[3:9]
    old_meta = _read(SAMPLE_DIR / "exclusions" / "exclusions_la_2016_to_2018.meta.csv")
    assert "fixed_excl_rate" in {m["col_name"] for m in old_meta}


def test_ks5_provisional_and_revised():
    revised = _read(SAMPLE_DIR / "ks5" / "ks5_la_timeseries.csv")
    provisional = _read(SAMPLE_DIR / "ks5" / "ks5_la_2025_provisional.csv")
    assert {(r["time_period"], r["version"]) for r in revised} == {
        (y, "Revised" if y == "202425" else "Final") for y in ACADEMIC_YEARS
    }
    assert {(r["time_period"], r["version"]) for r in provisional} == {("202425", "Provisional")}

    def headline_by_la(rows):
        return {
            r["old_la_code"]: r
            for r in rows
            if r["time_period"] == "202425" and r["geographic_level"] == "Local authority" and _filters(r) == HEADLINE
        }

    final, early = headline_by_la(revised), headline_by_la(provisional)
    changed = [code for code in final if final[code]["aps_per_entry"] != early[code]["aps_per_entry"]]
    assert 10 <= len(changed) <= 60
    assert float(early["342"]["aps_per_entry"]) < float(final["342"]["aps_per_entry"])
    for code in changed:
        assert abs(float(final[code]["aps_per_entry"]) - float(early[code]["aps_per_entry"])) < 1.5


def test_small_areas_and_symbols():
    def la_rows(relative, code):
        return [r for r in _read(SAMPLE_DIR / relative) if r["old_la_code"] == code]

    def values(rows, columns):
        return {r[c] for r in rows for c in columns}

    ks5_columns = ["t_students", "aps_per_entry", "aab_percent", "three_a_percent"]
    assert values(la_rows("ks5/ks5_la_timeseries.csv", "201"), ks5_columns) == {"z"}
    neet_columns = ["Cohort_DJFavg", "NEET_percent", "NEET_not_known_percent", "Notknown_percent"]
    for code in ("201", "420"):
        assert values(la_rows("neet/neet_la_timeseries.csv", code), neet_columns) == {"c"}
    city_exclusions = la_rows("exclusions/exclusions_la_timeseries.csv", "201")
    assert values(
        [r for r in city_exclusions if r["school_type"] == "Total"], ["headcount", "perm_excl_rate", "susp_rate"]
    ) == {"c"}
    assert values(
        [r for r in city_exclusions if r["school_type"] == "Special"], ["headcount", "perm_excl_rate", "susp_rate"]
    ) == {"z"}
    city_eyfs = [r for r in la_rows("eyfs/eyfs_la_timeseries.csv", "201") if r["breakdown"] == "Disadvantaged"]
    assert values(city_eyfs, ["gld_percentage"]) == {"c"}
    assert values(la_rows("age19/level_2_3_at_19_la.csv", "201"), ["l3_by19_rate"]) == {"c"}
    # `low`: a handful of young people whose activity is not known, in a large county
    kent = _headline(la_rows("neet/neet_la_timeseries.csv", "886"), "neet")
    assert "low" in {r["Notknown_percent"] for r in kent}


def test_la_outcomes_follow_the_shared_latent_characteristics():
    def la_values(relative, dataset, column, period):
        return {
            r["old_la_code"]: float(r[column])
            for r in _headline(_read(SAMPLE_DIR / relative), dataset)
            if r["geographic_level"] == "Local authority"
            and r["time_period"] == period
            and r[column].replace(".", "").isdigit()
        }

    def correlation(a, b):
        common = sorted(set(a) & set(b))
        return statistics.correlation([a[c] for c in common], [b[c] for c in common])

    ks2 = la_values("ks2/ks2_la_timeseries.csv", "ks2", "pt_rwm_met_expected_standard", "202324")
    gld = la_values("eyfs/eyfs_la_timeseries.csv", "eyfs", "gld_percentage", "202324")
    absence = la_values("absence/absence_la_timeseries.csv", "absence", "sess_overall_percent", "202324")
    neet = la_values("neet/neet_la_timeseries.csv", "neet", "NEET_percent", "2023")
    suspensions = la_values("exclusions/exclusions_la_timeseries.csv", "exclusions", "susp_rate", "202223")
    assert correlation(ks2, gld) > 0.3
    assert correlation(ks2, absence) < -0.2
    assert correlation(absence, neet) > 0.2
    assert correlation(absence, suspensions) > 0.2
    spread = sorted(absence.values())
    assert spread[-1] - spread[0] <= 5.0 and spread[len(spread) // 2] - spread[0] <= 2.5


# ---------------------------------------------------------------------------------------------
# The council's school-level files (raw/sample/local): read as CSV/XLSX here, not through the
# pipeline, so these tests pin the sample itself.

LOCAL_DIR = SAMPLE_DIR / "local"
SAMPLE_LA_CODES = ("342", "340", "876")


def _pct_value(cell: str) -> float:
    assert cell.endswith("%"), cell
    return float(cell[:-1])


def _la_headline(relative: str, dataset: str) -> dict[tuple[str, str], dict[str, str]]:
    """(old LA code or "" for England, time_period) -> headline row."""
    rows = _headline(_read(SAMPLE_DIR / relative), dataset)
    return {
        (r["old_la_code"], r["time_period"]): r
        for r in rows
        if r["geographic_level"] in ("National", "Local authority")
    }


def _school_years(rows: list[dict[str, str]]) -> dict[tuple[str, str], list[dict[str, str]]]:
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        year = r["TIME_PERIOD"][:4] + r["TIME_PERIOD"][5:]
        grouped.setdefault((r["LEA"], year), []).append(r)
    return grouped


def _weighted_mean(rows: list[dict[str, str]], cohort: str, column: str, parse) -> float:
    return sum(int(r[cohort]) * parse(r[column]) for r in rows) / sum(int(r[cohort]) for r in rows)


@pytest.fixture(scope="module")
def register() -> list[dict[str, str]]:
    return _read(LOCAL_DIR / "schools.csv")


@pytest.fixture(scope="module")
def school_ks2() -> list[dict[str, str]]:
    return _read(LOCAL_DIR / "school_ks2.csv")


def test_school_register(register):
    assert list(register[0]) == [
        "URN",
        "LA (code)",
        "LA (name)",
        "EstablishmentName",
        "PhaseOfEducation (name)",
        "EstablishmentStatus (name)",
    ]
    urns = [r["URN"] for r in register]
    assert len(set(urns)) == len(urns) and all(len(u) == 6 and u.isdigit() for u in urns)
    names = {"342": "St. Helens", "340": "Knowsley", "876": "Halton"}
    for code in SAMPLE_LA_CODES:
        schools = [r for r in register if r["LA (code)"] == code]
        assert {r["LA (name)"] for r in schools} == {names[code]}
        phases = Counter(r["PhaseOfEducation (name)"] for r in schools)
        assert 45 <= phases["Primary"] <= 60 and 8 <= phases["Secondary"] <= 12, phases
        assert len({r["EstablishmentName"] for r in schools}) == len(schools)


def test_school_ks2_sums_to_the_la_figures(register, school_ks2):
    la = _la_headline("ks2/ks2_la_timeseries.csv", "ks2")
    primaries = {r["URN"] for r in register if r["PhaseOfEducation (name)"] == "Primary"}
    grouped = _school_years(school_ks2)
    published = sorted({year for (code, year), r in la.items() if code == "342" and r["t_rwm_eligible_pupils"] != "x"})
    assert sorted({year for _, year in grouped}) == published  # every published year, none of 2019/20-2020/21
    columns = {
        "PTRWM_EXP": "pt_rwm_met_expected_standard",
        "PTRWM_HIGH": "pt_rwm_met_higher_standard",
        "PTREAD_EXP": "pt_read_met_expected_standard",
        "PTMAT_EXP": "pt_mat_met_expected_standard",
    }
    for code in SAMPLE_LA_CODES:
        for year in published:
            rows, row = grouped[(code, year)], la[(code, year)]
            assert {r["URN"] for r in rows} == primaries & {r["URN"] for r in register if r["LA (code)"] == code}
            assert sum(int(r["TELIG"]) for r in rows) == int(row["t_rwm_eligible_pupils"]), (code, year)
            # School percentages are 0 dp (at most 0.5 off their counts) and so is the LA's: the
            # cohort-weighted school mean can be at most 0.5 + 0.5 from the published LA figure.
            for school_column, la_column in columns.items():
                mean = _weighted_mean(rows, "TELIG", school_column, _pct_value)
                assert abs(mean - float(row[la_column])) <= 0.5 + 0.5, (code, year, school_column, mean)
            # The achievers implied by the school percentages land on the LA's count within rounding.
            achievers = sum(int(r["TELIG"]) * _pct_value(r["PTRWM_EXP"]) / 100 for r in rows)
            assert abs(achievers - int(row["t_rwm_met_expected_standard"])) <= 0.005 * int(row["t_rwm_eligible_pupils"])


def test_school_ks4_sums_to_the_la_figures(register):
    la = _la_headline("ks4/ks4_la_timeseries.csv", "ks4")
    renamed = dict(
        zip(
            ["pupil_count", "attainment8_average", "progress8_average", "engmath_95_percent", "engmath_94_percent"],
            ["t_pupils", "avg_att8", "avg_p8score", "pt_l2basics_95", "pt_l2basics_94"],
        )
    )
    for key, r in _la_headline("ks4/ks4_la_2025.csv", "ks4").items():
        la[key] = {renamed.get(k, k): v for k, v in r.items()}
    rows_all = _read(LOCAL_DIR / "school_ks4.csv")
    assert list(rows_all[0]) == [
        "URN",
        "LEA",
        "SCHNAME",
        "TIME_PERIOD",
        "TPUP",
        "ATT8SCR",
        "P8MEA",
        "PTL2BASICS_95",
        "PTL2BASICS_94",
    ]
    secondaries = {r["URN"] for r in register if r["PhaseOfEducation (name)"] == "Secondary"}
    grouped = _school_years(rows_all)
    assert sorted({year for _, year in grouped}) == sorted({year for code, year in la if code == "342"})
    # (school column, LA column, parse, school dp tolerance, LA dp tolerance)
    measures = [
        ("ATT8SCR", "avg_att8", float, 0.05, 0.05),
        ("P8MEA", "avg_p8score", float, 0.005, 0.005),
        ("PTL2BASICS_95", "pt_l2basics_95", _pct_value, 0.5, 0.05),
        ("PTL2BASICS_94", "pt_l2basics_94", _pct_value, 0.5, 0.05),
    ]
    for code, year in sorted(grouped):
        rows, row = grouped[(code, year)], la[(code, year)]
        assert {r["URN"] for r in rows} <= secondaries and len(rows) >= 8
        assert sum(int(r["TPUP"]) for r in rows) == int(row["t_pupils"]), (code, year)
        for school_column, la_column, parse, school_tol, la_tol in measures:
            if row[la_column] in ("x", "z"):  # not published for the LA: not published by school
                assert {r[school_column] for r in rows} == {"NP"}, (code, year, school_column)
                continue
            mean = _weighted_mean(rows, "TPUP", school_column, parse)
            assert abs(mean - float(row[la_column])) <= school_tol + la_tol + 1e-9, (code, year, school_column, mean)
    assert {r["P8MEA"] for r in rows_all if r["TIME_PERIOD"] in ("2019/20", "2020/21", "2024/25")} == {"NP"}


def test_school_splits_are_exact():
    """The split itself: every count and point total sums exactly to the LA's, within each school's
    bounds, for awkward LA totals (nobody / everybody meeting a standard)."""
    from tools.sample_data.schools import build_schools, split_ks2, split_ks4

    schools = build_schools()
    primaries = [s for s in schools if s.la_code == "876" and s.phase == "Primary"]
    secondaries = [s for s in schools if s.la_code == "876" and s.phase == "Secondary"]
    for vector in [
        (2000, 1240, 160, 1500, 1450, 1480, 1460),
        (2000, 0, 0, 0, 0, 0, 0),
        (2000, 2000, 2000, 2000, 2000, 2000, 2000),
        (1500, 700, 3, 1100, 900, 1000, 1000),
    ]:
        split = split_ks2(primaries, vector, "202425")
        n_total, rwm, high, read, _writ, mat, _gps = vector
        assert [sum(column) for column in zip(*split)] == [n_total, rwm, high, read, mat]
        assert all(0 <= h <= r <= min(rd, m) and max(rd, m) <= n for n, r, h, rd, m in split)
    vector = (1850, 1850 * 4590 + 37, -1850 * 3, 800, 1200, 700, 1850 * 405)
    split = split_ks4(secondaries, vector, "202324")
    assert [sum(column) for column in zip(*split)] == [1850, vector[1], vector[2], 800, 1200]
    assert all(0 <= e95 <= e94 <= n for n, _, _, e95, e94 in split)


def test_small_cohort_cases_for_disclosure_control(school_ks2):
    small = {key: [r for r in rows if int(r["TELIG"]) < 11] for key, rows in _school_years(school_ks2).items()}
    for code in SAMPLE_LA_CODES:
        assert any(rows for (c, _), rows in small.items() if c == code), code
        assert all(int(r["TELIG"]) >= 4 for rows in small.values() for r in rows)
    # One small school alone: its value could be worked out from the LA total and the others.
    assert len(small[("342", "202324")]) == 1
    # Two small schools that are all-or-nothing together: suppressing both still gives them away.
    for key, expected in ((("340", "202324"), "100%"), (("876", "202223"), "0%")):
        assert len(small[key]) == 2 and {r["PTRWM_EXP"] for r in small[key]} == {expected}, key


def test_schools_causing_concern_and_strong_schools(school_ks2):
    england = {
        year: float(r["pt_rwm_met_expected_standard"])
        for (code, year), r in _la_headline("ks2/ks2_la_timeseries.csv", "ks2").items()
        if code == "" and r["pt_rwm_met_expected_standard"] != "x"
    }
    by_school: dict[tuple[str, str], dict[str, float]] = {}
    for r in school_ks2:
        year = r["TIME_PERIOD"][:4] + r["TIME_PERIOD"][5:]
        by_school.setdefault((r["LEA"], r["URN"]), {})[year] = _pct_value(r["PTRWM_EXP"])
    for code in SAMPLE_LA_CODES:
        series = {urn: v for (c, urn), v in by_school.items() if c == code}
        declining = [
            urn
            for urn, v in series.items()
            if v["202223"] > v["202324"] > v["202425"] and v["202425"] < england["202425"]
        ]
        strong = [urn for urn, v in series.items() if all(v[y] > england[y] for y in v)]
        assert len(declining) >= 2 and len(strong) >= 2, (code, declining, strong)


def test_ofsted_snapshots(register):
    """Ofsted's file covers England: every register school, the sample LAs' special schools and
    every other LA's schools, each once per snapshot, the register's under their own LA."""
    from tools.sample_data.geography import LOCAL_AUTHORITIES
    from tools.sample_data.schools import OFSTED_SNAPSHOTS, ofsted_file_name

    la_of = {r["URN"]: r["LA (name)"] for r in register}
    la_by_name = {la.name: la for la in LOCAL_AUTHORITIES}
    previous: dict[str, str] = {}
    grades = Counter()
    for as_at in OFSTED_SNAPSHOTS:
        rows = _read(LOCAL_DIR / ofsted_file_name(as_at))
        assert list(rows[0]) == [
            "URN",
            "LAESTAB",
            "School name",
            "Ofsted phase",
            "Type of education",
            "Local authority",
            "Region",
            "Total number of pupils",
            "Inspection start date",
            "Publication date",
            "Overall effectiveness",
        ]
        urns = [r["URN"] for r in rows]
        assert len(urns) == len(set(urns)) and set(la_of) <= set(urns)  # every school once per snapshot
        # every LA has schools of each phase (so no LA is missing from the England-wide measure)
        assert {(r["Local authority"], r["Ofsted phase"]) for r in rows} == {
            (la.name, phase) for la in LOCAL_AUTHORITIES for phase in ("Primary", "Secondary", "Special")
        }
        for r in rows:
            la = la_by_name[r["Local authority"]]
            assert r["Local authority"] == la_of.get(r["URN"], r["Local authority"]) and r["Region"] == la.region.name
            assert r["Inspection start date"] < r["Publication date"] <= as_at
            assert r["LAESTAB"].startswith(la.old_code) and int(r["Total number of pupils"]) > 0
            judged = r["Inspection start date"] < "2024-09-01"
            assert r["Overall effectiveness"] in (("1", "2", "3", "4") if judged else ("Not judged",))
            assert r["Inspection start date"] >= previous.get(r["URN"], "")
            previous[r["URN"]] = r["Inspection start date"]
            grades[r["Overall effectiveness"]] += 1
    assert grades["2"] > grades["1"] + grades["3"] + grades["4"] and grades["3"] and grades["4"]
    assert grades["Not judged"]


def test_termly_attendance_workbook(register):
    from openpyxl import load_workbook

    sheet = load_workbook(LOCAL_DIR / "termly_attendance.xlsx", read_only=True)["Attendance"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "St Helens, Knowsley and Halton termly attendance (sample)"
    header = [
        "URN",
        "School name",
        "Academic year",
        "Term",
        "Enrolments",
        "Sessions possible",
        "Overall absence sessions",
        "Persistent absentees",
    ]
    assert list(rows[2]) == header  # header on row 3 (the schema's header_row)
    data = [dict(zip(header, r)) for r in rows[3:]]
    terms = Counter((r["Academic year"], r["Term"]) for r in data)
    assert sorted(terms) == sorted(
        [(y, t) for y in ("2023/24", "2024/25") for t in ("Autumn", "Spring", "Summer")] + [("2025/26", "Autumn")]
    )
    assert set(terms.values()) == {len(register)}
    assert {str(r["URN"]) for r in data} == {r["URN"] for r in register}
    for r in data:
        assert (
            0 < r["Overall absence sessions"] < r["Sessions possible"]
            and 0 <= r["Persistent absentees"] <= r["Enrolments"]
        )
    overall = sum(r["Overall absence sessions"] for r in data) / sum(r["Sessions possible"] for r in data)
    assert 0.05 < overall < 0.10


def test_sources_yml_lists_the_local_sample():
    import yaml

    local = yaml.safe_load((REPO_ROOT / "sources.yml").read_text(encoding="utf-8"))["local"]
    listed, schemas = set(), set()
    for name, entry in local.items():
        schemas.add(entry["schema"])
        for item in entry["files"]:
            path = item if isinstance(item, str) else item["path"]
            listed.add(path)
            if name == "ofsted_inspections":  # no period column: the as-at date is in the entry
                assert item["period"].replace("-", "_") in path
        kind = yaml.safe_load((REPO_ROOT / entry["schema"]).read_text(encoding="utf-8"))["kind"]
        assert kind == {"schools": "school_register", "ofsted_inspections": "inspection_outcomes"}.get(
            name, "school_measures"
        )
    on_disk = {p.relative_to(REPO_ROOT).as_posix() for p in LOCAL_DIR.iterdir()}
    assert listed | schemas == on_disk
