"""Deterministic synthetic DfE releases in EES tidy format (KS2, KS4, statistical neighbours;
the other phases - EYFS to NEET - are in `phases`; the council's school-level files in `schools`).

Usage: python -m tools.sample_data.generator [--out raw/sample]

Values are simulated from pupil counts: every LA has latent characteristics that persist across
years, cells (disadvantage x sex) get pupil numbers and outcomes, and every published row -
LA, regional and national - is an aggregate of those integer cells, so England is consistent
with its LAs. All arithmetic that reaches the files is integer or Decimal, and every random
stream is keyed by a string, so the bytes never depend on iteration order, time or hashing.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import random
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .geography import (
    COUNTRY_CODE,
    COUNTRY_NAME,
    LOCAL_AUTHORITIES,
    LONDON,
    LONDON_SUB_REGIONS,
    REGIONS,
    LocalAuthority,
)

SEED = 20250704
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "raw" / "sample"

YEARS = ("201516", "201617", "201718", "201819", "201920", "202021", "202122", "202223", "202324", "202425")
KS2_CANCELLED = frozenset({"201920", "202021"})
KS4_NO_PROGRESS8 = frozenset({"201920", "202021"})

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
FILTER_COLUMNS = ["breakdown_topic", "breakdown", "sex"]

HEADLINE_FILTERS = ("Total", "Total", "Total")
# (breakdown_topic, breakdown, sex) -> which cells (disadvantaged?, sex) it sums.
# The Boys/Girls rows are decoys a naive "first Total row" reader would pick up.
FILTER_ROWS: list[tuple[tuple[str, str, str], tuple[tuple[bool, str], ...]]] = [
    (("Total", "Total", "Total"), ((True, "Boys"), (True, "Girls"), (False, "Boys"), (False, "Girls"))),
    (("Total", "Total", "Boys"), ((True, "Boys"), (False, "Boys"))),
    (("Total", "Total", "Girls"), ((True, "Girls"), (False, "Girls"))),
    (("Disadvantage", "Disadvantaged", "Total"), ((True, "Boys"), (True, "Girls"))),
    (("Disadvantage", "Not disadvantaged", "Total"), ((False, "Boys"), (False, "Girls"))),
    (("Disadvantage", "Disadvantaged", "Boys"), ((True, "Boys"),)),
    (("Disadvantage", "Disadvantaged", "Girls"), ((True, "Girls"),)),
]
CELL_KEYS: tuple[tuple[bool, str], ...] = ((True, "Boys"), (True, "Girls"), (False, "Boys"), (False, "Girls"))

# National targets (England, state-funded), close to DfE's published figures.
KS2_TARGETS = {  # rwm, rwm_higher, read, writ, mat, gps (%)
    "201516": (53, 5, 66, 74, 70, 72),
    "201617": (61, 9, 72, 76, 75, 77),
    "201718": (64, 10, 75, 78, 76, 78),
    "201819": (65, 10, 73, 78, 79, 78),
    "201920": (65, 10, 73, 78, 79, 78),  # simulated for continuity only, published as x
    "202021": (62, 8, 73, 74, 75, 74),
    "202122": (59, 7, 75, 70, 71, 72),
    "202223": (60, 8, 73, 71, 73, 72),
    "202324": (61, 8, 74, 72, 73, 72),
    "202425": (62, 8, 75, 72, 74, 73),
}
KS4_TARGETS = {  # att8, p8, em95 %, em94 %, ebacc entry %, ebacc aps
    "201516": (48.5, -0.03, 40.0, 60.0, 39.7, 4.10),
    "201617": (46.4, -0.03, 42.2, 63.3, 38.4, 4.02),
    "201718": (46.5, -0.03, 43.0, 64.0, 38.4, 4.05),
    "201819": (46.7, -0.03, 43.2, 64.6, 40.0, 4.08),
    "201920": (50.2, -0.03, 49.0, 71.2, 39.8, 4.38),
    "202021": (50.9, -0.03, 50.5, 72.2, 38.7, 4.45),
    "202122": (48.8, -0.03, 48.5, 69.0, 38.7, 4.27),
    "202223": (46.3, -0.03, 43.5, 65.1, 39.3, 4.05),
    "202324": (46.1, -0.03, 43.2, 64.9, 39.8, 4.07),
    "202425": (45.9, -0.03, 42.9, 64.3, 39.9, 4.04),
}

KS2_INDICATORS = [
    "t_rwm_eligible_pupils",
    "t_rwm_met_expected_standard",
    "pt_rwm_met_expected_standard",
    "pt_rwm_met_higher_standard",
    "pt_read_met_expected_standard",
    "pt_writta_met_expected_standard",
    "pt_mat_met_expected_standard",
    "pt_gps_met_expected_standard",
    # drawn from their own streams (extend_cells), after the columns above
    "pt_read_met_higher_standard",
    "pt_writta_greater_depth",
    "pt_mat_met_higher_standard",
    "pt_gps_met_higher_standard",
    "pt_scita_met_expected_standard",
    "avg_read_scaled_score",
    "avg_mat_scaled_score",
    "avg_gps_scaled_score",
    "avg_read_progress_score",
    "avg_writta_progress_score",
    "avg_mat_progress_score",
]
KS4_INDICATORS = [
    "t_pupils",
    "avg_att8",
    "avg_p8score",
    "pt_l2basics_95",
    "pt_l2basics_94",
    "pt_ebacc_e_ptq_ee",
    "avg_ebaccaps",
    "pt_ebacc_95",
    "pt_ebacc_94",
]
# DfE renamed the KS4 indicators for 2024/25; same order as KS4_INDICATORS.
KS4_2025_INDICATORS = [
    "pupil_count",
    "attainment8_average",
    "progress8_average",
    "engmath_95_percent",
    "engmath_94_percent",
    "ebacc_entering_percent",
    "ebacc_aps_average",
    "pt_ebacc_95",
    "pt_ebacc_94",
]

KS2_META = {  # column -> (label, grouping, unit)
    "t_rwm_eligible_pupils": (
        "Number of eligible pupils - reading, writing and maths",
        "Reading, writing and maths",
        "",
    ),
    "t_rwm_met_expected_standard": (
        "Number of pupils meeting the expected standard in reading, writing and maths",
        "Reading, writing and maths",
        "",
    ),
    "pt_rwm_met_expected_standard": (
        "Percentage meeting the expected standard in reading, writing and maths",
        "Reading, writing and maths",
        "%",
    ),
    "pt_rwm_met_higher_standard": (
        "Percentage meeting the higher standard in reading, writing and maths",
        "Reading, writing and maths",
        "%",
    ),
    "pt_read_met_expected_standard": ("Percentage meeting the expected standard in reading", "Reading", "%"),
    "pt_writta_met_expected_standard": (
        "Percentage meeting the expected standard in writing (teacher assessment)",
        "Writing",
        "%",
    ),
    "pt_mat_met_expected_standard": ("Percentage meeting the expected standard in maths", "Maths", "%"),
    "pt_gps_met_expected_standard": (
        "Percentage meeting the expected standard in grammar, punctuation and spelling",
        "Grammar, punctuation and spelling",
        "%",
    ),
    "pt_read_met_higher_standard": ("Percentage reaching the higher standard in reading", "Reading", "%"),
    "pt_writta_greater_depth": ("Percentage working at greater depth in writing (teacher assessment)", "Writing", "%"),
    "pt_mat_met_higher_standard": ("Percentage reaching the higher standard in maths", "Maths", "%"),
    "pt_gps_met_higher_standard": (
        "Percentage reaching the higher standard in grammar, punctuation and spelling",
        "Grammar, punctuation and spelling",
        "%",
    ),
    "pt_scita_met_expected_standard": (
        "Percentage meeting the expected standard in science (teacher assessment)",
        "Science",
        "%",
    ),
    "avg_read_scaled_score": ("Average scaled score in reading", "Reading", ""),
    "avg_mat_scaled_score": ("Average scaled score in maths", "Maths", ""),
    "avg_gps_scaled_score": (
        "Average scaled score in grammar, punctuation and spelling",
        "Grammar, punctuation and spelling",
        "",
    ),
    "avg_read_progress_score": ("Average progress score in reading", "Reading", ""),
    "avg_writta_progress_score": ("Average progress score in writing", "Writing", ""),
    "avg_mat_progress_score": ("Average progress score in maths", "Maths", ""),
}
KS4_META_ITEMS = [  # (label, grouping, unit), same order as KS4_INDICATORS
    ("Number of pupils at the end of key stage 4", "Pupil numbers", ""),
    ("Average Attainment 8 score", "Attainment 8", ""),
    ("Average Progress 8 score", "Progress 8", ""),
    ("Percentage achieving grade 5 or above in English and maths", "English and maths", "%"),
    ("Percentage achieving grade 4 or above in English and maths", "English and maths", "%"),
    ("Percentage entering the English Baccalaureate", "English Baccalaureate", "%"),
    ("Average EBacc average point score", "English Baccalaureate", ""),
    ("Percentage achieving the English Baccalaureate at grade 5 or above", "English Baccalaureate", "%"),
    ("Percentage achieving the English Baccalaureate at grade 4 or above", "English Baccalaureate", "%"),
]
FILTER_META = [  # (column, label, hint, grouping column)
    ("version", "Version", "", ""),
    ("breakdown_topic", "Breakdown topic", "Filter by pupil characteristic", ""),
    ("breakdown", "Breakdown", "Filter by characteristic value", "breakdown_topic"),
    ("sex", "Sex", "Filter by sex", ""),
]
META_COLUMNS = [
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "filter_hint",
    "filter_grouping_column",
]

SN_LABELS = ("Extremely close", "Very close", "Close", "Somewhat close", "Not close")

# Small areas get hand-set cohorts so suppression shows up where it does in real files.
TINY_KS2_COHORT = {"201": (18, 30), "420": (14, 24)}
TINY_KS4_COHORT = {"201": (7, 12), "420": (16, 26)}


def _rng(*key: object) -> random.Random:
    # str seeds are hashed with SHA-512 by `random`, so streams are stable across runs.
    return random.Random("|".join(["edu-sample", str(SEED), *map(str, key)]))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0:
        return 0
    if n < 60:
        return sum(1 for _ in range(n) if rng.random() < p)
    draw = round(n * p + rng.gauss(0.0, 1.0) * math.sqrt(n * p * (1.0 - p)))
    return min(n, max(0, draw))


def _fmt_ratio(numerator: int, denominator: int, dp: int) -> str:
    # Half-up on exact decimals: float formatting would round 12.5 to 12.
    value = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)  # never print "-0.00"
    return f"{value:.{dp}f}"


# ---------------------------------------------------------------------------------------------
# Latent LA characteristics


@dataclass(frozen=True)
class LatentLA:
    la: LocalAuthority
    deprivation: float
    quality: float
    urbanity: float
    diversity: float
    ks2_cohort: int
    ks4_cohort: int
    disadvantage_share: float
    ks2_drift: tuple[float, ...]  # persistent year-to-year effect, one per YEARS entry
    ks4_drift: tuple[float, ...]


_REGION_DEPRIVATION = {
    "E12000001": 0.55,
    "E12000002": 0.35,
    "E12000003": 0.35,
    "E12000004": 0.0,
    "E12000005": 0.25,
    "E12000006": -0.35,
    "E12000007": 0.15,
    "E12000008": -0.55,
    "E12000009": -0.3,
}
# (median, low, high) KS2 cohort by LA type (new-code prefix).
_COHORT_BY_TYPE = {
    "E10": (9000, 5000, 15000),
    "E08": (3800, 2000, 9000),
    "E09": (2800, 1500, 4200),
    "E06": (2300, 1200, 4800),
}
_LARGE_CITIES = {"330": 14300, "383": 9500, "373": 6800, "380": 7600, "341": 5600, "352": 7400}


def _drift(rng: random.Random) -> tuple[float, ...]:
    values = [rng.gauss(0.0, 0.10)]
    for _ in YEARS[1:]:
        values.append(0.7 * values[-1] + rng.gauss(0.0, 0.07))
    return tuple(round(v, 6) for v in values)


def build_latent() -> list[LatentLA]:
    latent = []
    for la in LOCAL_AUTHORITIES:
        rng = _rng("latent", la.old_code)
        prefix = la.new_code[:3]
        dep = _REGION_DEPRIVATION[la.region.code] + rng.gauss(0.0, 0.6)
        if prefix == "E08":
            dep += 0.35
        elif prefix == "E10":
            dep -= 0.35
        elif la.sub_region is not None and la.sub_region.code == "E13000001":
            dep += 0.3
        london = la.region is LONDON
        quality = -0.6 * dep + (0.75 if london else 0.0) + rng.gauss(0.0, 0.45)
        urbanity = {"E08": 0.8, "E09": 1.0, "E06": 0.45, "E10": 0.0}[prefix] + rng.gauss(0.0, 0.12)
        diversity = (1.0 if london else 0.0) + 0.3 * urbanity + rng.gauss(0.0, 0.35)
        median, low, high = _COHORT_BY_TYPE[prefix]
        ks2 = _LARGE_CITIES.get(la.old_code) or min(high, max(low, round(median * math.exp(rng.gauss(0.0, 0.35)))))
        ks4 = round(ks2 * rng.uniform(0.86, 0.97))
        share = _sigmoid(-1.0 + 0.75 * dep + rng.gauss(0.0, 0.15))
        latent.append(
            LatentLA(
                la=la,
                deprivation=round(dep, 6),
                quality=round(quality, 6),
                urbanity=round(urbanity, 6),
                diversity=round(diversity, 6),
                ks2_cohort=ks2,
                ks4_cohort=ks4,
                disadvantage_share=round(share, 6),
                ks2_drift=_drift(_rng("drift-ks2", la.old_code)),
                ks4_drift=_drift(_rng("drift-ks4", la.old_code)),
            )
        )
    return latent


# ---------------------------------------------------------------------------------------------
# Cells: pupil numbers per LA x year x (disadvantaged?, sex)


def _cell_sizes(lat: LatentLA, phase: str, year_index: int) -> dict[tuple[bool, str], int]:
    rng = _rng("cells", phase, lat.la.old_code, YEARS[year_index])
    tiny = (TINY_KS2_COHORT if phase == "ks2" else TINY_KS4_COHORT).get(lat.la.old_code)
    if tiny:
        total = rng.randint(*tiny)
    else:
        base = lat.ks2_cohort if phase == "ks2" else lat.ks4_cohort
        total = round(base * (1.0 + 0.008 * (year_index - 4) + rng.gauss(0.0, 0.02)))
    share = min(0.8, lat.disadvantage_share * (1.0 + 0.02 * (year_index - 4)) * (0.95 if phase == "ks4" else 1.0))
    if lat.la.old_code == "201":
        disadvantaged = rng.randint(2, 5)  # City of London: always too few to publish
    else:
        disadvantaged = _binomial(rng, total, share)
    cells = {}
    for is_dis, group in ((True, disadvantaged), (False, total - disadvantaged)):
        boys = _binomial(rng, group, 0.51)
        cells[(is_dis, "Boys")] = boys
        cells[(is_dis, "Girls")] = group - boys
    return cells


def _solve_logit_offset(weights_and_x: list[tuple[int, float]], target: float) -> float:
    total = sum(n for n, _ in weights_and_x)
    lo, hi = -8.0, 8.0
    for _ in range(80):
        mid = (lo + hi) / 2.0
        mean = sum(n * _sigmoid(mid + x) for n, x in weights_and_x) / total
        if mean < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


# KS2 vector: n, rwm, rwm_higher, read, writ, mat, gps
# per indicator: (LA loading, disadvantage gap, girls minus boys) on the logit scale
_KS2_EFFECTS = [
    (0.24, 0.78, 0.42),
    (0.35, 1.45, 0.30),
    (0.20, 0.85, 0.38),
    (0.22, 0.95, 0.62),
    (0.24, 0.85, -0.04),
    (0.24, 0.85, 0.45),
]
# KS4 percentages: em95, em94, ebacc entry
_KS4_PCT_EFFECTS = [
    (0.36, 1.20, 0.12),
    (0.38, 1.15, 0.10),
    (0.35, 0.85, 0.35),
]

KS2Cells = dict[str, dict[tuple[bool, str], tuple[int, ...]]]  # old code -> cell -> vector


def simulate_ks2(latent: list[LatentLA], year_index: int) -> KS2Cells:
    year = YEARS[year_index]
    sizes = {lat.la.old_code: _cell_sizes(lat, "ks2", year_index) for lat in latent}
    predictors: dict[tuple[str, tuple[bool, str]], list[float]] = {}
    for lat in latent:
        rng = _rng("ks2-x", lat.la.old_code, year)
        effect = lat.quality + lat.ks2_drift[year_index] / 0.24
        for cell in CELL_KEYS:
            is_dis, sex = cell
            xs = []
            for loading, gap, girls in _KS2_EFFECTS:
                x = loading * effect - (gap if is_dis else 0.0) + (girls / 2 if sex == "Girls" else -girls / 2)
                xs.append(x + rng.gauss(0.0, 0.04))
            predictors[(lat.la.old_code, cell)] = xs
    offsets = []
    for i, target in enumerate(KS2_TARGETS[year]):
        pairs = [(sizes[code][cell], predictors[(code, cell)][i]) for code in sorted(sizes) for cell in CELL_KEYS]
        offsets.append(_solve_logit_offset(pairs, target / 100.0))
    result: KS2Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("ks2-draw", code, year)
        cells = {}
        for cell in CELL_KEYS:
            n = sizes[code][cell]
            xs = predictors[(code, cell)]
            rwm, high, read, writ, mat, gps = (_binomial(rng, n, _sigmoid(offsets[i] + xs[i])) for i in range(6))
            rwm = min(rwm, read, writ, mat)  # RWM needs all three subjects
            high = min(high, rwm)
            cells[cell] = (n, rwm, high, read, writ, mat, gps)
        result[code] = cells
    return result


KS4Cells = dict[str, dict[tuple[bool, str], tuple[int, ...]]]
# KS4 vector: n, att8 sum (hundredths), p8 sum (hundredths), em95, em94, ebacc entries,
# ebacc aps sum (hundredths)


def simulate_ks4(latent: list[LatentLA], year_index: int) -> KS4Cells:
    year = YEARS[year_index]
    att8_target, p8_target, *pct_targets, aps_target = KS4_TARGETS[year]
    sizes = {lat.la.old_code: _cell_sizes(lat, "ks4", year_index) for lat in latent}
    means: dict[tuple[str, tuple[bool, str]], list[float]] = {}
    for lat in latent:
        rng = _rng("ks4-x", lat.la.old_code, year)
        effect = lat.quality + lat.ks4_drift[year_index]
        for cell in CELL_KEYS:
            is_dis, sex = cell
            sign = 1.0 if sex == "Girls" else -1.0
            att8 = 3.2 * effect - (12.0 if is_dis else 0.0) + 1.3 * sign + rng.gauss(0.0, 0.35)
            p8 = 0.2 * effect - (0.62 if is_dis else 0.0) + 0.21 * sign + rng.gauss(0.0, 0.04)
            pcts = [
                loading * effect - (gap if is_dis else 0.0) + girls / 2 * sign + rng.gauss(0.0, 0.04)
                for loading, gap, girls in _KS4_PCT_EFFECTS
            ]
            aps = 0.088 * att8 + rng.gauss(0.0, 0.03)
            means[(lat.la.old_code, cell)] = [att8, p8, *pcts, aps]
    keys = [(code, cell) for code in sorted(sizes) for cell in CELL_KEYS]
    total = sum(sizes[c][cell] for c, cell in keys)

    def linear_shift(i: int, target: float) -> float:
        return target - sum(sizes[c][cell] * means[(c, cell)][i] for c, cell in keys) / total

    att8_shift = linear_shift(0, att8_target)
    p8_shift = linear_shift(1, p8_target)
    aps_shift = linear_shift(5, aps_target)
    pct_offsets = [
        _solve_logit_offset([(sizes[c][cell], means[(c, cell)][2 + i]) for c, cell in keys], t / 100.0)
        for i, t in enumerate(pct_targets)
    ]
    result: KS4Cells = {}
    for lat in latent:
        code = lat.la.old_code
        rng = _rng("ks4-draw", code, year)
        cells = {}
        for cell in CELL_KEYS:
            n = sizes[code][cell]
            att8, p8, x95, x94, xeb, aps = means[(code, cell)]
            att8_mean = min(85.0, max(5.0, att8 + att8_shift))
            aps_mean = min(8.5, max(0.5, aps + aps_shift))
            em95 = _binomial(rng, n, _sigmoid(pct_offsets[0] + x95))
            em94 = max(em95, _binomial(rng, n, _sigmoid(pct_offsets[1] + x94)))
            ebacc = _binomial(rng, n, _sigmoid(pct_offsets[2] + xeb))
            cells[cell] = (
                n,
                round(n * att8_mean * 100),
                round(n * (p8 + p8_shift) * 100),
                em95,
                em94,
                ebacc,
                round(n * aps_mean * 100),
            )
        result[code] = cells
    return result


# ---------------------------------------------------------------------------------------------
# Provisional releases: the same cells with small differences that the final release revised


def _headline(cells: dict[tuple[bool, str], tuple[int, ...]]) -> tuple[int, ...]:
    return _sum_vectors(cells.values())


def _sum_vectors(vectors) -> tuple[int, ...]:
    vectors = list(vectors)
    return tuple(sum(v[i] for v in vectors) for i in range(len(vectors[0])))


def _largest_cell(cells: dict[tuple[bool, str], tuple[int, ...]]) -> tuple[bool, str]:
    # max() keeps the first of equal sizes, and CELL_KEYS has a fixed order
    return max(CELL_KEYS, key=lambda c: cells[c][0])


def ks2_provisional(final: KS2Cells, forced_lower_rwm: str = "342") -> KS2Cells:
    provisional: KS2Cells = {}
    for code in sorted(final):
        cells = dict(final[code])
        rng = _rng("ks2-provisional", code)
        chosen = code == forced_lower_rwm or rng.random() < 0.15
        if chosen and code not in TINY_KS2_COHORT:
            target_cell = _largest_cell(cells)
            vector = list(cells[target_cell])
            n_total = _headline(cells)[0]
            # index 1 = RWM (always revised), then others with some probability
            for index in (1, 3, 4, 5, 6):
                if index != 1 and rng.random() >= 0.4:
                    continue
                sign = rng.choice((-1, 1))
                if index == 1 and code == forced_lower_rwm:
                    sign = -1
                original = _fmt_ratio(100 * _headline(cells)[index], n_total, 0)
                wanted = str(int(original) + sign)
                step = 0
                while _fmt_ratio(100 * (_headline(cells)[index] + step), n_total, 0) != wanted:
                    step += sign
                vector[index] += step
                cells[target_cell] = tuple(vector)
            vector[2] = min(vector[2], vector[1])
            cells[target_cell] = tuple(vector)
        provisional[code] = cells
    return provisional


def ks4_provisional(final: KS4Cells) -> KS4Cells:
    provisional: KS4Cells = {}
    for code in sorted(final):
        cells = dict(final[code])
        rng = _rng("ks4-provisional", code)
        if rng.random() < 0.15 and code not in TINY_KS4_COHORT:
            target_cell = _largest_cell(cells)
            n, att8, p8, em95, em94, ebacc, aps = cells[target_cell]
            delta = rng.choice((-1, 1)) * rng.uniform(0.3, 1.0)
            att8 += round(n * delta * 100)
            p8 += round(n * delta / 10 * 100)
            aps += round(n * delta * 0.09 * 100)
            em95 = min(n, max(0, em95 + round(n * rng.uniform(-0.02, 0.02))))
            em94 = min(n, max(em95, em94 + round(n * rng.uniform(-0.02, 0.02))))
            ebacc = min(n, max(0, ebacc + round(n * rng.uniform(-0.02, 0.02))))
            cells[target_cell] = (n, att8, p8, em95, em94, ebacc, aps)
        provisional[code] = cells
    return provisional


# ---------------------------------------------------------------------------------------------
# Indicators added to the sample later: drawn per cell from the cell's own counts and a random
# stream of their own, appended to its vector, so every earlier value keeps its bytes. The school
# files and the provisional releases see the original vectors.


def extend_cells(cells: dict, stream: str, year: str, extra) -> dict:
    """Each cell's vector with ``extra(vector, rng, cell)`` appended (``rng`` keyed by stream, LA, year)."""
    extended = {}
    for code in sorted(cells):
        rng = _rng(stream, code, year)
        extended[code] = {cell: vector + tuple(extra(vector, rng, cell)) for cell, vector in cells[code].items()}
    return extended


