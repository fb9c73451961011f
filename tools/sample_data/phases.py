"""Deterministic synthetic DfE releases for the phases beyond KS2/KS4: EYFS, phonics, KS1, 16-18
(KS5), level 2/3 at 19, absence, suspensions and exclusions, and NEET at 16-17.

Built the same way as the KS2/KS4 sample in `generator`: every LA keeps the latent
characteristics drawn there (deprivation, quality, cohort size, disadvantaged share), each
dataset adds its own persistent LA component and year-to-year drift from keyed random streams,
integer cells are simulated per LA and year, and every LA, regional and national row is an
aggregate of those cells. National levels are solved per year to land near DfE's published
England figures; all arithmetic that reaches the files is integer or Decimal.

The streams here are keyed by dataset name, so adding or changing a dataset never moves a byte
of the KS2/KS4/statistical-neighbour files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .generator import (
    CELL_KEYS,
    FILTER_META,
    FILTER_ROWS,
    META_COLUMNS,
    STANDARD_COLUMNS,
    YEARS,
    Area,
    LatentLA,
    _areas,
    _binomial,
    _csv_bytes,
    _drift,
    _fmt_ratio,
    _largest_cell,
    _rng,
    _sigmoid,
    _solve_logit_offset,
    _sum_vectors,
    _write_atomic,
    extend_cells,
)
from .geography import COUNTRY_CODE, COUNTRY_NAME, LONDON

CITY_OF_LONDON = "201"
ISLES_OF_SCILLY = "420"

Cell = tuple[object, str]  # (group flag or age, sex) - the unit every published row sums
Cells = dict[str, dict[Cell, tuple[int, ...]]]  # old LA code -> cell -> integer vector
FilterRows = list[tuple[tuple[str, ...], tuple[Cell, ...]]]
Formatter = Callable[[tuple[int, ...], Area, bool], list[str]]

# Years each dataset publishes (the index into YEARS drives trends and drifts).
EYFS_NOT_COLLECTED = frozenset({"201920", "202021"})  # no rows at all
ASSESSMENTS_CANCELLED = frozenset({"201920", "202021"})  # phonics, KS1: rows of x
ABSENCE_NOT_COLLECTED = frozenset({"201920"})  # full-year absence: rows of x
KS1_YEARS = YEARS[:8]  # statutory KS1 assessment ended after 2022/23
AGE19_YEARS = YEARS[:9]  # the year the cohort turned 19; 2024/25 not yet published
EXCLUSIONS_YEARS = YEARS[:9]
EXCLUSIONS_OLD_NAME_YEARS = YEARS[:3]  # DfE's files to 2017/18 say fixed_excl_rate
NEET_YEARS = tuple(str(2016 + i) for i in range(len(YEARS)))  # calendar years, Dec-Feb average
# KS4 destinations: the destination year, the year after the cohort's key stage 4 (2016/17 to 2023/24)
DESTINATION_YEARS = YEARS[1:9]

# ---------------------------------------------------------------------------------------------
# National targets (England, state-funded), close to DfE's published figures. Years in which
# nothing is published still get a value so the cells stay continuous; those rows print x.

EYFS_TARGETS = {  # good level of development %, all early learning goals %
    "201516": (69.3, 67.3),
    "201617": (70.7, 69.0),
    "201718": (71.5, 70.2),
    "201819": (71.8, 70.7),
    "201920": (71.8, 70.7),
    "202021": (71.8, 70.7),
    "202122": (65.2, 63.4),
    "202223": (67.2, 65.6),
    "202324": (67.7, 66.2),
    "202425": (68.3, 66.9),
}
PHONICS_TARGETS = {  # year 1 pupils meeting the expected standard %
    "201516": (81,),
    "201617": (81,),
    "201718": (82,),
    "201819": (82,),
    "201920": (80,),
    "202021": (77,),
    "202122": (75,),
    "202223": (79,),
    "202324": (79,),
    "202425": (80,),
}
KS1_TARGETS = {  # reading, writing, maths: expected standard %
    "201516": (74, 65, 73),
    "201617": (76, 68, 75),
    "201718": (75, 70, 76),
    "201819": (75, 69, 76),
    "201920": (73, 66, 74),
    "202021": (70, 62, 71),
    "202122": (67, 58, 68),
    "202223": (68, 60, 70),
}
KS5_TARGETS = {  # A level APS per entry, AAB or better %, three A*-A %
    "201516": (30.44, 18.5, 10.5),
    "201617": (31.13, 19.3, 11.1),
    "201718": (32.12, 18.2, 10.7),
    "201819": (32.87, 18.4, 10.8),
    "201920": (38.55, 30.4, 19.9),  # centre assessment grades
    "202021": (40.46, 37.6, 25.3),  # teacher assessed grades
    "202122": (37.86, 31.4, 20.3),
    "202223": (34.16, 22.5, 13.7),
    "202324": (34.38, 23.4, 14.5),
    "202425": (34.99, 24.3, 14.9),
}
AGE19_TARGETS = {  # level 2 with English and maths by 19 %, level 3 by 19 %
    "201516": (68.9, 57.1),
    "201617": (69.0, 57.6),
    "201718": (68.6, 57.5),
    "201819": (68.9, 57.2),
    "201920": (68.5, 57.4),
    "202021": (70.6, 59.5),
    "202122": (72.1, 60.1),
    "202223": (75.8, 59.2),
    "202324": (73.8, 57.6),
}
ABSENCE_TARGETS = {  # overall absence %, persistently absent (10%+) enrolments %
    "201516": (4.6, 10.5),
    "201617": (4.7, 10.8),
    "201718": (4.8, 11.2),
    "201819": (4.7, 10.9),
    "201920": (4.7, 10.9),
    "202021": (4.6, 12.1),
    "202122": (7.6, 22.5),
    "202223": (7.4, 22.3),
    "202324": (7.1, 20.0),
    "202425": (6.9, 18.5),
}
EXCLUSIONS_TARGETS = {  # permanent exclusions per 100 pupils, suspensions per 100 pupils
    "201516": (0.08, 4.29),
    "201617": (0.10, 4.76),
    "201718": (0.10, 5.08),
    "201819": (0.10, 5.36),
    "201920": (0.06, 3.76),
    "202021": (0.05, 4.25),
    "202122": (0.08, 6.91),
    "202223": (0.11, 9.33),
    "202324": (0.13, 10.90),
}
NEET_TARGETS = {  # NEET %, not known % of the 16-17 cohort (Dec-Feb average)
    "2016": (2.8, 3.2),
    "2017": (2.7, 3.3),
    "2018": (2.7, 2.8),
    "2019": (2.6, 2.9),
    "2020": (2.7, 2.8),
    "2021": (2.8, 2.7),
    "2022": (2.6, 2.1),
    "2023": (2.8, 2.4),
    "2024": (3.2, 2.2),
    "2025": (3.4, 2.2),
}

# ---------------------------------------------------------------------------------------------
# Filters and metadata

SCHOOL_TYPES = ("State-funded primary", "State-funded secondary", "Special")
AGES = ("16", "17")
AGE19_CELL_KEYS: tuple[Cell, ...] = ((True, "Male"), (True, "Female"), (False, "Male"), (False, "Female"))

AGE19_FILTER_ROWS: FilterRows = [
    (("Total", "Total"), AGE19_CELL_KEYS),
    (("Gender", "Male"), ((True, "Male"), (False, "Male"))),
    (("Gender", "Female"), ((True, "Female"), (False, "Female"))),
    (("Free school meals", "FSM eligible"), ((True, "Male"), (True, "Female"))),
    (("Free school meals", "Not FSM eligible"), ((False, "Male"), (False, "Female"))),
]
SCHOOL_TYPE_CELL_KEYS: tuple[Cell, ...] = tuple((school_type, "") for school_type in SCHOOL_TYPES)
SCHOOL_TYPE_FILTER_ROWS: FilterRows = [(("Total",), SCHOOL_TYPE_CELL_KEYS)] + [
    ((school_type,), ((school_type, ""),)) for school_type in SCHOOL_TYPES
]
NEET_CELL_KEYS: tuple[Cell, ...] = tuple((age, "") for age in AGES)
# The single ages are decoys: the headline is "16-17", not "Total".
NEET_FILTER_ROWS: FilterRows = [(("16-17",), NEET_CELL_KEYS)] + [((age,), ((age, ""),)) for age in AGES]

AGE19_FILTER_META = [
    ("version", "Version", "", ""),
    ("breakdown_topic", "Breakdown topic", "Filter by student characteristic", ""),
    ("breakdown", "Breakdown", "Filter by characteristic value", "breakdown_topic"),
]
SCHOOL_TYPE_FILTER_META = [
    ("version", "Version", "", ""),
    ("school_type", "School type", "Filter by school type", ""),
]
NEET_FILTER_META = [
    ("version", "Version", "", ""),
    ("Age", "Age", "Filter by age at the start of the academic year", ""),
]

EYFS_META = [  # (column, label, grouping, unit)
    ("t_children", "Number of children eligible for the profile", "Children", ""),
    ("gld_percentage", "Percentage of children with a good level of development", "Good level of development", "%"),
    (
        "elg_percentage",
        "Percentage of children at the expected level in all early learning goals",
        "Early learning goals",
        "%",
    ),
    (
        "average_elgs",
        "Average number of early learning goals at the expected level per child",
        "Early learning goals",
        "",
    ),
]
# DfE's area of learning file: one row per area (area_of_learning), the children at the expected
# level in every early learning goal of that area
EYFS_AREA_FILTER_META = [
    ("version", "Version", "", ""),
    ("area_of_learning", "Area of learning", "Filter by area of learning", ""),
]
EYFS_AREA_META = [
    ("children_number", "Number of children", "Children", ""),
    ("expected_percentage", "Percentage of children at the expected level", "Expected level", "%"),
]
# area -> the share of children without a good level of development who are at the expected
# level in it (England: LAIT's 68 to 88). A good level of development needs the expected level in
# the three prime areas, literacy and maths, so those five are never below the GLD share; the
# generator adds a share of the others to every area, the last two included, for simplicity
EYFS_AREAS = {
    "Communication and language": 0.41,
    "Personal, social and emotional development": 0.51,
    "Physical development": 0.56,
    "Literacy": 0.09,
    "Mathematics": 0.31,
    "Understanding the world": 0.45,
    "Expressive arts and design": 0.56,
}
PHONICS_META = [
    ("t_pupils", "Number of eligible year 1 pupils", "Pupils", ""),
    (
        "pt_phonics_y1_met_expected_standard",
        "Percentage of year 1 pupils meeting the expected standard in the phonics screening check",
        "Phonics",
        "%",
    ),
]
KS1_META = [
    ("t_pupils", "Number of eligible pupils at the end of key stage 1", "Pupils", ""),
    ("pt_read_met_expected_standard", "Percentage meeting the expected standard in reading", "Reading", "%"),
    ("pt_writ_met_expected_standard", "Percentage meeting the expected standard in writing", "Writing", "%"),
    ("pt_mat_met_expected_standard", "Percentage meeting the expected standard in maths", "Maths", "%"),
    ("pt_read_greater_depth", "Percentage working at greater depth in reading", "Reading", "%"),
    ("pt_writ_greater_depth", "Percentage working at greater depth in writing", "Writing", "%"),
    ("pt_mat_greater_depth", "Percentage working at greater depth in maths", "Maths", "%"),
    ("pt_sci_met_expected_standard", "Percentage meeting the expected standard in science", "Science", "%"),
]
KS5_META = [
    ("t_students", "Number of A level students", "Students", ""),
    ("aps_per_entry", "Average point score per A level entry", "A level", ""),
    ("aab_percent", "Percentage of students achieving grades AAB or better at A level", "A level", "%"),
    ("three_a_percent", "Percentage of students achieving 3 A*-A grades or better at A level", "A level", "%"),
    ("best_three_alevels_aps", "Average point score per entry, best three A levels", "A level", ""),
]
# DfE's 16-18 files give each qualification type rows of its own (exam_cohort)
KS5_VOCATIONAL_FILTER_META = [
    ("version", "Version", "", ""),
    ("exam_cohort", "Exam cohort", "Filter by qualification type", ""),
]
KS5_VOCATIONAL_META = [
    ("t_students", "Number of students", "Students", ""),
    ("aps_per_entry", "Average point score per entry", "Attainment", ""),
]
# exam cohort -> (share of an LA's A level students who take it, England's points per entry,
# first year): from 2017/18 only qualifications on DfE's approved lists count, a break in the
# series (comparability_breaks), and LAIT's figures start there, as the sample does
KS5_VOCATIONAL = {"Applied general": (0.55, 29.6, "201718"), "Tech level": (0.14, 29.2, "201718")}
AGE19_META = [
    ("number_in_ss_cohort", "Number in the state-sector cohort at academic age 15", "Cohort", ""),
    ("l2_with_em_by19_rate", "Percentage achieving level 2 with English and maths by 19", "Level 2", "%"),
    ("l3_by19_rate", "Percentage achieving level 3 by 19", "Level 3", "%"),
    ("l2_by19_rate", "Percentage achieving level 2 by 19", "Level 2", "%"),
    (
        "l2_em_by19_belowat16_rate",
        "Percentage achieving level 2 in English and maths by 19 of those without it at 16",
        "Level 2",
        "%",
    ),
]
ABSENCE_META = [
    ("t_enrolments", "Number of enrolments", "Enrolments", ""),
    ("sess_overall_percent", "Overall absence rate (percentage of sessions missed)", "Overall absence", "%"),
    (
        "enrolments_pa_10_exact_percent",
        "Percentage of enrolments persistently absent (10% or more of sessions missed)",
        "Persistent absence",
        "%",
    ),
    ("sess_authorised_percent", "Authorised absence rate (percentage of sessions missed)", "Authorised absence", "%"),
    (
        "sess_unauthorised_percent",
        "Unauthorised absence rate (percentage of sessions missed)",
        "Unauthorised absence",
        "%",
    ),
    (
        "enrolments_pa_50_exact_percent",
        "Percentage of enrolments severely absent (50% or more of sessions missed)",
        "Severe absence",
        "%",
    ),
]
EXCLUSIONS_META = [
    ("headcount", "Headcount of pupils", "Pupils", ""),
    ("perm_excl_rate", "Permanent exclusion rate (per 100 pupils)", "Permanent exclusions", ""),
    ("susp_rate", "Suspension rate (per 100 pupils)", "Suspensions", ""),
    ("one_plus_susp_rate", "Pupils with one or more suspensions (per 100 pupils)", "Suspensions", ""),
]
EXCLUSIONS_OLD_META = [
    EXCLUSIONS_META[0],
    EXCLUSIONS_META[1],
    ("fixed_excl_rate", "Fixed period exclusion rate (per 100 pupils)", "Fixed period exclusions", ""),
    (
        "one_plus_fixed_rate",
        "Pupils with one or more fixed period exclusions (per 100 pupils)",
        "Fixed period exclusions",
        "",
    ),
]
NEET_META = [
    (
        "Cohort_DJFavg",
        "Number of 16-17 year olds known to the local authority (December to February average)",
        "Cohort",
        "",
    ),
    ("NEET_percent", "Percentage not in education, employment or training (NEET)", "NEET", "%"),
    ("NEET_not_known_percent", "Percentage NEET or whose activity is not known", "NEET and not known", "%"),
    ("Notknown_percent", "Percentage whose activity is not known", "Not known", "%"),
    (
        "TOTAL_participating_in_education_and_training_percent",
        "Percentage participating in education and training",
        "Participation",
        "%",
    ),
]

# ---------------------------------------------------------------------------------------------
# LA effects for each dataset


def _is_london(lat: LatentLA) -> float:
    return 1.0 if lat.la.region is LONDON else 0.0


def _own(dataset: str, lat: LatentLA, sd: float, part: str = "") -> float:
    """A persistent LA component specific to one dataset."""
    return _rng("phase-la", dataset, part, lat.la.old_code).gauss(0.0, sd)


def _yearly(dataset: str, lat: LatentLA) -> tuple[float, ...]:
    """Year-to-year drift (AR(1), one value per YEARS entry) specific to one dataset."""
    return _drift(_rng("drift", dataset, lat.la.old_code))


def _attainment_effects(latent: list[LatentLA], dataset: str, own_sd: float) -> dict[str, tuple[float, ...]]:
    """Per LA and year, on the scale of `quality`: the school quality everyone shares, a
    dataset-specific LA component and a drift."""
    effects = {}
    for lat in latent:
        own = _own(dataset, lat, own_sd)
        effects[lat.la.old_code] = tuple(lat.quality + own + d / 0.4 for d in _yearly(dataset, lat))
    return effects


# ---------------------------------------------------------------------------------------------
# Pupil cohorts: (disadvantaged?, sex) cells


def _pupil_cells(
    lat: LatentLA,
    dataset: str,
    year_index: int,
    base: int,
    trend: float,
    disadvantaged_factor: float,
    tiny: dict[str, tuple[int, int]],
    sexes: tuple[str, str] = ("Boys", "Girls"),
) -> dict[Cell, int]:
    rng = _rng("cells", dataset, lat.la.old_code, YEARS[year_index])
    if lat.la.old_code in tiny:
        total = rng.randint(*tiny[lat.la.old_code])
    else:
        total = round(base * (1.0 + trend * (year_index - 4) + rng.gauss(0.0, 0.02)))
    share = min(0.8, lat.disadvantage_share * disadvantaged_factor * (1.0 + 0.02 * (year_index - 4)))
    if lat.la.old_code == CITY_OF_LONDON:
        disadvantaged = min(total, rng.randint(2, 5))  # always too few to publish
    else:
        disadvantaged = _binomial(rng, total, share)
    cells: dict[Cell, int] = {}
    for is_dis, group in ((True, disadvantaged), (False, total - disadvantaged)):
        boys = _binomial(rng, group, 0.51)
        cells[(is_dis, sexes[0])] = boys
        cells[(is_dis, sexes[1])] = group - boys
    return cells


@dataclass(frozen=True)
class PupilOutcomes:
    """A dataset whose indicators are shares of one cohort meeting a standard."""

    dataset: str
    cohort_scale: float  # relative to the LA's KS2 cohort
    cohort_trend: float  # per year
    disadvantaged_factor: float
    tiny: dict[str, tuple[int, int]]
    own_sd: float
    # per indicator: (LA loading, disadvantage gap, girls minus boys) on the logit scale
    effects: tuple[tuple[float, float, float], ...]
    targets: dict[str, tuple[float, ...]]


EYFS = PupilOutcomes(
    "eyfs",
    1.06,
    -0.011,
    0.85,
    {"201": (22, 34), "420": (14, 24)},
    0.18,
    ((0.19, 0.80, 0.62), (0.20, 0.82, 0.62)),
    EYFS_TARGETS,
)
PHONICS = PupilOutcomes(
    "phonics", 1.05, -0.008, 0.9, {"201": (20, 32), "420": (14, 24)}, 0.15, ((0.18, 0.80, 0.38),), PHONICS_TARGETS
)
KS1 = PupilOutcomes(
    "ks1",
    1.04,
    -0.004,
    0.95,
    {"201": (20, 32), "420": (14, 24)},
    0.2,
    ((0.20, 0.85, 0.45), (0.21, 0.90, 0.70), (0.20, 0.85, 0.0)),
    KS1_TARGETS,
)


def simulate_pupil_outcomes(
    latent: list[LatentLA], spec: PupilOutcomes, year_index: int, effects: dict[str, tuple[float, ...]]
) -> Cells:
    """Cells (n, count meeting indicator 1, indicator 2, ...) for one year."""
    year = YEARS[year_index]
    sizes = {
        lat.la.old_code: _pupil_cells(
            lat,
            spec.dataset,
            year_index,
            round(lat.ks2_cohort * spec.cohort_scale),
            spec.cohort_trend,
            spec.disadvantaged_factor,
            spec.tiny,
        )
        for lat in latent
    }
    predictors: dict[tuple[str, Cell], list[float]] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng(spec.dataset + "-x", code, year)
        effect = effects[code][year_index]
        for cell in CELL_KEYS:
            is_dis, sex = cell
            predictors[(code, cell)] = [
                loading * effect
                - (gap if is_dis else 0.0)
                + (girls / 2 if sex == "Girls" else -girls / 2)
                + rng.gauss(0.0, 0.04)
                for loading, gap, girls in spec.effects
            ]
    offsets = []
    for i, target in enumerate(spec.targets[year]):
        pairs = [(sizes[code][cell], predictors[(code, cell)][i]) for code in sorted(sizes) for cell in CELL_KEYS]
        offsets.append(_solve_logit_offset(pairs, target / 100.0))
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng(spec.dataset + "-draw", code, year)
        cells = {}
        for cell in CELL_KEYS:
            n = sizes[code][cell]
            xs = predictors[(code, cell)]
            cells[cell] = (n, *(_binomial(rng, n, _sigmoid(offsets[i] + xs[i])) for i in range(len(xs))))
        result[code] = cells
    return result


def _suppressed_count(count: int) -> bool:
    return 1 <= count <= 5


def _pct_or_low(count: int, n: int, dp: int) -> str:
    """A percentage; a non-zero count that rounds to zero is published as `low`."""
    value = _fmt_ratio(100 * count, n, dp)
    return "low" if count > 0 and Decimal(value) == 0 else value


def _pupil_values(v: tuple[int, ...], dp: int, withheld: bool) -> list[str]:
    if withheld:
        return ["x"] * len(v)
    n, *counts = v
    if n < 6:
        return ["c"] * len(v)
    return [str(n)] + ["c" if _suppressed_count(c) else _fmt_ratio(100 * c, n, dp) for c in counts]


# ---------------------------------------------------------------------------------------------
# EYFS: every child at the expected level in all goals also has a good level of development


def _nest_eyfs(cells: Cells) -> Cells:
    # A child at the expected level in every goal has a good level of development too.
    return {
        code: {cell: (n, gld, min(elg, gld)) for cell, (n, gld, elg) in by_cell.items()}
        for code, by_cell in cells.items()
    }


# ---------------------------------------------------------------------------------------------
# KS5: students, A level entries, points (A* = 60 ... E = 10), AAB+ students, 3 A*-A students

KS5_TINY = {ISLES_OF_SCILLY: (4, 12)}
_KS5_PCT_EFFECTS = ((0.42, 0.62, 0.05), (0.45, 0.70, 0.02))  # AAB, three A*-A (logit)


def _ks5_cohort_base(lat: LatentLA) -> int:
    if lat.la.old_code == CITY_OF_LONDON:
        return 0  # no state-funded sixth form
    # A level students are counted where they study: colleges make some LAs net importers.
    rng = _rng("ks5-cohort", lat.la.old_code)
    share = 0.44 * math.exp(rng.gauss(0.0, 0.22)) * (1.0 + 0.08 * lat.quality)
    return round(lat.ks4_cohort * share)


def simulate_ks5(latent: list[LatentLA], year_index: int, effects: dict[str, tuple[float, ...]]) -> Cells:
    year = YEARS[year_index]
    aps_target, *pct_targets = KS5_TARGETS[year]
    sizes = {}
    for lat in latent:
        if lat.la.old_code == CITY_OF_LONDON:
            sizes[lat.la.old_code] = {cell: 0 for cell in CELL_KEYS}
        else:
            sizes[lat.la.old_code] = _pupil_cells(lat, "ks5", year_index, _ks5_cohort_base(lat), 0.006, 0.7, KS5_TINY)
    means: dict[tuple[str, Cell], list[float]] = {}
    entries: dict[tuple[str, Cell], int] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("ks5-x", code, year)
        effect = effects[code][year_index]
        for cell in CELL_KEYS:
            is_dis, sex = cell
            sign = 1.0 if sex == "Girls" else -1.0
            aps = 2.6 * effect - (4.6 if is_dis else 0.0) + 0.25 * sign + rng.gauss(0.0, 0.3)
            pcts = [
                loading * effect - (gap if is_dis else 0.0) + girls / 2 * sign + rng.gauss(0.0, 0.04)
                for loading, gap, girls in _KS5_PCT_EFFECTS
            ]
            means[(code, cell)] = [aps, *pcts]
            entries[(code, cell)] = round(sizes[code][cell] * (2.72 + rng.gauss(0.0, 0.05)))
    keys = [(code, cell) for code in sorted(sizes) for cell in CELL_KEYS]
    total_entries = sum(entries[k] for k in keys)
    aps_shift = aps_target - sum(entries[k] * means[k][0] for k in keys) / total_entries
    pct_offsets = [
        _solve_logit_offset([(sizes[c][cell], means[(c, cell)][1 + i]) for c, cell in keys], t / 100.0)
        for i, t in enumerate(pct_targets)
    ]
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("ks5-draw", code, year)
        cells = {}
        for cell in CELL_KEYS:
            n, e = sizes[code][cell], entries[(code, cell)]
            aps, x_aab, x_3a = means[(code, cell)]
            mean_points = min(58.0, max(12.0, aps + aps_shift))
            points = max(10 * e, min(60 * e, round(e * mean_points + rng.gauss(0.0, 5.0) * math.sqrt(e))))
            aab = _binomial(rng, n, _sigmoid(pct_offsets[0] + x_aab))
            three_a = min(aab, _binomial(rng, n, _sigmoid(pct_offsets[1] + x_3a)))
            cells[cell] = (n, e, points, aab, three_a)
        result[code] = cells
    return result


def ks5_provisional(final: Cells, forced_lower_aps: str = "342") -> Cells:
    """The autumn release: a few LAs' results changed after late reviews of marking."""
    provisional: Cells = {}
    for code in sorted(final):
        cells = dict(final[code])
        rng = _rng("ks5-provisional", code)
        chosen = code == forced_lower_aps or rng.random() < 0.15
        if chosen and code not in KS5_TINY and code != CITY_OF_LONDON:
            target_cell = _largest_cell(cells)
            n, e, points, aab, three_a = cells[target_cell]
            sign = -1 if code == forced_lower_aps else rng.choice((-1, 1))
            points += sign * round(e * rng.uniform(0.3, 0.9))
            aab = min(n, max(0, aab + sign * round(n * rng.uniform(0.0, 0.015))))
            three_a = min(aab, max(0, three_a + sign * round(n * rng.uniform(0.0, 0.01))))
            cells[target_cell] = (n, e, points, aab, three_a)
        provisional[code] = cells
    return provisional


