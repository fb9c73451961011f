"""Backtest fixtures: DfE's LAIT figures rewritten as the EES files the pipeline reads.

LAIT (the Local Authority Interactive Tool) publishes, per indicator, every LA's value with the
England and regional figures. Nothing derived from it is committed: `write_backtest_sources`
builds the files in a temporary folder at test time from ../shared/reference:

- ``lait/bds_long.parquet``: LAIT's long table (``Short Desc`` = LAIT code, ``Years`` = the
  year label, ``Values`` as text, ``LA Number``);
- ``lait/lait_data_dictionary.csv``: each LAIT code's description and polarity;
- ``ees_real/ks2_la.csv``: a real EES file, used only to name areas (LA number -> new LA code,
  name and region; region name -> region code) the way DfE's own files do;
- ``ees_real/sn_model_2025_wide.csv``: DfE's statistical neighbour model, listed as it is.

Each dataset gets the file layout its real EES files have (filters, header spelling, renamed
indicators), including rows a naive reader would wrongly take for the headline: LAIT's own
figures for other school types, FSM and SEN groups are written as those filter rows.

`lait_values` gives the measures' figures as a long table (one row per measure x breakdown x
area x period actually written), which the backtest recomputes LAIT's comparisons from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# LAIT code -> (dataset, catalogue measure_code, breakdown, EES indicator column, decimal places,
# filter values), from the catalogue's lait_code column (dbt_project/seeds/measure_catalogue.csv).
# Each row is written with the filter values of the first alternative in its `filters` cell (the
# EES tidy layout: breakdown_topic / breakdown, school_type, social_care_group, characteristic),
# every other filter Total. The codes and their meaning are LAIT's (lait_data_dictionary.csv);
# oddities such as "KS1W_Expected _STD" and "Total_ Pup_FixedEx" really contain a space.
# LAIT's FSP_Gooddev_FSM_Other ("all other children") is not the catalogue's "not known to be
# eligible for FSM" group, so it is a decoy rather than compared.
CATALOGUE = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "measure_catalogue.csv"


def catalogue_lait_rows() -> pd.DataFrame:
    """The catalogue rows that name LAIT's code for the same measure and breakdown."""
    catalogue = pd.read_csv(CATALOGUE, dtype=str, keep_default_na=False)
    rows = catalogue[catalogue["lait_code"] != ""].copy()
    rows["decimal_places"] = rows["decimal_places"].astype(int)
    return rows


def first_filters(cell: str) -> dict[str, str]:
    """The filter values of a catalogue `filters` cell's first alternative ('' -> {})."""
    first = cell.split("|")[0]
    return dict(pair.split("=", 1) for pair in first.split(";") if pair)


def _lait_measures() -> dict[str, tuple[str, str, str, str, int, dict[str, str]]]:
    rows = catalogue_lait_rows()
    rows = rows[rows["dataset"].isin(BASE_FILTERS)]
    return {
        r.lait_code: (
            r.dataset,
            r.measure_code,
            r.breakdown,
            r.indicator_column,
            r.decimal_places,
            first_filters(r.filters),
        )
        for r in rows.itertuples(index=False)
    }


# LAIT figures written into the files as rows that must NOT be read as a catalogue row:
# LAIT code -> (dataset, EES indicator column, the row's filter values).
LAIT_DECOYS: dict[str, tuple[str, str, dict[str, str]]] = {
    "FSP_Gooddev_FSM_Other": (
        "eyfs",
        "gld_percentage",
        {"breakdown_topic": "Free school meals", "breakdown": "All other children"},
    ),
    # an indicator the NEET files carry that the catalogue does not publish
    "16-17_not known": ("neet", "notknown_percent", {"age": "16-17"}),
}

# Filter columns every file of the dataset has, as the real EES files have them; the columns the
# compared rows name are added (DATASET_FILTERS).
BASE_FILTERS: dict[str, list[str]] = {
    "eyfs": ["breakdown_topic", "breakdown", "sex"],
    "phonics": ["breakdown_topic", "breakdown", "sex"],
    "ks1": ["breakdown_topic", "breakdown", "sex"],
    "ks2": ["breakdown_topic", "breakdown", "sex"],
    "ks4": ["breakdown_topic", "breakdown", "sex"],
    "ks5": ["breakdown_topic", "breakdown", "sex"],
    "age19": ["breakdown_topic", "breakdown"],
    "absence": ["school_type"],
    "exclusions": ["school_type"],
    "neet": ["age"],
    "ks4_destinations": ["institution_group", "institution_type", "breakdown_topic", "breakdown", "data_type"],
}
DATASETS = list(BASE_FILTERS)
LAIT_MEASURES = _lait_measures()
DATASET_FILTERS: dict[str, list[str]] = {
    dataset: base
    + sorted({column for d, *_, named in LAIT_MEASURES.values() if d == dataset for column in named} - set(base))
    for dataset, base in BASE_FILTERS.items()
}