KS2_NO_PROGRESS = frozenset({"202324", "202425"})  # no KS1 results for these cohorts (COVID-19)


def ks2_more(cells: KS2Cells, year: str) -> KS2Cells:
    """Higher standards, greater depth in writing, science, scaled scores (sums) and progress scores
    (sums in hundredths, centred on England's expected-standard rates)."""
    read_england, writ_england, mat_england = (KS2_TARGETS[year][i] / 100 for i in (2, 3, 4))

    def extra(vector, rng, cell):
        n, _, _, read, writ, mat, gps = vector
        r, w, m, g = ((count / n if n else 0.0) for count in (read, writ, mat, gps))
        return (
            _binomial(rng, read, min(0.9, 0.52 * r)),
            _binomial(rng, writ, min(0.9, 0.25 * w)),
            _binomial(rng, mat, min(0.9, 0.45 * m)),
            _binomial(rng, gps, min(0.9, 0.55 * g)),
            _binomial(rng, n, min(0.98, 0.25 + 0.75 * (r + m) / 2)),
            round(n * (92 + 18 * r + rng.gauss(0.0, 0.3))),
            round(n * (91 + 19 * m + rng.gauss(0.0, 0.3))),
            round(n * (92 + 19 * g + rng.gauss(0.0, 0.3))),
            round(n * (4 * (r - read_england) + rng.gauss(0.0, 0.2)) * 100),
            round(n * (4 * (w - writ_england) + rng.gauss(0.0, 0.2)) * 100),
            round(n * (4 * (m - mat_england) + rng.gauss(0.0, 0.2)) * 100),
        )

    return extend_cells(cells, "ks2-more", year, extra)