def ks5_more(cells: Cells, year: str) -> Cells:
    """Points of each student's best three A levels, summed: about two points per entry above the
    average of all their entries (a fourth subject is usually the weakest)."""

    def extra(vector, rng, cell):
        n, e, points, *_ = vector
        mean = points / e if e else 0.0
        return (round(3 * n * min(60.0, mean + 2.2 + rng.gauss(0.0, 0.4))),)

    return extend_cells(cells, "ks5-best-three", year, extra)


def _ks5_values(v: tuple[int, ...], area: Area) -> list[str]:
    if area.la is not None and area.la.old_code == CITY_OF_LONDON:
        return ["z"] * 5  # no A level provision in the City
    n, e, points, aab, three_a, best_three = v
    if n < 6:
        return ["c"] * 5
    return [
        str(n),
        _fmt_ratio(points, e, 2),
        "c" if _suppressed_count(aab) else _fmt_ratio(100 * aab, n, 1),
        "c" if _suppressed_count(three_a) else _fmt_ratio(100 * three_a, n, 1),
        _fmt_ratio(best_three, 3 * n, 2),
    ]


def simulate_ks5_vocational(a_level: Cells, year: str) -> Cells:
    """(students, entries, points) per exam cohort, keyed (cohort, "all"): each LA's share of
    students taking applied general or tech level qualifications, about 2.4 entries each, its
    points per entry near England's with the LA's own spread."""
    cells: Cells = {}
    for code in sorted(a_level):
        students = sum(vector[0] for vector in a_level[code].values())
        by_cohort = {}
        for cohort, (share, england_aps, _) in KS5_VOCATIONAL.items():
            rng = _rng("ks5-vocational", cohort, code, year)
            n = round(students * share * math.exp(rng.gauss(0.0, 0.3)))
            entries = round(n * (2.4 + rng.gauss(0.0, 0.1)))
            points = round(entries * min(50.0, max(10.0, england_aps + rng.gauss(0.0, 2.0))))
            by_cohort[(cohort, "all")] = (n, entries, points)
        cells[code] = by_cohort
    return cells


