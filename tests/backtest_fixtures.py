"""Backtest fixtures: DfE's LAIT figures rewritten as the EES files the pipeline reads.

LAIT (the Local Authority Interactive Tool) publishes, per indicator, every LA's value with the
England and regional figures. Nothing derived from it is committed: `write_backtest_sources`
builds the files in a temporary folder at test time from ../shared/reference:

- ``lait/bds_long.parquet``: LAIT's long table (``Short Desc`` = LAIT code, ``Years`` = the
  calendar year an academic year ends in, ``Values`` as text, ``LA Number``);
- ``ees_real/ks2_la.csv``: a real EES file, used only to name areas (LA number -> new LA code,
  name and region; region name -> region code) the way DfE's own files do;
- ``ees_real/sn_model_2025_wide.csv``: DfE's statistical neighbour model, listed as it is.

`lait_values` gives the same figures as a long table (one row per measure x breakdown x area x
period actually written), which the backtest recomputes LAIT's comparisons from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# LAIT code -> (dataset, catalogue measure_code, breakdown, EES indicator column, decimal places).
# Checked against lait_data_dictionary.csv: KS2W_Teacher_Assess is "KS2 TA - expected standard
# Writing - All Pupils" (% meeting the expected standard in writing teacher assessment);
# DAP_/NonDAP_NEW_KS2_RWM are "KS2 RWM Expected Level - attainment for (non) disadvantaged pupils"
# and DAP_/NonDAP_KS4_ATT8 "Average Attainment 8 score per (non-)disadvantaged pupil". LAIT's
# FSM_* codes are free-school-meal splits, not the disadvantage breakdown, so they are not used.
LAIT_MEASURES: dict[str, tuple[str, str, str, str, int]] = {
    "KS2RWM_Expected_STD": ("ks2", "ks2_rwm_expected", "all", "pt_rwm_met_expected_standard", 0),
    "DAP_NEW_KS2_RWM": ("ks2", "ks2_rwm_expected", "disadvantaged", "pt_rwm_met_expected_standard", 0),
    "NonDAP_NEW_KS2_RWM": ("ks2", "ks2_rwm_expected", "not_disadvantaged", "pt_rwm_met_expected_standard", 0),
    "KS2RWM_Higher_STD": ("ks2", "ks2_rwm_higher", "all", "pt_rwm_met_higher_standard", 0),
    "KS2R_Expected_STD": ("ks2", "ks2_reading_expected", "all", "pt_read_met_expected_standard", 0),
    "KS2W_Teacher_Assess": ("ks2", "ks2_writing_expected", "all", "pt_writta_met_expected_standard", 0),
    "KS2M_Expected_STD": ("ks2", "ks2_maths_expected", "all", "pt_mat_met_expected_standard", 0),
    "KS2GPS_Expected_STD": ("ks2", "ks2_gps_expected", "all", "pt_gps_met_expected_standard", 0),
    "AVG_Attain8_Score": ("ks4", "ks4_attainment8", "all", "avg_att8", 1),
    "DAP_KS4_ATT8": ("ks4", "ks4_attainment8", "disadvantaged", "avg_att8", 1),
    "NonDAP_KS4_ATT8": ("ks4", "ks4_attainment8", "not_disadvantaged", "avg_att8", 1),
    "AVG_Prog8_Score": ("ks4", "ks4_progress8", "all", "avg_p8score", 2),
    "EngMaths9-5": ("ks4", "ks4_em_95", "all", "pt_l2basics_95", 1),
    "EngMaths9-4": ("ks4", "ks4_em_94", "all", "pt_l2basics_94", 1),
    "EngBacEntries": ("ks4", "ks4_ebacc_entry", "all", "pt_ebacc_e_ptq_ee", 1),
    "EngBacAvgPointScore": ("ks4", "ks4_ebacc_aps", "all", "avg_ebaccaps", 2),
}

INDICATORS = {
    "ks2": [
        "pt_rwm_met_expected_standard", "pt_rwm_met_higher_standard", "pt_read_met_expected_standard",
        "pt_writta_met_expected_standard", "pt_mat_met_expected_standard", "pt_gps_met_expected_standard",
    ],
    "ks4": ["avg_att8", "avg_p8score", "pt_l2basics_95", "pt_l2basics_94", "pt_ebacc_e_ptq_ee", "avg_ebaccaps"],
}

INDICATOR_LABELS = {
    "pt_rwm_met_expected_standard": ("Percentage meeting the expected standard in reading, writing and maths", "%"),
    "pt_rwm_met_higher_standard": ("Percentage meeting the higher standard in reading, writing and maths", "%"),
    "pt_read_met_expected_standard": ("Percentage meeting the expected standard in reading", "%"),
    "pt_writta_met_expected_standard": ("Percentage meeting the expected standard in writing (teacher assessment)", "%"),
    "pt_mat_met_expected_standard": ("Percentage meeting the expected standard in maths", "%"),
    "pt_gps_met_expected_standard": ("Percentage meeting the expected standard in grammar, punctuation and spelling", "%"),
    "avg_att8": ("Average Attainment 8 score", ""),
    "avg_p8score": ("Average Progress 8 score", ""),
    "pt_l2basics_95": ("Percentage achieving grade 5 or above in English and maths", "%"),
    "pt_l2basics_94": ("Percentage achieving grade 4 or above in English and maths", "%"),
    "pt_ebacc_e_ptq_ee": ("Percentage entering the English Baccalaureate", "%"),
    "avg_ebaccaps": ("Average EBacc average point score", ""),
}

# breakdown -> (breakdown_topic, breakdown, sex): the EES filter values of its rows.
BREAKDOWN_FILTERS = {
    "all": ("Total", "Total", "Total"),
    "disadvantaged": ("Disadvantage", "Disadvantaged", "Total"),
    "not_disadvantaged": ("Disadvantage", "Not disadvantaged", "Total"),
}

STANDARD_COLUMNS = [
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
    "region_name", "old_la_code", "la_name", "new_la_code", "version",
]
FILTER_COLUMNS = ["breakdown_topic", "breakdown", "sex"]

ENGLAND_NUMBER = 970
ENGLAND_CODE = "E92000001"
LONDON_CODE = "E12000007"
LONDON_SUBREGIONS = {"E13000001", "E13000002"}
# LAIT names the London sub-regions differently from EES.
LAIT_REGION_ALIASES = {"london (inner)": "inner london", "london (outer)": "outer london"}

# KS2 was not assessed in 2019/20 or 2020/21: those rows are written, all "x".
KS2_NOT_PUBLISHED = {201920, 202021}

# LAs created or abolished by local government reorganisation within LAIT's years. Each exists in
# a dataset only from its first to its last published LAIT year there (e.g. Northamptonshire's KS4
# 2020/21 results are LAIT's under North and West Northamptonshire): Dorset, Poole and Bournemouth
# (835-837) -> Dorset and BCP (838, 839) from 2018/19; Northamptonshire (928) -> 940, 941;
# Cumbria (909) -> Cumberland, Westmorland and Furness (942, 943) from 2022/23. The abolished
# ones are not in the 2024/25 LA list but DfE's older files name them, so they are kept with the
# codes ees_real gives them (none of LAIT's LAs had to be dropped for want of a code).
REORGANISED_LAS = {"835", "836", "837", "909", "928", "838", "839", "940", "941", "942", "943"}

# The provisional KS2 2021/22 figure DfE published for St Helens before the revision LAIT shows.
ST_HELENS = "342"
ST_HELENS_PROVISIONAL_RWM = 56


def time_period_of(lait_year: str | int) -> int:
    """LAIT's '2016' is academic year 2015/16 -> EES time_period 201516."""
    year = int(lait_year)
    return (year - 1) * 100 + year % 100