def ks4_more(cells: KS4Cells, year: str) -> KS4Cells:
    """Pupils achieving the EBacc at grade 5 and at grade 4: entrants who also passed English and maths."""

    def extra(vector, rng, cell):
        n, _, _, em95, em94, ebacc, _ = vector
        at_5 = _binomial(rng, min(ebacc, em95), 0.46)
        return (at_5, at_5 + _binomial(rng, min(ebacc, em94) - at_5, 0.33))

    return extend_cells(cells, "ks4-more", year, extra)


# ---------------------------------------------------------------------------------------------
# Rows


@dataclass(frozen=True)
class Area:
    level: str
    region_code: str = ""
    region_name: str = ""
    la: LocalAuthority | None = None


def _areas() -> list[tuple[Area, list[str]]]:
    """Every published area with the old LA codes it aggregates."""
    areas = [(Area("National"), [la.old_code for la in LOCAL_AUTHORITIES])]
    for region in REGIONS:
        members = [la.old_code for la in LOCAL_AUTHORITIES if la.region == region]
        areas.append((Area("Regional", region.code, region.name), members))
    for sub in LONDON_SUB_REGIONS:
        members = [la.old_code for la in LOCAL_AUTHORITIES if la.sub_region == sub]
        areas.append((Area("Regional", sub.code, sub.name), members))
    for la in LOCAL_AUTHORITIES:
        areas.append((Area("Local authority", la.reporting_region_code, la.reporting_region_name, la), [la.old_code]))
    return areas