def _ks5_vocational_values(v: tuple[int, ...], area: Area) -> list[str]:
    n, entries, points = v
    if area.la is not None and area.la.old_code == CITY_OF_LONDON:
        return ["z"] * 2
    if n < 6:
        return ["c"] * 2
    return [str(n), _fmt_ratio(points, entries, 2)]


# ---------------------------------------------------------------------------------------------
# Level 2 and 3 at 19: (FSM eligible at 15?, gender) cells


AGE19_TINY = {CITY_OF_LONDON: (3, 5), ISLES_OF_SCILLY: (14, 24)}
_AGE19_EFFECTS = ((0.34, 1.15, 0.18), (0.38, 1.05, 0.32))  # L2 with E&M, L3


def simulate_age19(latent: list[LatentLA], year_index: int, effects: dict[str, tuple[float, ...]]) -> Cells:
    year = YEARS[year_index]
    sizes = {
        lat.la.old_code: _pupil_cells(
            lat, "age19", year_index, round(lat.ks4_cohort * 1.02), 0.004, 0.55, AGE19_TINY, sexes=("Male", "Female")
        )
        for lat in latent
    }
    predictors: dict[tuple[str, Cell], list[float]] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("age19-x", code, year)
        effect = effects[code][year_index]
        for cell in AGE19_CELL_KEYS:
            fsm, sex = cell
            sign = 1.0 if sex == "Female" else -1.0
            predictors[(code, cell)] = [
                loading * effect - (gap if fsm else 0.0) + girls / 2 * sign + rng.gauss(0.0, 0.04)
                for loading, gap, girls in _AGE19_EFFECTS
            ]
    offsets = []
    for i, target in enumerate(AGE19_TARGETS[year]):
        pairs = [(sizes[c][cell], predictors[(c, cell)][i]) for c in sorted(sizes) for cell in AGE19_CELL_KEYS]
        offsets.append(_solve_logit_offset(pairs, target / 100.0))
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("age19-draw", code, year)
        result[code] = {
            cell: (
                sizes[code][cell],
                *(
                    _binomial(rng, sizes[code][cell], _sigmoid(offsets[i] + x))
                    for i, x in enumerate(predictors[(code, cell)])
                ),
            )
            for cell in AGE19_CELL_KEYS
        }
    return result