def ees_cell(lait_value: str | None) -> str:
    """A LAIT cell as an EES cell: numbers in their shortest exact form (LAIT stores float noise such
    as '46.700000000000003' or '7.0000000000000007E-2'), '-'/'x' -> 'x', 'c' -> 'c', absent -> 'x'."""
    if lait_value is None or pd.isna(lait_value):
        return "x"
    text = str(lait_value).strip()
    if text.lower() == "c":
        return "c"
    try:
        number = float(text)
    except ValueError:
        return "x"
    shortest = repr(number)
    return shortest[:-2] if shortest.endswith(".0") else shortest


@dataclass(frozen=True)
class Geography:
    local_authorities: pd.DataFrame  # old_la_code, new_la_code, la_name, region_code, region_name
    regions: pd.DataFrame  # region_code, region_name, lait_name (LAIT's spelling, lower case)


def load_geography(ees_ks2_path: Path) -> Geography:
    ees = pd.read_csv(ees_ks2_path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    ees["time_period"] = ees["time_period"].astype(int)
    las = ees[ees["geographic_level"] == "Local authority"]
    # Each LA as DfE last named it (the 2024/25 list for current LAs, older files for abolished ones).
    las = (
        las.sort_values("time_period")
        .drop_duplicates("old_la_code", keep="last")[["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]]
        .reset_index(drop=True)
    )
    regions = ees[ees["geographic_level"] == "Regional"][["region_code", "region_name"]].drop_duplicates("region_code")
    regions = regions.assign(lait_name=regions["region_name"].str.lower()).reset_index(drop=True)
    return Geography(las, regions)


def load_lait(lait_path: Path) -> pd.DataFrame:
    """LAIT rows of the mapped measures: lait_code, time_period, la_number, area_name, raw."""
    lait = pd.read_parquet(lait_path, columns=["Short Desc", "Years", "LA and Regions", "Values", "LA Number"])
    lait = lait[lait["Short Desc"].isin(LAIT_MEASURES)].dropna(subset=["LA Number"])
    return pd.DataFrame(
        {
            "lait_code": lait["Short Desc"].astype(str).to_numpy(),
            "time_period": lait["Years"].map(time_period_of).to_numpy(),
            "la_number": lait["LA Number"].astype(int).to_numpy(),
            "area_name": lait["LA and Regions"].astype(str).to_numpy(),
            "raw": lait["Values"].to_numpy(),
        }
    )


def _areas(lait: pd.DataFrame, geography: Geography) -> pd.DataFrame:
    """LAIT's area numbers -> EES areas: area_level, area_code, the EES geography columns."""
    numbers = lait[["la_number", "area_name"]].drop_duplicates("la_number")
    rows = []
    regions_by_name = geography.regions.set_index("lait_name")
    las = geography.local_authorities.set_index("old_la_code")
    for number, name in numbers.itertuples(index=False):
        if number == ENGLAND_NUMBER:
            rows.append(("National", "national", ENGLAND_CODE, "", "", "", "", ""))
        elif 970 < number < 1000:  # LAIT's regions are 980-990
            key = LAIT_REGION_ALIASES.get(name.lower(), name.lower())
            region = regions_by_name.loc[key]
            rows.append(("Regional", "regional", region["region_code"], region["region_code"], region["region_name"], "", "", ""))
        else:
            code = f"{number:03d}"
            if code not in las.index:
                raise KeyError(f"LAIT LA {number} ({name}) has no EES code in ees_real")
            la = las.loc[code]
            rows.append(("Local authority", "local_authority", code, la["region_code"], la["region_name"], code, la["la_name"], la["new_la_code"]))
    areas = pd.DataFrame(
        rows,
        columns=["geographic_level", "area_level", "area_code", "region_code", "region_name", "old_la_code", "la_name", "new_la_code"],
    )
    areas.insert(0, "la_number", numbers["la_number"].to_numpy())
    return areas


def lait_values(lait_path: Path, ees_ks2_path: Path) -> pd.DataFrame:
    """One row per measure x breakdown x area x period that the backtest files hold, with LAIT's
    value (NaN when not published) and the area's EES geography."""
    lait = load_lait(lait_path)
    geography = load_geography(ees_ks2_path)
    areas = _areas(lait, geography)
    measures = pd.DataFrame(
        [(code, *spec) for code, spec in LAIT_MEASURES.items()],
        columns=["lait_code", "dataset", "measure_code", "breakdown", "indicator", "decimal_places"],
    )
    periods = sorted(lait["time_period"].unique())

    # Every area x every LAIT period x every mapped measure; LAIT lacks some measures in some years.
    grid = measures.merge(areas, how="cross").merge(pd.DataFrame({"time_period": periods}), how="cross")
    grid = grid.merge(lait[["lait_code", "la_number", "time_period", "raw"]], on=["lait_code", "la_number", "time_period"], how="left")
    grid["cell"] = grid["raw"].map(ees_cell)
    grid.loc[(grid["dataset"] == "ks2") & grid["time_period"].isin(KS2_NOT_PUBLISHED), "cell"] = "x"

    # Reorganised LAs exist only over the years LAIT publishes them, per dataset.
    published = grid[~grid["cell"].isin(["x", "c"])]
    spans = (
        published[published["area_code"].isin(REORGANISED_LAS) & (published["area_level"] == "local_authority")]
        .groupby(["dataset", "area_code"])["time_period"]
        .agg(first="min", last="max")
        .reset_index()
    )
    grid = grid.merge(spans, on=["dataset", "area_code"], how="left")
    exists = grid["first"].isna() | grid["time_period"].between(grid["first"], grid["last"])
    grid = grid[exists & ~(grid["area_code"].isin(REORGANISED_LAS) & grid["first"].isna())]

    grid["value"] = pd.to_numeric(grid["cell"], errors="coerce")
    columns = [
        "dataset", "measure_code", "breakdown", "indicator", "decimal_places", "time_period", "area_level", "area_code",
        "geographic_level", "region_code", "region_name", "old_la_code", "la_name", "new_la_code", "cell", "value",
    ]
    return grid[columns].sort_values(["dataset", "measure_code", "breakdown", "time_period", "area_level", "area_code"]).reset_index(drop=True)


def ees_frame(values: pd.DataFrame, dataset: str, version_of) -> pd.DataFrame:
    """The wide EES file for one dataset: one row per area x period x breakdown; indicators a
    breakdown row has no LAIT figure for are 'x'. ``version_of(time_period) -> str``."""
    rows = values[values["dataset"] == dataset]
    keys = ["time_period", "geographic_level", "region_code", "region_name", "old_la_code", "la_name", "new_la_code", "breakdown"]
    wide = rows.pivot_table(index=keys, columns="indicator", values="cell", aggfunc="first").reset_index()
    for indicator in INDICATORS[dataset]:
        if indicator not in wide:
            wide[indicator] = "x"
    wide[INDICATORS[dataset]] = wide[INDICATORS[dataset]].fillna("x")
    filters = wide["breakdown"].map(BREAKDOWN_FILTERS)
    frame = pd.DataFrame(
        {
            "time_period": wide["time_period"].astype(int),
            "time_identifier": "Academic year",
            "geographic_level": wide["geographic_level"],
            "country_code": ENGLAND_CODE,
            "country_name": "England",
            "region_code": wide["region_code"],
            "region_name": wide["region_name"],
            "old_la_code": wide["old_la_code"],
            "la_name": wide["la_name"],
            "new_la_code": wide["new_la_code"],
            "version": wide["time_period"].map(version_of),
            "breakdown_topic": filters.str[0],
            "breakdown": filters.str[1],
            "sex": filters.str[2],
        }
    )
    for indicator in INDICATORS[dataset]:
        frame[indicator] = wide[indicator].to_numpy()
    level_order = frame["geographic_level"].map({"National": 0, "Regional": 1, "Local authority": 2})
    return frame.assign(_level=level_order).sort_values(
        ["time_period", "_level", "region_code", "old_la_code", "breakdown_topic", "breakdown"], ascending=[False, True, True, True, False, True]
    ).drop(columns="_level").reset_index(drop=True)


def write_ees(frame: pd.DataFrame, path: Path, dataset: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    meta = [
        ("version", "Filter", "Version", "", "", "", ""),
        ("breakdown_topic", "Filter", "Breakdown topic", "", "", "Filter by pupil characteristic", ""),
        ("breakdown", "Filter", "Breakdown", "", "", "Filter by characteristic value", "breakdown_topic"),
        ("sex", "Filter", "Sex", "", "", "Filter by sex", ""),
    ] + [(i, "Indicator", INDICATOR_LABELS[i][0], "", INDICATOR_LABELS[i][1], "", "") for i in INDICATORS[dataset]]
    pd.DataFrame(
        meta, columns=["col_name", "col_type", "label", "indicator_grouping", "indicator_unit", "filter_hint", "filter_grouping_column"]
    ).to_csv(path.with_name(path.name[: -len(".csv")] + ".meta.csv"), index=False)
    return path


@dataclass(frozen=True)
class BacktestSources:
    sources_file: Path
    values: pd.DataFrame  # lait_values(): what the final/revised files hold
    latest_period: int


def write_backtest_sources(out_dir: Path, lait_path: Path, ees_ks2_path: Path, sn_path: Path) -> BacktestSources:
    """Write ks2/ks2_lait.csv, ks2/ks2_2022_provisional.csv, ks4/ks4_lait.csv (each with its
    .meta.csv) and sources.yml listing them and DfE's statistical neighbour file."""
    out_dir = Path(out_dir)
    values = lait_values(lait_path, ees_ks2_path)
    latest = int(values["time_period"].max())

    def final_except_latest(period: int) -> str:
        return "Revised" if period == latest else "Final"

    write_ees(ees_frame(values, "ks2", final_except_latest), out_dir / "ks2" / "ks2_lait.csv", "ks2")
    write_ees(ees_frame(values, "ks4", final_except_latest), out_dir / "ks4" / "ks4_lait.csv", "ks4")

    # DfE's provisional 2021/22 KS2 release: LAIT's (revised) figures but for St Helens' RWM.
    provisional = values[(values["dataset"] == "ks2") & (values["time_period"] == 202122)].copy()
    st_helens_rwm = (
        (provisional["area_code"] == ST_HELENS)
        & (provisional["area_level"] == "local_authority")
        & (provisional["measure_code"] == "ks2_rwm_expected")
        & (provisional["breakdown"] == "all")
    )
    assert st_helens_rwm.sum() == 1
    provisional.loc[st_helens_rwm, "cell"] = str(ST_HELENS_PROVISIONAL_RWM)
    write_ees(ees_frame(provisional, "ks2", lambda _: "Provisional"), out_dir / "ks2" / "ks2_2022_provisional.csv", "ks2")

    sources_file = out_dir / "sources.yml"
    sources_file.write_text(
        "# Backtest release built from LAIT at test time (tests/backtest_fixtures.py).\n"
        "datasets:\n"
        "  ks2:\n"
        "    files:\n"
        "      - ks2/ks2_lait.csv\n"
        "      - {path: ks2/ks2_2022_provisional.csv, release: provisional}\n"
        "  ks4:\n"
        "    files:\n"
        "      - ks4/ks4_lait.csv\n"
        "  statistical_neighbours:\n"
        "    files:\n"
        f"      - {json.dumps(str(Path(sn_path).resolve()))}\n"
    )
    return BacktestSources(sources_file, values, latest)


def load_neighbours(sn_path: Path) -> pd.DataFrame:
    """DfE's statistical neighbour model, long: old_la_code, neighbour_rank, neighbour_old_la_code."""
    wide = pd.read_csv(sn_path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    wide.columns = [c.strip().lower() for c in wide.columns]
    rows = []
    for record in wide.to_dict("records"):
        own = record["old_la_code"].strip()
        for rank in range(1, 11):
            neighbour = str(record.get(f"sn_{rank}", "")).strip()
            if own and neighbour:
                rows.append((own, rank, neighbour))
    return pd.DataFrame(rows, columns=["old_la_code", "neighbour_rank", "neighbour_old_la_code"])


if __name__ == "__main__":  # a manual look at the files: python -m tests.backtest_fixtures OUT_DIR
    import sys

    reference = Path(__file__).resolve().parents[2] / "shared" / "reference"
    built = write_backtest_sources(
        Path(sys.argv[1]),
        reference / "lait" / "bds_long.parquet",
        reference / "ees_real" / "ks2_la.csv",
        reference / "ees_real" / "sn_model_2025_wide.csv",
    )
    print(built.sources_file, len(built.values))