def _standard(year: str, area: Area, version: str) -> list[str]:
    la = area.la
    return [
        year,
        "Academic year",
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


def _suppressed_count(count: int) -> bool:
    return 1 <= count <= 5


def _ks2_values(v: tuple[int, ...], year: str, area: Area, headline: bool) -> list[str]:
    if year in KS2_CANCELLED:
        return ["x"] * len(KS2_INDICATORS)
    n, rwm, high, read, writ, mat, gps = v[:7]
    if n < 6:
        return ["c"] * len(KS2_INDICATORS)
    values = [str(n), "c" if _suppressed_count(rwm) else str(rwm)]
    for index, count in ((1, rwm), (2, high), (3, read), (4, writ), (5, mat), (6, gps)):
        if _suppressed_count(count):
            # Isles of Scilly's handful of higher-standard pupils is flagged `low`, the way
            # DfE marks small-but-nonzero figures, so the sample exercises that symbol.
            low = headline and index == 2 and area.la is not None and area.la.old_code == "420"
            values.append("low" if low else "c")
        else:
            values.append(_fmt_ratio(100 * count, n, 0))
    more = v[7:]
    values += ["c" if _suppressed_count(count) else _fmt_ratio(100 * count, n, 0) for count in more[:5]]
    values += [_fmt_ratio(total, n, 0) for total in more[5:8]]
    values += ["z"] * 3 if year in KS2_NO_PROGRESS else [_fmt_ratio(total, 100 * n, 2) for total in more[8:]]
    return values


def _ks4_values(v: tuple[int, ...], year: str, renamed: bool) -> list[str]:
    n, att8, p8, em95, em94, ebacc, aps, ebacc_95, ebacc_94 = v
    if n < 6:
        values = ["c"] * len(KS4_INDICATORS)
    else:

        def pct(count: int) -> str:
            return "c" if _suppressed_count(count) else _fmt_ratio(100 * count, n, 1)

        values = [
            str(n),
            _fmt_ratio(att8, 100 * n, 1),
            _fmt_ratio(p8, 100 * n, 2),
            pct(em95),
            pct(em94),
            pct(ebacc),
            _fmt_ratio(aps, 100 * n, 2),
            pct(ebacc_95),
            pct(ebacc_94),
        ]
    if year in KS4_NO_PROGRESS8:
        values[2] = "x"  # centre/teacher assessed grades: Progress 8 not published
    if renamed:
        values[2] = "z"  # Progress 8 not produced for 2024/25
    if year == "201516":
        values[3] = values[4] = values[7] = values[8] = "z"  # 9-1 grades start in 2016/17
    return values


def _data_rows(year: str, version: str, cells_by_la: dict, formatter) -> list[list[str]]:
    rows = []
    for area, members in _areas():
        for filters, cell_keys in FILTER_ROWS:
            vector = _sum_vectors(cells_by_la[code][cell] for code in members for cell in cell_keys)
            rows.append(
                _standard(year, area, version) + list(filters) + formatter(vector, area, filters == HEADLINE_FILTERS)
            )
    return rows


# ---------------------------------------------------------------------------------------------
# Writing


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_atomic(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; sample files are ordinary repo files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _meta_rows(indicators: list[tuple[str, str, str, str]]) -> list[list[str]]:
    rows = [[col, "Filter", label, "", "", hint, grouping] for col, label, hint, grouping in FILTER_META]
    rows += [[col, "Indicator", label, grouping, unit, "", ""] for col, label, grouping, unit in indicators]
    return rows


def _write_dataset(
    out_dir: Path, relative: str, indicators: list[tuple[str, str, str, str]], rows: list[list[str]]
) -> list[Path]:
    header = STANDARD_COLUMNS + FILTER_COLUMNS + [col for col, *_ in indicators]
    data_path = out_dir / relative
    meta_path = data_path.with_name(data_path.name.removesuffix(".csv") + ".meta.csv")
    return [
        _write_atomic(data_path, _csv_bytes(header, rows)),
        _write_atomic(meta_path, _csv_bytes(META_COLUMNS, _meta_rows(indicators))),
    ]


def _statistical_neighbours(latent: list[LatentLA]) -> list[list[str]]:
    def features(lat: LatentLA) -> tuple[float, ...]:
        return (lat.deprivation, 0.8 * lat.urbanity, 0.6 * lat.diversity, 0.3 * math.log(lat.ks2_cohort))

    feats = {lat.la.old_code: features(lat) for lat in latent}
    neighbours = {}
    for lat in latent:
        own = feats[lat.la.old_code]
        ranked = sorted(
            (round(math.dist(own, feats[other.la.old_code]), 9), other.la.old_code)
            for other in latent
            if other.la.old_code != lat.la.old_code
        )
        neighbours[lat.la.old_code] = ranked[:10]
    distances = sorted(d for ranked in neighbours.values() for d, _ in ranked)
    cuts = [distances[int(q * (len(distances) - 1))] for q in (0.1, 0.3, 0.6, 0.85)]

    def label(distance: float) -> str:
        for cut, name in zip(cuts, SN_LABELS):
            if distance <= cut:
                return name
        return SN_LABELS[-1]

    rows = []
    for lat in sorted(latent, key=lambda lt: (lt.la.name, lt.la.old_code)):
        la = lat.la
        row = [la.old_code, la.name, str(la.region.ind), la.region.name]
        for distance, code in neighbours[la.old_code]:
            row += [code, label(distance)]
        rows.append(row)
    return rows


def generate(out_dir: Path) -> list[Path]:
    """Write every sample file under out_dir; returns the paths written."""
    out_dir = Path(out_dir)
    latent = build_latent()
    written: list[Path] = []

    ks2 = {year: simulate_ks2(latent, i) for i, year in enumerate(YEARS)}
    ks2_meta = [(col, *KS2_META[col]) for col in KS2_INDICATORS]

    def ks2_fmt(year):
        return lambda v, area, headline: _ks2_values(v, year, area, headline)

    rows = []
    for year in YEARS:
        version = "Revised" if year == "202425" else "Final"
        rows += _data_rows(year, version, ks2_more(ks2[year], year), ks2_fmt(year))
    written += _write_dataset(out_dir, "ks2/ks2_la_timeseries.csv", ks2_meta, rows)
    rows = _data_rows("202122", "Provisional", ks2_more(ks2_provisional(ks2["202122"]), "202122"), ks2_fmt("202122"))
    written += _write_dataset(out_dir, "ks2/ks2_la_2022_provisional.csv", ks2_meta, rows)

    ks4 = {year: simulate_ks4(latent, i) for i, year in enumerate(YEARS)}
    ks4_meta = [(col, *item) for col, item in zip(KS4_INDICATORS, KS4_META_ITEMS)]
    ks4_2025_meta = [(col, *item) for col, item in zip(KS4_2025_INDICATORS, KS4_META_ITEMS)]

    def ks4_fmt(year, renamed=False):
        return lambda v, area, headline: _ks4_values(v, year, renamed)

    rows = []
    for year in YEARS[:-1]:
        rows += _data_rows(year, "Final", ks4_more(ks4[year], year), ks4_fmt(year))
    written += _write_dataset(out_dir, "ks4/ks4_la_timeseries.csv", ks4_meta, rows)
    rows = _data_rows("202122", "Provisional", ks4_more(ks4_provisional(ks4["202122"]), "202122"), ks4_fmt("202122"))
    written += _write_dataset(out_dir, "ks4/ks4_la_2022_provisional.csv", ks4_meta, rows)
    rows = _data_rows("202425", "Revised", ks4_more(ks4["202425"], "202425"), ks4_fmt("202425", renamed=True))
    written += _write_dataset(out_dir, "ks4/ks4_la_2025.csv", ks4_2025_meta, rows)

    sn_header = ["old_la_code", "la_name", "region_ind", "region_name"]
    for k in range(1, 11):
        sn_header += [f"SN_{k}", f"SN_{k}P"]
    written.append(
        _write_atomic(
            out_dir / "statistical_neighbours" / "sn_model_wide.csv",
            _csv_bytes(sn_header, _statistical_neighbours(latent)),
        )
    )

    # The other phases build on this module's helpers, so importing them at the top would be circular.
    from .phases import generate_phases

    written += generate_phases(out_dir, latent)

    # The council's school-level files split these same KS2/KS4 cells across schools.
    from .schools import generate_local

    written += generate_local(out_dir, ks2, ks4)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: <repo>/raw/sample)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)


if __name__ == "__main__":
    main()