# ---------------------------------------------------------------------------------------------
# Absence and exclusions: (school type) cells


# Enrolments per pupil in the LA's KS2 (primary, special) or KS4 (secondary) year group.
_SCHOOL_SIZE = {"State-funded primary": ("ks2", 7.2), "State-funded secondary": ("ks4", 5.6), "Special": ("ks2", 0.2)}
# School types an LA does not have: the City has one primary school; Scilly one all-through school.
_NO_SCHOOLS = {CITY_OF_LONDON: {"State-funded secondary", "Special"}, ISLES_OF_SCILLY: {"Special"}}
_TINY_SCHOOLS = {
    CITY_OF_LONDON: {"State-funded primary": (230, 290)},
    ISLES_OF_SCILLY: {"State-funded primary": (120, 160), "State-funded secondary": (90, 120)},
}


def _school_sizes(lat: LatentLA, dataset: str, year_index: int) -> dict[Cell, int]:
    rng = _rng("cells", dataset, lat.la.old_code, YEARS[year_index])
    sizes: dict[Cell, int] = {}
    for school_type in SCHOOL_TYPES:
        cohort, per_pupil = _SCHOOL_SIZE[school_type]
        base = lat.ks2_cohort if cohort == "ks2" else lat.ks4_cohort
        growth = 0.03 if school_type == "Special" else 0.006
        tiny = _TINY_SCHOOLS.get(lat.la.old_code, {}).get(school_type)
        if school_type in _NO_SCHOOLS.get(lat.la.old_code, set()):
            sizes[(school_type, "")] = 0
        elif tiny:
            sizes[(school_type, "")] = rng.randint(*tiny)
        else:
            sizes[(school_type, "")] = round(
                base * per_pupil * (1.0 + growth * (year_index - 4) + rng.gauss(0.0, 0.015))
            )
    return sizes


