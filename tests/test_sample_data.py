"""The bundled sample release: reproducible from the generator, shaped like real DfE files."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from orchestration.lib.sample_data.generator import DEFAULT_OUT, KS2_TARGETS, generate
from orchestration.lib.sample_data.geography import (
    LOCAL_AUTHORITIES,
    REGIONS,
    la_by_old_code,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "raw" / "sample"
REAL_KS2 = REPO_ROOT.parent / "shared" / "reference" / "ees_real" / "ks2_la.csv"
# Directories the generator owns; other sample datasets may sit beside them.
GENERATED_DIRS = ("ks2", "ks4", "statistical_neighbours")
HEADLINE = ("Total", "Total", "Total")
PUBLISHED_KS2_RWM = {"201516": 53, "201617": 61, "201718": 64, "201819": 65,
                     "202122": 59, "202223": 60, "202324": 61, "202425": 62}


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
    committed = {p.relative_to(SAMPLE_DIR).as_posix()
                 for d in GENERATED_DIRS for p in (SAMPLE_DIR / d).rglob("*") if p.is_file()}
    assert committed, "raw/sample is empty: run python -m orchestration.lib.sample_data.generator"
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


def _data_files() -> list[Path]:
    return sorted(p for d in ("ks2", "ks4") for p in (SAMPLE_DIR / d).glob("*.csv")
                  if not p.name.endswith(".meta.csv"))


def test_headline_row_unique_per_la_and_year():
    for file in _data_files():
        rows = [r for r in _read(file) if r["geographic_level"] == "Local authority"]
        headline = Counter((r["time_period"], r["new_la_code"]) for r in rows if _filters(r) == HEADLINE)
        years = {r["time_period"] for r in rows}
        assert len(headline) == len(years) * len(LOCAL_AUTHORITIES), file.name
        assert set(headline.values()) == {1}, file.name


def test_standard_columns_and_meta():
    expected_start = ["time_period", "time_identifier", "geographic_level", "country_code",
                      "country_name", "region_code", "region_name", "old_la_code", "la_name",
                      "new_la_code", "version", "breakdown_topic", "breakdown", "sex"]
    for file in _data_files():
        header = list(_read(file)[0].keys())
        assert header[:14] == expected_start, file.name
        meta = _read(file.with_name(file.name.removesuffix(".csv") + ".meta.csv"))
        assert [m["col_name"] for m in meta] == header[10:], file.name
        types = {m["col_name"]: m["col_type"] for m in meta}
        assert [c for c in header if types.get(c) == "Filter"] == header[10:14]
        for m in meta:
            if m["col_type"] == "Indicator":
                is_pct = "percent" in m["col_name"] or m["col_name"].startswith("pt_")
                assert m["indicator_unit"] == ("%" if is_pct else ""), m


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
    national = {r["time_period"]: r["pt_rwm_met_expected_standard"] for r in ks2
                if r["geographic_level"] == "National" and _filters(r) == HEADLINE}
    for year, published in PUBLISHED_KS2_RWM.items():
        assert abs(int(national[year]) - published) <= 1, year


def test_national_is_the_sum_of_its_las(ks2):
    for year in ("201516", "202425"):
        rows = [r for r in ks2 if r["time_period"] == year and _filters(r) == HEADLINE]
        national = next(r for r in rows if r["geographic_level"] == "National")
        las = [r for r in rows if r["geographic_level"] == "Local authority"]
        assert int(national["t_rwm_eligible_pupils"]) == sum(int(r["t_rwm_eligible_pupils"]) for r in las)


def test_disadvantaged_gap_is_realistic(ks2):
    national = {(r["time_period"], r["breakdown"]): int(r["pt_rwm_met_expected_standard"])
                for r in ks2 if r["geographic_level"] == "National" and r["sex"] == "Total"
                and r["time_period"] == "201819"}
    gap = national[("201819", "Not disadvantaged")] - national[("201819", "Disadvantaged")]
    assert 16 <= gap <= 24


def test_provisional_st_helens_is_final_minus_one(ks2):
    def st_helens(rows):
        return next(r for r in rows if r["old_la_code"] == "342" and r["time_period"] == "202122"
                    and _filters(r) == HEADLINE)
    provisional_rows = _read(SAMPLE_DIR / "ks2" / "ks2_la_2022_provisional.csv")
    assert {r["version"] for r in provisional_rows} == {"Provisional"}
    assert {r["time_period"] for r in provisional_rows} == {"202122"}
    final = int(st_helens(ks2)["pt_rwm_met_expected_standard"])
    provisional = int(st_helens(provisional_rows)["pt_rwm_met_expected_standard"])
    assert provisional == final - 1


def test_suppression_symbols(ks2):
    city_disadvantaged = [r for r in ks2 if r["old_la_code"] == "201" and r["breakdown"] == "Disadvantaged"
                          and r["time_period"] not in ("201920", "202021")]
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
                (row["new_la_code"], row["la_name"], row["region_code"], row["region_name"]))
    ours = {la.old_code: (la.new_code, la.name, la.reporting_region_code, la.reporting_region_name)
            for la in LOCAL_AUTHORITIES}
    assert set(real) == set(ours)
    mismatches = {code: (ours[code], sorted(real[code])) for code in ours if real[code] != {ours[code]}}
    assert mismatches == {}