# The NEET headline is the 16-17 age group, not an age 'Total'.
HEADLINE_FILTERS: dict[str, dict[str, str]] = {
    "neet": {"age": "16-17"},
    # KS4 destinations: state-funded mainstream schools' percentages (the files have no Total of either)
    "ks4_destinations": {"institution_group": "State-funded mainstream schools", "data_type": "Percentage"},
}

# Academic years whose results were not published: the files carry the rows, all "x".
NOT_PUBLISHED: dict[str, set[int]] = {
    "ks2": {201920, 202021},
    "ks1": {201920, 202021},
    "phonics": {201920, 202021},
    "absence": {201920},
}
# The EYFS profile was not collected in 2019/20 or 2020/21: DfE's files have no such rows.
NO_ROWS: dict[str, set[int]] = {"eyfs": {201920, 202021}}
# NEET is published for calendar years (time_period 2023, "Calendar year").
CALENDAR_YEAR_DATASETS = {"neet"}

# Names DfE gave KS4 indicators for 2024/25 (dbt_project.yml aliases map them back).
KS4_2025_NAMES = {
    "avg_att8": "attainment8_average",
    "avg_p8score": "progress8_average",
    "pt_l2basics_95": "engmath_95_percent",
    "pt_l2basics_94": "engmath_94_percent",
    "pt_ebacc_e_ptq_ee": "ebacc_entering_percent",
    "avg_ebaccaps": "ebacc_aps_average",
}
# Suspensions were "fixed period exclusions" in the 2015/16-2017/18 files.
EXCLUSIONS_OLD_NAMES = {"susp_rate": "fixed_excl_rate"}
EXCLUSIONS_OLD_UNTIL = 201718
# The NEET files' headers as DfE writes them; the ingest lower-cases headers.
NEET_HEADERS = {
    "age": "Age",
    "neet_percent": "NEET_percent",
    "neet_not_known_percent": "NEET_not_known_percent",
    "notknown_percent": "Notknown_percent",
    "total_participating_in_education_and_training_percent": "TOTAL_participating_in_education_and_training_percent",
}

STANDARD_COLUMNS = [
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

ENGLAND_NUMBER = 970
ENGLAND_CODE = "E92000001"
LONDON_CODE = "E12000007"
LONDON_SUBREGIONS = {"E13000001", "E13000002"}
# LAIT names the London sub-regions differently from EES.
LAIT_REGION_ALIASES = {"london (inner)": "inner london", "london (outer)": "outer london"}

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

_YEAR_LABEL = re.compile(r"^(\d{4})(?:/(\d{2}))?\s*(?:\((\w+)\))?$")
_RELEASE_SUFFIX = {"prov": "Provisional", "rev": "Revised", "final": "Final"}


def time_period_of(lait_year: str | int, dataset: str = "ks2") -> int:
    """LAIT's year label as an EES time_period. '2016' is the academic year ending then (201516)
    except for calendar-year datasets (NEET: 2016); '2015/16' is 201516; a release suffix such as
    '2025 (prov)' or '2018 (Rev)' is ignored here (see release_of)."""
    match = _YEAR_LABEL.match(str(lait_year).strip())
    if not match:
        raise ValueError(f"unexpected LAIT year label {lait_year!r}")
    start, end, _ = match.groups()
    if end is not None:
        return int(start) * 100 + int(end)
    year = int(start)
    return year if dataset in CALENDAR_YEAR_DATASETS else (year - 1) * 100 + year % 100


def release_of(lait_year: str) -> str | None:
    """The EES version a LAIT year label names ('2025 (prov)' -> Provisional), if any."""
    match = _YEAR_LABEL.match(str(lait_year).strip())
    suffix = match.group(3) if match else None
    return _RELEASE_SUFFIX.get(suffix.lower()) if suffix else None


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
        .drop_duplicates("old_la_code", keep="last")[
            ["old_la_code", "new_la_code", "la_name", "region_code", "region_name"]
        ]
        .reset_index(drop=True)
    )
    regions = ees[ees["geographic_level"] == "Regional"][["region_code", "region_name"]].drop_duplicates("region_code")
    regions = regions.assign(lait_name=regions["region_name"].str.lower()).reset_index(drop=True)
    return Geography(las, regions)