# Relative absence rate by school type before and after the pandemic.
_ABSENCE_TYPE = {"State-funded primary": (1.0, 1.0), "State-funded secondary": (1.33, 1.48), "Special": (2.35, 1.95)}


def _absence_effects(latent: list[LatentLA]) -> dict[str, tuple[float, ...]]:
    """Log multiplier on the absence rate: higher where deprivation is, lower in London."""
    effects = {}
    for lat in latent:
        base = 0.085 * lat.deprivation - 0.07 * _is_london(lat) + _own("absence", lat, 0.065)
        effects[lat.la.old_code] = tuple(base + 0.25 * d for d in _yearly("absence", lat))
    return effects


def simulate_absence(latent: list[LatentLA], year_index: int, effects: dict[str, tuple[float, ...]]) -> Cells:
    """Cells (enrolments, possible sessions, missed sessions, persistently absent enrolments)."""
    year = YEARS[year_index]
    overall_target, pa_target = ABSENCE_TARGETS[year]
    post_pandemic = year >= "202122"
    sizes = {lat.la.old_code: _school_sizes(lat, "absence", year_index) for lat in latent}
    possible: dict[tuple[str, Cell], int] = {}
    relative: dict[tuple[str, Cell], float] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("absence-x", code, year)
        for cell in SCHOOL_TYPE_CELL_KEYS:
            school_type = cell[0]
            sessions = 300 if school_type == "Special" else 318
            possible[(code, cell)] = round(sizes[code][cell] * sessions * (1.0 + rng.gauss(0.0, 0.008)))
            relative[(code, cell)] = _ABSENCE_TYPE[school_type][post_pandemic] * math.exp(
                effects[code][year_index] + rng.gauss(0.0, 0.03)
            )
    keys = [(code, cell) for code in sorted(sizes) for cell in SCHOOL_TYPE_CELL_KEYS]
    scale = overall_target / 100.0 * sum(possible[k] for k in keys) / sum(possible[k] * relative[k] for k in keys)
    # Persistent absence rises steeply with the absence rate.
    pa_offset = _solve_logit_offset(
        [(sizes[c][cell], 2.3 * math.log(relative[(c, cell)])) for c, cell in keys], pa_target / 100.0
    )
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("absence-draw", code, year)
        cells = {}
        for cell in SCHOOL_TYPE_CELL_KEYS:
            n, p = sizes[code][cell], possible[(code, cell)]
            rate = min(0.5, scale * relative[(code, cell)])
            missed = max(0, round(p * rate + rng.gauss(0.0, 1.0) * math.sqrt(p * rate)))
            pa = _binomial(rng, n, _sigmoid(pa_offset + 2.3 * math.log(relative[(code, cell)])))
            cells[cell] = (n, p, missed, pa)
        result[code] = cells
    return result


def _absence_values(v: tuple[int, ...], year: str) -> list[str]:
    if year in ABSENCE_NOT_COLLECTED:
        return ["x"] * len(ABSENCE_META)
    n, possible, missed, pa, authorised, severe = v
    if n == 0:
        return ["z"] * len(ABSENCE_META)  # no schools of this type in the LA
    if n < 6:
        return ["c"] * len(ABSENCE_META)
    return [
        str(n),
        _fmt_ratio(100 * missed, possible, 1),
        _fmt_ratio(100 * pa, n, 1),
        _fmt_ratio(100 * authorised, possible, 1),
        _fmt_ratio(100 * (missed - authorised), possible, 1),
        _pct_or_low(severe, n, 1),
    ]


def absence_more(cells: Cells, year: str) -> Cells:
    """Authorised sessions (about 70% of those missed) and severely absent enrolments (about a tenth of
    the persistently absent)."""

    def extra(vector, rng, cell):
        _, _, missed, pa = vector
        return (_binomial(rng, missed, min(0.9, 0.7 + rng.gauss(0.0, 0.03))), _binomial(rng, pa, 0.09))

    return extend_cells(cells, "absence-more", year, extra)


_EXCLUSION_TYPE = {  # relative rates: permanent exclusions, suspensions
    "State-funded primary": (0.2, 0.13),
    "State-funded secondary": (2.05, 1.0),
    "Special": (0.7, 1.1),
}


def _exclusion_effects(latent: list[LatentLA]) -> dict[str, tuple[tuple[float, float], ...]]:
    """Log multipliers (permanent, suspension): strongly higher with deprivation, lower in London."""
    effects = {}
    for lat in latent:
        shared = _own("exclusions", lat, 0.3, "shared")
        suspension = 0.38 * lat.deprivation - 0.2 * _is_london(lat) + shared + _own("exclusions", lat, 0.22, "susp")
        permanent = 0.3 * lat.deprivation - 0.15 * _is_london(lat) + shared + _own("exclusions", lat, 0.25, "perm")
        effects[lat.la.old_code] = tuple(
            (permanent + 0.5 * d, suspension + 0.5 * d) for d in _yearly("exclusions", lat)
        )
    return effects


def simulate_exclusions(
    latent: list[LatentLA], year_index: int, effects: dict[str, tuple[tuple[float, float], ...]]
) -> Cells:
    """Cells (headcount, permanent exclusions, suspensions)."""
    year = YEARS[year_index]
    targets = EXCLUSIONS_TARGETS[year]
    sizes = {lat.la.old_code: _school_sizes(lat, "exclusions", year_index) for lat in latent}
    relative: dict[tuple[str, Cell], tuple[float, float]] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("exclusions-x", code, year)
        permanent, suspension = effects[code][year_index]
        for cell in SCHOOL_TYPE_CELL_KEYS:
            perm_type, susp_type = _EXCLUSION_TYPE[cell[0]]
            relative[(code, cell)] = (
                perm_type * math.exp(permanent + rng.gauss(0.0, 0.1)),
                susp_type * math.exp(suspension + rng.gauss(0.0, 0.08)),
            )
    keys = [(code, cell) for code in sorted(sizes) for cell in SCHOOL_TYPE_CELL_KEYS]
    headcount = sum(sizes[c][cell] for c, cell in keys)
    scales = [
        targets[i] / 100.0 * headcount / sum(sizes[c][cell] * relative[(c, cell)][i] for c, cell in keys)
        for i in range(2)
    ]
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("exclusions-draw", code, year)
        cells = {}
        for cell in SCHOOL_TYPE_CELL_KEYS:
            n = sizes[code][cell]
            perm = _binomial(rng, n, min(0.05, scales[0] * relative[(code, cell)][0]))
            susp = _binomial(rng, n, min(0.9, scales[1] * relative[(code, cell)][1]))
            cells[cell] = (n, perm, susp)
        result[code] = cells
    return result


def _exclusions_values(v: tuple[int, ...], area: Area) -> list[str]:
    n, perm, susp, one_plus = v
    if n == 0:
        return ["z"] * 4
    code = area.la.old_code if area.la is not None else ""
    if code == CITY_OF_LONDON:
        return ["c"] * 4  # a single school: publishing would identify pupils
    if code == ISLES_OF_SCILLY:
        # One school: a handful of exclusions would identify pupils.
        return [str(n)] + ["c" if _suppressed_count(k) else _fmt_ratio(100 * k, n, 2) for k in (perm, susp, one_plus)]
    return [str(n), _pct_or_low(perm, n, 2), _pct_or_low(susp, n, 2), _pct_or_low(one_plus, n, 2)]


def exclusions_more(cells: Cells, year: str) -> Cells:
    """Pupils with one or more suspensions: suspended pupils average about 2.5 suspensions each, and
    about 4 in special schools."""

    def extra(vector, rng, cell):
        n, _, susp = vector
        return (min(n, _binomial(rng, susp, 0.25 if cell[0] == "Special" else 0.4)),)

    return extend_cells(cells, "exclusions-more", year, extra)


EYFS_AVERAGE_ELGS_FROM = "202122"  # the reformed profile's measure; DfE's earlier files lack it


def eyfs_more(cells: Cells, year: str) -> Cells:
    """Early learning goals reached, summed over children: all 17 for a child at the expected level in
    every goal, about 15 for the other children with a good level of development, 9-10 for the rest."""

    def extra(vector, rng, cell):
        n, gld, elg = vector
        return (
            17 * elg
            + round((gld - elg) * (15 + rng.uniform(-0.3, 0.3)))
            + round((n - gld) * (9.5 + rng.uniform(-0.5, 0.5))),
        )

    return extend_cells(cells, "eyfs-more", year, extra)


def simulate_eyfs_areas(cells: Cells, year: str) -> Cells:
    """(children, at the expected level) per area of learning, keyed (area, "all"): every child
    with a good level of development, and a share of the others that varies by LA."""
    areas: Cells = {}
    for code in sorted(cells):
        children = sum(vector[0] for vector in cells[code].values())
        gld = sum(vector[1] for vector in cells[code].values())
        by_area = {}
        for area, share in EYFS_AREAS.items():
            rng = _rng("eyfs-area", area, code, year)
            p = min(0.95, max(0.0, share + rng.gauss(0.0, 0.05)))
            by_area[(area, "all")] = (children, gld + _binomial(rng, children - gld, p))
        areas[code] = by_area
    return areas


def _eyfs_values(v: tuple[int, ...], year: str) -> list[str]:
    n, gld, elg, goals = v
    values = _pupil_values((n, gld, elg), 1, False)
    if n < 6:
        return values + ["c"]
    return values + ([_fmt_ratio(goals, n, 1)] if year >= EYFS_AVERAGE_ELGS_FROM else ["z"])


def ks1_more(cells: Cells, year: str) -> Cells:
    """Greater depth in reading, writing and maths (a share of those at the expected standard) and
    the expected standard in science."""

    def extra(vector, rng, cell):
        n, read, writ, mat = vector
        r, w, m = ((count / n if n else 0.0) for count in (read, writ, mat))
        return (
            _binomial(rng, read, 0.35 * r),
            _binomial(rng, writ, 0.25 * w),
            _binomial(rng, mat, 0.3 * m),
            _binomial(rng, n, min(0.98, 0.3 + 0.65 * (r + m) / 2)),
        )

    return extend_cells(cells, "ks1-more", year, extra)


def age19_more(cells: Cells, year: str) -> Cells:
    """Level 2 by 19 (at least everyone with level 2 in English and maths or level 3), and how many had
    level 2 in English and maths already at 16."""

    def extra(vector, rng, cell):
        n, l2em, l3 = vector
        l2 = max(l3, l2em + _binomial(rng, n - l2em, 0.55))
        return (l2, l2em - _binomial(rng, l2em, 0.2))

    return extend_cells(cells, "age19-more", year, extra)


def _age19_values(v: tuple[int, ...]) -> list[str]:
    n, l2em, l3, l2, l2em_at_16 = v
    values = _pupil_values((n, l2em, l3, l2), 1, False)
    if n < 6:
        return values + ["c"]
    caught_up, without_at_16 = l2em - l2em_at_16, n - l2em_at_16
    if without_at_16 == 0:
        return values + ["z"]
    return values + ["c" if _suppressed_count(caught_up) else _fmt_ratio(100 * caught_up, without_at_16, 1)]


# ---------------------------------------------------------------------------------------------
# NEET: (age) cells, by LA of residence


NEET_TINY = {CITY_OF_LONDON: (45, 70), ISLES_OF_SCILLY: (22, 36)}
# LAs whose tracking is nearly complete: a handful of not-known young people rounds to 0.0.
_NEAR_COMPLETE_TRACKING = frozenset({"886", "359"})
_NEET_AGE = {"16": (-0.45, -0.55), "17": (0.35, 0.4)}  # logit shifts: NEET, not known


def _neet_effects(latent: list[LatentLA]) -> dict[str, tuple[tuple[float, float], ...]]:
    effects = {}
    for lat in latent:
        neet = 0.38 * lat.deprivation - 0.25 * _is_london(lat) - 0.1 * lat.quality + _own("neet", lat, 0.25, "neet")
        not_known = 0.12 * lat.deprivation + _own("neet", lat, 0.55, "not-known")
        if lat.la.old_code in _NEAR_COMPLETE_TRACKING:
            not_known -= 5.0
        effects[lat.la.old_code] = tuple((neet + 0.6 * d, not_known + 0.8 * d) for d in _yearly("neet", lat))
    return effects


def simulate_neet(
    latent: list[LatentLA], year_index: int, effects: dict[str, tuple[tuple[float, float], ...]]
) -> Cells:
    """Cells (cohort, NEET, activity not known)."""
    period = NEET_YEARS[year_index]
    sizes: dict[str, dict[Cell, int]] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("cells", "neet", code, period)
        sizes[code] = {}
        for age in AGES:
            if code in NEET_TINY:
                sizes[code][(age, "")] = rng.randint(*NEET_TINY[code])
            else:
                sizes[code][(age, "")] = round(
                    lat.ks4_cohort * 1.07 * (1.0 + 0.01 * (year_index - 4) + rng.gauss(0.0, 0.015))
                )
    predictors: dict[tuple[str, Cell], tuple[float, float]] = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("neet-x", code, period)
        neet, not_known = effects[code][year_index]
        for cell in NEET_CELL_KEYS:
            age_neet, age_not_known = _NEET_AGE[cell[0]]
            predictors[(code, cell)] = (
                neet + age_neet + rng.gauss(0.0, 0.05),
                not_known + age_not_known + rng.gauss(0.0, 0.08),
            )
    keys = [(code, cell) for code in sorted(sizes) for cell in NEET_CELL_KEYS]
    offsets = [
        _solve_logit_offset([(sizes[c][cell], predictors[(c, cell)][i]) for c, cell in keys], t / 100.0)
        for i, t in enumerate(NEET_TARGETS[period])
    ]
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("neet-draw", code, period)
        cells = {}
        for cell in NEET_CELL_KEYS:
            n = sizes[code][cell]
            x_neet, x_not_known = predictors[(code, cell)]
            neet = _binomial(rng, n, _sigmoid(offsets[0] + x_neet))
            not_known = min(n - neet, _binomial(rng, n, _sigmoid(offsets[1] + x_not_known)))
            cells[cell] = (n, neet, not_known)
        result[code] = cells
    return result


def _neet_values(v: tuple[int, ...], area: Area) -> list[str]:
    if area.la is not None and area.la.old_code in NEET_TINY:
        return ["c"] * len(NEET_META)
    n, neet, not_known, participating = v
    return [
        str(n),
        _pct_or_low(neet, n, 1),
        _pct_or_low(neet + not_known, n, 1),
        _pct_or_low(not_known, n, 1),
        _pct_or_low(participating, n, 1),
    ]