def load_polarity(dictionary_path: Path) -> dict[str, str]:
    """LAIT code -> 'high' / 'low' from LAIT's data dictionary (independent of our catalogue)."""
    dictionary = pd.read_csv(dictionary_path, dtype=str, keep_default_na=False)
    return {row["Measure_short"]: row["Polarity"].strip().lower() for _, row in dictionary.iterrows()}


def load_lait(lait_path: Path, codes: dict[str, str]) -> pd.DataFrame:
    """LAIT rows of ``codes`` (LAIT code -> dataset): lait_code, time_period, lait_release,
    la_number, area_name, raw."""
    lait = pd.read_parquet(lait_path, columns=["Short Desc", "Years", "LA and Regions", "Values", "LA Number"])
    lait = lait[lait["Short Desc"].isin(codes)].dropna(subset=["LA Number"])
    # LAIT holds a stray year '0' (CINPermExclusion, every value '-'): a label that names no year is no figure
    lait = lait[lait["Years"].astype(str).str.strip().map(lambda label: _YEAR_LABEL.match(label) is not None)]
    datasets = lait["Short Desc"].map(codes)
    return pd.DataFrame(
        {
            "lait_code": lait["Short Desc"].astype(str).to_numpy(),
            "time_period": [time_period_of(y, d) for y, d in zip(lait["Years"], datasets)],
            "lait_release": lait["Years"].map(release_of).to_numpy(),
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
            rows.append(
                (
                    "Regional",
                    "regional",
                    region["region_code"],
                    region["region_code"],
                    region["region_name"],
                    "",
                    "",
                    "",
                )
            )
        else:
            code = f"{number:03d}"
            if code not in las.index:
                raise KeyError(f"LAIT LA {number} ({name}) has no EES code in ees_real")
            la = las.loc[code]
            rows.append(
                (
                    "Local authority",
                    "local_authority",
                    code,
                    la["region_code"],
                    la["region_name"],
                    code,
                    la["la_name"],
                    la["new_la_code"],
                )
            )
    areas = pd.DataFrame(
        rows,
        columns=[
            "geographic_level",
            "area_level",
            "area_code",
            "region_code",
            "region_name",
            "old_la_code",
            "la_name",
            "new_la_code",
        ],
    )
    areas.insert(0, "la_number", numbers["la_number"].to_numpy())
    return areas


def _filter_values(dataset: str, named: dict[str, str]) -> dict[str, str]:
    """Every filter column of the dataset's files: the named values, the rest Total."""
    values = {column: "Total" for column in DATASET_FILTERS[dataset]}
    values.update(HEADLINE_FILTERS.get(dataset, {}))
    values.update(named)
    return values


def lait_cells(lait_path: Path, ees_ks2_path: Path, dictionary_path: Path) -> pd.DataFrame:
    """Every cell the backtest files hold: the compared measures and the decoy rows. One row per
    LAIT code x area x period of its dataset, with the EES cell, filters and version."""
    specs = pd.DataFrame(
        [
            (code, d, m, b, i, dp, json.dumps(_filter_values(d, named)), True)
            for code, (d, m, b, i, dp, named) in LAIT_MEASURES.items()
        ]
        + [
            (code, d, None, None, i, None, json.dumps(_filter_values(d, f)), False)
            for code, (d, i, f) in LAIT_DECOYS.items()
        ],
        columns=[
            "lait_code",
            "dataset",
            "measure_code",
            "breakdown",
            "indicator",
            "decimal_places",
            "filters",
            "is_measure",
        ],
    )
    lait = load_lait(lait_path, dict(zip(specs["lait_code"], specs["dataset"])))
    geography = load_geography(ees_ks2_path)
    areas = _areas(lait, geography)
    polarity = load_polarity(dictionary_path)
    specs["polarity"] = specs["lait_code"].map(polarity)

    # Every area x every period of the dataset (those of its compared measures) x every code.
    lait = lait.merge(specs[["lait_code", "dataset", "is_measure"]], on="lait_code")
    measure_rows = lait[lait["is_measure"]]
    periods = measure_rows[["dataset", "time_period"]].drop_duplicates()
    grid = specs.merge(areas, how="cross").merge(periods, on="dataset")
    grid = grid.merge(
        lait[["lait_code", "la_number", "time_period", "raw"]], on=["lait_code", "la_number", "time_period"], how="left"
    )
    grid["cell"] = grid["raw"].map(ees_cell)
    for dataset, years in NOT_PUBLISHED.items():
        grid.loc[(grid["dataset"] == dataset) & grid["time_period"].isin(years), "cell"] = "x"
    for dataset, years in NO_ROWS.items():
        grid = grid[~((grid["dataset"] == dataset) & grid["time_period"].isin(years))]

    # The release of each dataset's period: as LAIT labels it ('2025 (prov)', '2018 (Rev)'), else
    # final, but revised for the dataset's latest period.
    labelled = (
        measure_rows.dropna(subset=["lait_release"])
        .groupby(["dataset", "time_period"])["lait_release"]
        .first()
        .rename("version")
    )
    grid = grid.merge(labelled.reset_index(), on=["dataset", "time_period"], how="left")
    latest = grid.groupby("dataset")["time_period"].transform("max")
    grid["version"] = grid["version"].fillna(grid["time_period"].eq(latest).map({True: "Revised", False: "Final"}))

    # Reorganised LAs exist only over the years LAIT publishes them, per dataset.
    published = grid[grid["is_measure"] & ~grid["cell"].isin(["x", "c"])]
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
    grid["release"] = grid["version"].str.lower()
    return grid.drop(columns=["raw", "first", "last", "la_number"]).reset_index(drop=True)


def lait_values(lait_path: Path, ees_ks2_path: Path, dictionary_path: Path) -> pd.DataFrame:
    """One row per measure x breakdown x area x period that the backtest files hold, with LAIT's
    value (NaN when not published), its release, LAIT's polarity and the area's EES geography."""
    return measure_values(lait_cells(lait_path, ees_ks2_path, dictionary_path))


def measure_values(cells: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "lait_code",
        "dataset",
        "measure_code",
        "breakdown",
        "indicator",
        "decimal_places",
        "polarity",
        "time_period",
        "release",
        "area_level",
        "area_code",
        "geographic_level",
        "region_code",
        "region_name",
        "old_la_code",
        "la_name",
        "new_la_code",
        "cell",
        "value",
    ]
    values = cells[cells["is_measure"]][columns].copy()
    values["decimal_places"] = values["decimal_places"].astype(int)
    return values.sort_values(
        ["dataset", "measure_code", "breakdown", "time_period", "area_level", "area_code"]
    ).reset_index(drop=True)


def ees_frame(cells: pd.DataFrame, dataset: str, rename: dict[str, str] | None = None) -> pd.DataFrame:
    """The wide EES file for one dataset: one row per area x period x filter combination; an
    indicator a row has no LAIT figure for is 'x'. ``rename`` gives file-specific column names."""
    rows = cells[cells["dataset"] == dataset]
    indicators = sorted(rows["indicator"].unique())
    keys = [
        "time_period",
        "version",
        "geographic_level",
        "region_code",
        "region_name",
        "old_la_code",
        "la_name",
        "new_la_code",
        "filters",
    ]
    wide = rows.pivot_table(index=keys, columns="indicator", values="cell", aggfunc="first").reset_index()
    wide[indicators] = wide[indicators].fillna("x")
    filters = pd.DataFrame([json.loads(f) for f in wide["filters"]], index=wide.index)[DATASET_FILTERS[dataset]]
    calendar = dataset in CALENDAR_YEAR_DATASETS
    frame = pd.DataFrame(
        {
            "time_period": wide["time_period"].astype(int),
            "time_identifier": "Calendar year" if calendar else "Academic year",
            "geographic_level": wide["geographic_level"],
            "country_code": ENGLAND_CODE,
            "country_name": "England",
            "region_code": wide["region_code"],
            "region_name": wide["region_name"],
            "old_la_code": wide["old_la_code"],
            "la_name": wide["la_name"],
            "new_la_code": wide["new_la_code"],
            "version": wide["version"],
        }
    )
    frame = pd.concat([frame, filters, wide[indicators]], axis=1)
    level_order = frame["geographic_level"].map({"National": 0, "Regional": 1, "Local authority": 2})
    frame = (
        frame.assign(_level=level_order)
        .sort_values(
            ["time_period", "_level", "region_code", "old_la_code", *DATASET_FILTERS[dataset]],
            ascending=[False, True, True, True, *[True] * len(DATASET_FILTERS[dataset])],
        )
        .drop(columns="_level")
        .reset_index(drop=True)
    )
    return frame.rename(columns=rename or {})


def write_ees(frame: pd.DataFrame, path: Path, dataset: str) -> Path:
    """The CSV and its .meta.csv (filters and indicators as EES lists them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    lower = {c.lower(): c for c in frame.columns}
    meta = [("version", "Filter", "Version", "", "", "", "")]
    meta += [(lower[f], "Filter", f.replace("_", " ").capitalize(), "", "", "", "") for f in DATASET_FILTERS[dataset]]
    meta += [
        (
            c,
            "Indicator",
            c.replace("_", " "),
            "",
            "%" if re.search(r"(percent|percentage|rate)$|^pt_", c.lower()) else "",
            "",
            "",
        )
        for c in frame.columns
        if c not in STANDARD_COLUMNS and c.lower() not in DATASET_FILTERS[dataset]
    ]
    pd.DataFrame(
        meta,
        columns=[
            "col_name",
            "col_type",
            "label",
            "indicator_grouping",
            "indicator_unit",
            "filter_hint",
            "filter_grouping_column",
        ],
    ).to_csv(path.with_name(path.name[: -len(".csv")] + ".meta.csv"), index=False)
    return path


@dataclass(frozen=True)
class BacktestSources:
    sources_file: Path
    values: pd.DataFrame  # lait_values(): what the files hold for the compared measures


def write_backtest_sources(
    out_dir: Path, lait_path: Path, ees_ks2_path: Path, sn_path: Path, dictionary_path: Path
) -> BacktestSources:
    """Write one release per dataset (each file with its .meta.csv) and a sources.yml listing them
    and DfE's statistical neighbour file. Real naming differences are reproduced: KS4 2024/25 in
    its own file with the 2024/25 indicator names, exclusions before 2018/19 with
    fixed_excl_rate, NEET with DfE's capitalised headers; KS2 2021/22 and 16-18 2024/25 also
    come as provisional files."""
    out_dir = Path(out_dir)
    cells = lait_cells(lait_path, ees_ks2_path, dictionary_path)
    values = measure_values(cells)
    files: dict[str, list[str]] = {d: [] for d in DATASETS}

    def write(frame: pd.DataFrame, name: str, dataset: str, release: str | None = None) -> None:
        write_ees(frame, out_dir / dataset / name, dataset)
        files[dataset].append(
            f"{dataset}/{name}" if release is None else json.dumps({"path": f"{dataset}/{name}", "release": release})
        )

    for dataset in DATASETS:
        frame = ees_frame(cells, dataset, NEET_HEADERS if dataset == "neet" else None)
        if dataset == "ks4":
            write(frame[frame["time_period"] < 202425], "ks4_lait.csv", dataset)
            renamed = frame[frame["time_period"] == 202425].rename(columns=KS4_2025_NAMES)
            write(renamed, "ks4_2025.csv", dataset)
        elif dataset == "exclusions":
            old = frame[frame["time_period"] <= EXCLUSIONS_OLD_UNTIL].rename(columns=EXCLUSIONS_OLD_NAMES)
            write(old, "exclusions_2016_2018.csv", dataset)
            write(frame[frame["time_period"] > EXCLUSIONS_OLD_UNTIL], "exclusions_lait.csv", dataset)
        else:
            write(frame, f"{dataset}_lait.csv", dataset)

    # DfE's provisional 2021/22 KS2 release: LAIT's (revised) figures but for St Helens' RWM.
    provisional = cells[(cells["dataset"] == "ks2") & (cells["time_period"] == 202122)].copy()
    st_helens_rwm = (
        (provisional["area_code"] == ST_HELENS)
        & (provisional["area_level"] == "local_authority")
        & (provisional["measure_code"] == "ks2_rwm_expected")
        & (provisional["breakdown"] == "all")
    )
    assert st_helens_rwm.sum() == 1
    provisional.loc[st_helens_rwm, "cell"] = str(ST_HELENS_PROVISIONAL_RWM)
    write(ees_frame(provisional.assign(version="Provisional"), "ks2"), "ks2_2022_provisional.csv", "ks2", "provisional")
    # 16-18's provisional 2024/25 release, which the revised figures supersede unchanged.
    latest_ks5 = cells[cells["dataset"] == "ks5"]["time_period"].max()
    provisional_ks5 = cells[(cells["dataset"] == "ks5") & (cells["time_period"] == latest_ks5)].assign(
        version="Provisional"
    )
    write(ees_frame(provisional_ks5, "ks5"), "ks5_2025_provisional.csv", "ks5", "provisional")

    lines = ["# Backtest release built from LAIT at test time (tests/backtest_fixtures.py).", "datasets:"]
    for dataset, listed in files.items():
        lines += [f"  {dataset}:", "    files:"] + [f"      - {entry}" for entry in listed]
    lines += ["  statistical_neighbours:", "    files:", f"      - {json.dumps(str(Path(sn_path).resolve()))}"]
    sources_file = out_dir / "sources.yml"
    sources_file.write_text("\n".join(lines) + "\n")
    return BacktestSources(sources_file, values)


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
        reference / "lait" / "lait_data_dictionary.csv",
    )
    print(built.sources_file, len(built.values))