def neet_more(cells: Cells, period: str) -> Cells:
    """Young people participating in education or training: nearly all of those neither NEET nor of
    unknown activity (the rest are in jobs without training)."""

    def extra(vector, rng, cell):
        n, neet, not_known = vector
        return (_binomial(rng, n - neet - not_known, 0.975),)

    return extend_cells(cells, "neet-more", period, extra)


# ---------------------------------------------------------------------------------------------
# Rows and files


def _standard(period: str, identifier: str, area: Area, version: str) -> list[str]:
    la = area.la
    return [
        period,
        identifier,
        area.level,
        COUNTRY_CODE,
        COUNTRY_NAME,
        area.region_code,
        area.region_name,
        la.old_code if la else "",
        la.name if la else "",
        la.new_code if la else "",
        version,
    ]


def _rows(
    period: str,
    version: str,
    cells_by_la: Cells,
    filter_rows: FilterRows,
    formatter: Formatter,
    identifier: str = "Academic year",
) -> list[list[str]]:
    headline = filter_rows[0][0]
    rows = []
    for area, members in _areas():
        for filters, cell_keys in filter_rows:
            vector = _sum_vectors(cells_by_la[code][cell] for code in members for cell in cell_keys)
            rows.append(
                _standard(period, identifier, area, version)
                + list(filters)
                + formatter(vector, area, filters == headline)
            )
    return rows


def _meta_rows(
    filter_meta: Sequence[tuple[str, str, str, str]], indicators: Sequence[tuple[str, str, str, str]]
) -> list[list[str]]:
    rows = [[col, "Filter", label, "", "", hint, grouping] for col, label, hint, grouping in filter_meta]
    rows += [[col, "Indicator", label, grouping, unit, "", ""] for col, label, grouping, unit in indicators]
    return rows


def _write(
    out_dir: Path,
    relative: str,
    filter_meta: Sequence[tuple[str, str, str, str]],
    indicators: Sequence[tuple[str, str, str, str]],
    rows: list[list[str]],
) -> list[Path]:
    filter_columns = [col for col, *_ in filter_meta if col != "version"]
    header = STANDARD_COLUMNS + filter_columns + [col for col, *_ in indicators]
    data_path = out_dir / relative
    meta_path = data_path.with_name(data_path.name.removesuffix(".csv") + ".meta.csv")
    return [
        _write_atomic(data_path, _csv_bytes(header, rows)),
        _write_atomic(meta_path, _csv_bytes(META_COLUMNS, _meta_rows(filter_meta, indicators))),
    ]


def _version(year: str, revised_year: str | None = None) -> str:
    return "Revised" if year == revised_year else "Final"


# ---------------------------------------------------------------------------------------------
# KS4 destinations: (institution, disadvantaged?) cells. Each cell's pupils are split into the
# year's destinations with conditional binomials, so every count adds up exactly.

DESTINATION_INSTITUTIONS = ("mainstream", "special")
DESTINATION_CELL_KEYS: tuple[Cell, ...] = tuple(
    (institution, group) for institution in DESTINATION_INSTITUTIONS for group in ("dis", "other")
)
_MAINSTREAM = tuple(k for k in DESTINATION_CELL_KEYS if k[0] == "mainstream")
_BOTH = DESTINATION_CELL_KEYS
# (institution group, breakdown topic, breakdown) -> the cells the row sums
DESTINATION_FILTER_ROWS: FilterRows = [
    (("State-funded mainstream schools", "Total", "Total", "Total"), _MAINSTREAM),
    (("State-funded mainstream schools", "Total", "Disadvantage Status", "Disadvantaged"), (("mainstream", "dis"),)),
    (
        ("State-funded mainstream schools", "Total", "Disadvantage Status", "Not disadvantaged"),
        (("mainstream", "other"),),
    ),
    (("State-funded mainstream & special schools", "Total", "Total", "Total"), _BOTH),
]
DESTINATION_FILTER_META = [
    ("version", "Version", "", ""),
    ("institution_group", "Institution group", "Filter by type of institution", ""),
    ("institution_type", "Institution type", "Filter by type of institution", "institution_group"),
    ("breakdown_topic", "Breakdown topic", "Filter by pupil characteristic", ""),
    ("breakdown", "Breakdown", "Filter by characteristic value", "breakdown_topic"),
    ("data_type", "Data type", "Number of students or percentage", ""),
]
DESTINATION_META = [  # a count on 'Number of students' rows, a percentage of the cohort on 'Percentage' rows
    ("cohort", "Number of pupils completing key stage 4", "Cohort", ""),
    ("overall", "Sustained education, apprenticeship or employment", "Overall", ""),
    ("education", "Sustained education destination", "Education", ""),
    ("fe", "Further education", "Education", ""),
    ("ssf", "School sixth form", "Education", ""),
    ("sfc", "Sixth form college", "Education", ""),
    ("other_edu", "Other education destinations", "Education", ""),
    ("appren", "Sustained apprenticeships", "Apprenticeships", ""),
    ("all_work", "Sustained employment", "Employment", ""),
    ("all_notsust", "Destination not sustained", "Not sustained", ""),
    ("all_unknown", "Activity not captured", "Unknown", ""),
]
DESTINATIONS_TINY = {CITY_OF_LONDON: (8, 14), ISLES_OF_SCILLY: (16, 26)}  # as KS4's cohorts
_DESTINATION_NOT_SUSTAINED = 0.055  # England's mainstream share, about 5% in DfE's releases


def simulate_destinations(latent: list[LatentLA], year_index: int, effects: dict[str, tuple[float, ...]]) -> Cells:
    """Cells (cohort, overall, education, fe, ssf, sfc, other_edu, appren, all_work, all_notsust, all_unknown)."""
    year = YEARS[year_index]
    sizes = {}
    for lat in latent:
        pupils = _pupil_cells(
            lat, "ks4_destinations", year_index, round(lat.ks2_cohort * 0.93), -0.002, 1.0, DESTINATIONS_TINY
        )
        dis = sum(n for (is_dis, _), n in pupils.items() if is_dis)
        other = sum(pupils.values()) - dis
        rng = _rng("ks4_destinations-special", lat.la.old_code, year)
        sizes[lat.la.old_code] = {
            ("mainstream", "dis"): dis,
            ("mainstream", "other"): other,
            ("special", "dis"): _binomial(rng, dis, 0.05),
            ("special", "other"): _binomial(rng, other, 0.02),
        }
    logits = {
        (code, cell): -0.35 * effects[code][year_index]
        + (0.95 if cell[1] == "dis" else 0.0)
        + (0.8 if cell[0] == "special" else 0.0)
        for code in sizes
        for cell in DESTINATION_CELL_KEYS
    }
    keys = [(code, cell) for code in sorted(sizes) for cell in _MAINSTREAM]
    offset = _solve_logit_offset([(sizes[c][cell], logits[(c, cell)]) for c, cell in keys], _DESTINATION_NOT_SUSTAINED)
    result: Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("ks4_destinations-draw", code, year)
        cells = {}
        for cell in DESTINATION_CELL_KEYS:
            n = sizes[code][cell]
            not_sustained = _binomial(rng, n, _sigmoid(offset + logits[(code, cell)]))
            unknown = _binomial(rng, n - not_sustained, 0.012 if cell[1] == "other" else 0.02)
            sustained = n - not_sustained - unknown
            apprenticeship = _binomial(rng, sustained, 0.035 if cell[0] == "mainstream" else 0.01)
            work = _binomial(rng, sustained - apprenticeship, 0.03)
            education = sustained - apprenticeship - work
            if cell[0] == "special":  # special school leavers mostly go on to college or specialist provision
                fe = _binomial(rng, education, 0.7)
                ssf = _binomial(rng, education - fe, 0.6)
                sfc = 0
            else:
                # England: about 41% of those in education go to FE, 42% to a school sixth form
                # and 15% to a sixth form college; disadvantaged pupils more often to FE
                fe = _binomial(rng, education, 0.39 if cell[1] == "other" else 0.5)
                ssf = _binomial(rng, education - fe, 0.72 if cell[1] == "other" else 0.6)
                sfc = _binomial(rng, education - fe - ssf, 0.88)
            other_edu = education - fe - ssf - sfc
            cells[cell] = (
                n,
                sustained,
                education,
                fe,
                ssf,
                sfc,
                other_edu,
                apprenticeship,
                work,
                not_sustained,
                unknown,
            )
        result[code] = cells
    return result


def _destination_values(v: tuple[int, ...], percentages: bool) -> list[str]:
    n, *counts = v
    if n < 6:
        return ["c"] * len(v)
    shown = ["c" if _suppressed_count(c) else (_fmt_ratio(100 * c, n, 1) if percentages else str(c)) for c in counts]
    return [str(n), *shown]


def _destination_rows(period: str, cells: Cells) -> list[list[str]]:
    """Each area's count rows then percentage rows (data_type), institution_type always Total."""
    rows = []
    for data_type, percentages in (("Number of students", False), ("Percentage", True)):
        filter_rows = [((*filters, data_type), keys) for filters, keys in DESTINATION_FILTER_ROWS]
        rows += _rows(
            period, "Final", cells, filter_rows, lambda v, area, headline, p=percentages: _destination_values(v, p)
        )
    return rows


def generate_phases(out_dir: Path, latent: list[LatentLA]) -> list[Path]:
    """Write the sample files of every dataset beyond KS2/KS4; returns the paths written."""
    written: list[Path] = []

    eyfs_effects = _attainment_effects(latent, "eyfs", EYFS.own_sd)
    rows, area_rows = [], []
    area_filter_rows = [((area,), ((area, "all"),)) for area in EYFS_AREAS]
    for i, year in enumerate(YEARS):
        if year in EYFS_NOT_COLLECTED:
            continue
        cells = eyfs_more(_nest_eyfs(simulate_pupil_outcomes(latent, EYFS, i, eyfs_effects)), year)
        rows += _rows(year, "Final", cells, FILTER_ROWS, lambda v, area, headline, year=year: _eyfs_values(v, year))
        area_rows += _rows(
            year,
            "Final",
            simulate_eyfs_areas(cells, year),
            area_filter_rows,
            lambda v, area, headline: _pupil_values(v, 1, False),
        )
    written += _write(out_dir, "eyfs/eyfs_la_timeseries.csv", FILTER_META, EYFS_META, rows)
    written += _write(out_dir, "eyfs/eyfs_la_areas_of_learning.csv", EYFS_AREA_FILTER_META, EYFS_AREA_META, area_rows)

    for spec, meta, years, relative in (
        (PHONICS, PHONICS_META, YEARS, "phonics/phonics_la_timeseries.csv"),
        (KS1, KS1_META, KS1_YEARS, "ks1/ks1_la_timeseries.csv"),
    ):
        effects = _attainment_effects(latent, spec.dataset, spec.own_sd)
        rows = []
        for i, year in enumerate(years):
            cells = simulate_pupil_outcomes(latent, spec, i, effects)
            if spec is KS1:
                cells = ks1_more(cells, year)
            withheld = year in ASSESSMENTS_CANCELLED
            rows += _rows(
                year,
                "Final",
                cells,
                FILTER_ROWS,
                lambda v, area, headline, withheld=withheld: _pupil_values(v, 0, withheld),
            )
        written += _write(out_dir, relative, FILTER_META, meta, rows)

    ks5_effects = _attainment_effects(latent, "ks5", 0.55)
    ks5_final = {year: simulate_ks5(latent, i, ks5_effects) for i, year in enumerate(YEARS)}
    ks5 = {year: ks5_more(cells, year) for year, cells in ks5_final.items()}

    def ks5_fmt(v, area, headline):
        return _ks5_values(v, area)

    rows = []
    for year in YEARS:
        rows += _rows(year, _version(year, "202425"), ks5[year], FILTER_ROWS, ks5_fmt)
    written += _write(out_dir, "ks5/ks5_la_timeseries.csv", FILTER_META, KS5_META, rows)
    rows = _rows(
        "202425", "Provisional", ks5_more(ks5_provisional(ks5_final["202425"]), "202425"), FILTER_ROWS, ks5_fmt
    )
    written += _write(out_dir, "ks5/ks5_la_2025_provisional.csv", FILTER_META, KS5_META, rows)
    vocational_rows = [((cohort,), ((cohort, "all"),)) for cohort in KS5_VOCATIONAL]
    rows = []
    for year in YEARS:
        cohorts = [row for row in vocational_rows if year >= KS5_VOCATIONAL[row[0][0]][2]]
        if cohorts:
            cells = simulate_ks5_vocational(ks5[year], year)
            rows += _rows(
                year,
                _version(year, "202425"),
                cells,
                cohorts,
                lambda v, area, headline: _ks5_vocational_values(v, area),
            )
    written += _write(
        out_dir, "ks5/ks5_vocational_la_timeseries.csv", KS5_VOCATIONAL_FILTER_META, KS5_VOCATIONAL_META, rows
    )

    age19_effects = _attainment_effects(latent, "age19", 0.35)
    rows = []
    for i, year in enumerate(AGE19_YEARS):
        cells = age19_more(simulate_age19(latent, i, age19_effects), year)
        rows += _rows(year, "Final", cells, AGE19_FILTER_ROWS, lambda v, area, headline: _age19_values(v))
    written += _write(out_dir, "age19/level_2_3_at_19_la.csv", AGE19_FILTER_META, AGE19_META, rows)

    absence_effects = _absence_effects(latent)
    rows = []
    for i, year in enumerate(YEARS):
        cells = absence_more(simulate_absence(latent, i, absence_effects), year)
        rows += _rows(
            year, "Final", cells, SCHOOL_TYPE_FILTER_ROWS, lambda v, area, headline, year=year: _absence_values(v, year)
        )
    written += _write(out_dir, "absence/absence_la_timeseries.csv", SCHOOL_TYPE_FILTER_META, ABSENCE_META, rows)

    exclusion_effects = _exclusion_effects(latent)
    old_rows, rows = [], []
    for i, year in enumerate(EXCLUSIONS_YEARS):
        cells = exclusions_more(simulate_exclusions(latent, i, exclusion_effects), year)
        year_rows = _rows(
            year, "Final", cells, SCHOOL_TYPE_FILTER_ROWS, lambda v, area, headline: _exclusions_values(v, area)
        )
        (old_rows if year in EXCLUSIONS_OLD_NAME_YEARS else rows).extend(year_rows)
    written += _write(
        out_dir, "exclusions/exclusions_la_2016_to_2018.csv", SCHOOL_TYPE_FILTER_META, EXCLUSIONS_OLD_META, old_rows
    )
    written += _write(
        out_dir, "exclusions/exclusions_la_timeseries.csv", SCHOOL_TYPE_FILTER_META, EXCLUSIONS_META, rows
    )

    neet_effects = _neet_effects(latent)
    rows = []
    for i, period in enumerate(NEET_YEARS):
        cells = neet_more(simulate_neet(latent, i, neet_effects), period)
        rows += _rows(
            period,
            "Final",
            cells,
            NEET_FILTER_ROWS,
            lambda v, area, headline: _neet_values(v, area),
            identifier="Calendar year",
        )
    written += _write(out_dir, "neet/neet_la_timeseries.csv", NEET_FILTER_META, NEET_META, rows)

    destination_effects = _attainment_effects(latent, "ks4_destinations", 0.3)
    rows = []
    for year in DESTINATION_YEARS:
        rows += _destination_rows(year, simulate_destinations(latent, YEARS.index(year), destination_effects))
    written += _write(
        out_dir, "ks4_destinations/ks4_dm_la_timeseries.csv", DESTINATION_FILTER_META, DESTINATION_META, rows
    )
    return written
