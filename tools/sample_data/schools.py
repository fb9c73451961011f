"""Deterministic sample of a council's own school-level files (`raw/sample/local/`): a school
register, KS2 and KS4 results by school, Ofsted inspection-outcome snapshots and termly
attendance, for three North West LAs (St. Helens, Knowsley, Halton).

Ofsted publishes its management information for every state-funded school in England, so the
snapshots also carry a smaller set of schools in each of the other LAs (ENGLAND_SCHOOLS): from
them the pipeline ranks every LA on the share of pupils in good or outstanding schools.

The school results are a split of the same integer pupil cells `generator` simulated for the LA
files: per LA and year, school cohorts sum exactly to the LA's pupils and school achiever counts
(and Attainment 8 / Progress 8 point totals) sum exactly to the LA's, so a cohort-weighted mean
of the school figures reproduces the published LA figure within rounding. Schools keep a latent
quality across years; cohorts and outcomes vary around it from keyed random streams.

The file also carries deliberate test material for the pipeline's school-level rules:
- small cohorts (under 11 pupils) for disclosure control, including an LA-year where exactly one
  school is small (its value could be recovered from the LA total unless a second school is
  suppressed too) and LA-years where the two small schools are all-or-nothing (both 100% or both
  0% on RWM expected), see SMALL_COHORT_OVERRIDES;
- primaries that fall below England and decline two years running (DECLINE_EFFECT).

Every stream is keyed under "local-..." so nothing here moves a byte of the EES sample files.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .generator import (
    KS2_CANCELLED,
    YEARS,
    _binomial,
    _csv_bytes,
    _fmt_ratio,
    _rng,
    _sigmoid,
    _solve_logit_offset,
    _sum_vectors,
    _write_atomic,
)
from .geography import LOCAL_AUTHORITIES, TINY_LA_CODES, la_by_old_code

LOCAL_DIR = "local"
# (old LA code, primaries, secondaries): primaries include SMALL_PRIMARIES small schools.
SAMPLE_LAS = (("342", 58, 12), ("340", 52, 10), ("876", 47, 8))
SMALL_PRIMARIES = 3
# The three small primaries' KS2 cohorts are drawn from 4-14 pupils each year; these LA-years are
# fixed so the disclosure-control cases exist whatever the draws give.
SMALL_COHORT_OVERRIDES = {
    ("342", "202324"): (7, 12, 14),  # exactly one school under 11: secondary suppression needed
    ("340", "202324"): (6, 8, 13),  # two small schools, both 100% RWM expected
    ("876", "202223"): (5, 9, 12),  # two small schools, both 0% RWM expected
}
# RWM expected of the first two small schools in these LA-years: "all" or "none" of the cohort.
ALL_OR_NOTHING = {("340", "202324"): "all", ("876", "202223"): "none"}
# Logit shift by year for the primaries designated as declining (two per LA): around average to
# 2022/23, then falling two years running so they sit below England in 2024/25.
DECLINE_EFFECT = {"202122": 0.25, "202223": 0.25, "202324": -0.35, "202425": -0.95}
DECLINING_PER_LA = 2

KS2_YEARS = tuple(y for y in YEARS if y not in KS2_CANCELLED)
KS4_YEARS = YEARS
KS4_NO_PROGRESS8 = frozenset({"201920", "202021", "202425"})
KS4_NO_EM = frozenset({"201516"})  # 9-1 English and maths grades start in 2016/17
OFSTED_SNAPSHOTS = ("2022-08-31", "2023-08-31", "2024-08-31", "2025-08-31")
SINGLE_WORD_JUDGEMENTS_END = dt.date(2024, 9, 1)
# Routine inspections paused for COVID-19 from 17 March 2020 and restarted in September 2021.
COVID_PAUSE = (dt.date(2020, 3, 17), dt.date(2021, 9, 6))
ATTENDANCE_TERMS = (  # (academic year, term, sessions per full-term pupil)
    ("202324", "Autumn", 142),
    ("202324", "Spring", 116),
    ("202324", "Summer", 128),
    ("202425", "Autumn", 140),
    ("202425", "Spring", 120),
    ("202425", "Summer", 126),
    ("202526", "Autumn", 142),
)
ATTENDANCE_TITLE = "St Helens, Knowsley and Halton termly attendance (sample)"
# Fixed workbook and zip-entry times: the XLSX must be byte-identical on every regeneration.
FIXED_TIME = dt.datetime(2025, 11, 1, 9, 0, 0)
MISSING_VALUES = ["SUPP", "NE", "NP", "NA", "LOWCOV"]

_PLACES = {
    "342": [
        "Eccleston",
        "Rainford",
        "Haydock",
        "Newton-le-Willows",
        "Billinge",
        "Rainhill",
        "Thatto Heath",
        "Sutton",
        "Parr",
        "Bold",
        "Clock Face",
        "Moss Bank",
        "Windle",
        "Blackbrook",
        "Earlestown",
        "Garswood",
        "Carr Mill",
        "Toll Bar",
        "Broad Oak",
        "Peasley Cross",
        "Dentons Green",
        "Nutgrove",
        "Marshalls Cross",
        "Lea Green",
        "Chain Lane",
        "Grange Park",
        "Derbyshire Hill",
        "Wargrave",
        "Vulcan Village",
        "Crank",
        "Kings Moss",
        "Sutton Manor",
        "Laffak",
        "Four Acre",
        "Queens Park",
    ],
    "340": [
        "Huyton",
        "Kirkby",
        "Prescot",
        "Whiston",
        "Halewood",
        "Stockbridge Village",
        "Knowsley Village",
        "Roby",
        "Page Moss",
        "Northwood",
        "Tower Hill",
        "Westvale",
        "Cronton",
        "Swanside",
        "Longview",
        "Southdene",
        "Woolfall Heath",
        "Hope Farm",
        "Mosscroft",
        "Huyton Quarry",
        "Park Brow",
        "Court Hey",
        "Bowring Park",
        "Cherryfield",
        "Ravenscroft",
        "Kirkby Row",
        "Eastcroft",
        "Brookhouse",
        "Mill Lane",
        "Yew Tree",
        "Dovecot",
        "Pinehurst",
    ],
    "876": [
        "Widnes",
        "Runcorn",
        "Hale",
        "Ditton",
        "Hough Green",
        "Farnworth",
        "Halton Brook",
        "Murdishaw",
        "Palacefields",
        "Castlefields",
        "Windmill Hill",
        "Beechwood",
        "Weston",
        "Moore",
        "Daresbury",
        "Halton Lodge",
        "Upton",
        "Simms Cross",
        "West Bank",
        "Moorfield",
        "Brookvale",
        "Norton",
        "The Grange",
        "Hallwood Park",
        "Appleton",
        "Cronton Lane",
        "Hale Bank",
        "Birchfield",
        "Bankfield",
        "Astmoor",
        "Weston Point",
    ],
}
_SAINTS = [
    "Anne",
    "Mary",
    "Teresa",
    "Peter",
    "Paul",
    "Thomas",
    "John",
    "Austin",
    "Julie",
    "Bartholomew",
    "Aidan",
    "Joseph",
    "Margaret",
    "Luke",
    "Michael",
    "Bede",
    "Columba",
    "Edmund",
    "Gregory",
    "Anselm",
    "Clare",
    "Basil",
    "Gerard",
    "Oswald",
    "Wilfrid",
]
# (name pattern, Ofsted type of education, LAESTAB series); faith schools are VA/VC as usual.
_PRIMARY_KINDS = [
    ("{place} Primary School", "Community school", "2"),
    ("{place} Community Primary School", "Community school", "2"),
    ("{place} Primary Academy", "Academy converter", "2"),
    ("{place} Church of England Primary School", "Voluntary controlled school", "3"),
    ("St {saint}'s Catholic Primary School", "Voluntary aided school", "3"),
    ("St {saint}'s Catholic Primary School", "Academy converter", "3"),
    ("St {saint}'s Church of England Primary School", "Voluntary aided school", "3"),
    ("{place} Junior School", "Community school", "2"),
    ("{place} Primary School", "Academy sponsor led", "2"),
]
_PRIMARY_KIND_WEIGHTS = [26, 12, 14, 6, 14, 6, 5, 4, 6]
_SECONDARY_KINDS = [
    ("{place} Academy", "Academy converter", "4"),
    ("{place} High School", "Community school", "4"),
    ("{place} Church of England Academy", "Academy converter", "5"),
    ("St {saint}'s Catholic High School", "Voluntary aided school", "5"),
    ("{place} Academy", "Academy sponsor led", "4"),
]
_SECONDARY_KIND_WEIGHTS = [35, 20, 10, 20, 15]


@dataclass(frozen=True)
class School:
    urn: int
    la_code: str
    name: str
    phase: str  # "Primary" / "Secondary", as GIAS and Ofsted write it
    type_of_education: str
    laestab: str
    quality: float  # persistent logit-scale effect on results (and Ofsted grades)
    size: float  # relative cohort size within its phase and LA
    small: bool
    declining: bool

    @property
    def la_name(self) -> str:
        return la_by_old_code(self.la_code).name


# ---------------------------------------------------------------------------------------------
# The schools


def build_schools() -> list[School]:
    """Every sample school, ordered by LA (SAMPLE_LAS order), phase and URN."""
    urn_rng = _rng("local-urns")
    # Maintained schools carry old 10xxxx URNs and academies 13xxxx-15xxxx, as in GIAS.
    used: set[int] = set()

    def new_urn(academy: bool) -> int:
        while True:
            urn = urn_rng.randint(136000, 151999) if academy else urn_rng.randint(104200, 105999)
            if urn not in used:
                used.add(urn)
                return urn

    schools: list[School] = []
    for la_code, n_primary, n_secondary in SAMPLE_LAS:
        rng = _rng("local-schools", la_code)
        places = list(_PLACES[la_code])
        saints = list(_SAINTS)
        names: set[str] = set()
        estabs: set[str] = set()
        for phase, count, kinds, weights in (
            ("Primary", n_primary, _PRIMARY_KINDS, _PRIMARY_KIND_WEIGHTS),
            ("Secondary", n_secondary, _SECONDARY_KINDS, _SECONDARY_KIND_WEIGHTS),
        ):
            phase_schools = []
            for index in range(count):
                while True:
                    pattern, type_of_education, series = rng.choices(kinds, weights=weights)[0]
                    name = pattern.format(place=rng.choice(places), saint=rng.choice(saints))
                    if name not in names:
                        names.add(name)
                        break
                while True:
                    estab = series + f"{rng.randint(0, 999):03d}"
                    if estab not in estabs:
                        estabs.add(estab)
                        break
                small = phase == "Primary" and index < SMALL_PRIMARIES
                if phase == "Primary":
                    # forms of entry: half-form village schools to three-form town schools
                    size = rng.choices((0.5, 1.0, 1.5, 2.0, 3.0), weights=(8, 40, 20, 25, 7))[0]
                else:
                    size = rng.uniform(0.6, 1.5)
                phase_schools.append(
                    dict(
                        urn=new_urn(type_of_education.startswith("Academy")),
                        la_code=la_code,
                        name=name,
                        phase=phase,
                        type_of_education=type_of_education,
                        laestab=la_code + estab,
                        quality=round(rng.gauss(0.0, 0.5), 6),
                        size=round(size * math.exp(rng.gauss(0.0, 0.1)), 6),
                        small=small,
                        declining=False,
                    )
                )
            if phase == "Primary":
                # Two schools a little below the middle of the LA start declining in 2023/24.
                ranked = sorted((s for s in phase_schools if not s["small"]), key=lambda s: (s["quality"], s["urn"]))
                middle = len(ranked) // 2
                for s in rng.sample(ranked[middle - 8 : middle], DECLINING_PER_LA):
                    s["declining"] = True
            schools += [School(**s) for s in sorted(phase_schools, key=lambda s: s["urn"])]
    return schools


# ---------------------------------------------------------------------------------------------
# Splitting LA totals across schools


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of a non-negative integer total in proportion to weights."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _allocate(rng, total: int, caps: list[int], logits: list[float], pinned: dict[int, int] | None = None) -> list[int]:
    """Integer counts 0 <= k_i <= caps[i] summing exactly to total, each school drawing from its
    own propensity (a common logit offset solved so the expected sum is the total), then the
    shortfall or excess moved a pupil at a time. `pinned` fixes some schools' counts."""
    pinned = pinned or {}
    result = [pinned.get(i, 0) for i in range(len(caps))]
    free = [i for i in range(len(caps)) if i not in pinned]
    remaining = total - sum(pinned.values())
    capacity = sum(caps[i] for i in free)
    if not 0 <= remaining <= capacity:
        raise ValueError(f"cannot allocate {remaining} within capacity {capacity}")
    if capacity == 0:
        return result
    offset = _solve_logit_offset([(caps[i], logits[i]) for i in free], remaining / capacity)
    for i in free:
        result[i] = _binomial(rng, caps[i], _sigmoid(offset + logits[i]))
    diff = remaining - sum(result[i] for i in free)
    step = 1 if diff > 0 else -1
    while diff:
        room = [i for i in free if (result[i] < caps[i] if step > 0 else result[i] > 0)]
        chosen = rng.choices(room, weights=[caps[i] for i in room])[0]
        result[chosen] += step
        diff -= step
    return result


def _cohorts(schools: list[School], total: int, phase_key: str, year: str) -> list[int]:
    """School cohorts summing to the LA total; small schools get their own 4-14 draws."""
    la_code = schools[0].la_code
    small = [i for i, s in enumerate(schools) if s.small]
    cohorts = [0] * len(schools)
    override = SMALL_COHORT_OVERRIDES.get((la_code, year)) if phase_key == "ks2" else None
    for rank, i in enumerate(small):
        cohorts[i] = override[rank] if override else _rng("local-small", schools[i].urn, year).randint(4, 14)
    normal = [i for i in range(len(schools)) if i not in small]
    weights = [
        schools[i].size * math.exp(_rng("local-cohort", phase_key, schools[i].urn, year).gauss(0.0, 0.08))
        for i in normal
    ]
    for i, n in zip(normal, _split(total - sum(cohorts), weights)):
        cohorts[i] = n
    if any(cohorts[i] < 11 for i in normal):
        raise ValueError(f"{la_code} {year}: an ordinary school's cohort fell below 11")
    return cohorts


def _school_effect(school: School, year: str) -> float:
    effect = school.quality + _rng("local-year", school.urn, year).gauss(0.0, 0.18)
    if school.declining:
        effect += DECLINE_EFFECT.get(year, 0.25)
    return effect


def split_ks2(schools: list[School], la_vector: tuple[int, ...], year: str) -> list[tuple[int, ...]]:
    """Per school (n, rwm, rwm higher, reading, maths) summing to the LA headline vector
    (n, rwm, higher, read, writ, mat, gps), with higher <= rwm <= reading and maths per school."""
    n_total, rwm, high, read, _writ, mat, _gps = la_vector
    la_code = schools[0].la_code
    rng = _rng("local-ks2", la_code, year)
    n = _cohorts(schools, n_total, "ks2", year)
    effects = [_school_effect(s, year) for s in schools]

    def logits(loading: float, measure: str) -> list[float]:
        return [
            loading * e + _rng("local-ks2-x", s.urn, year, measure).gauss(0.0, 0.08) for s, e in zip(schools, effects)
        ]

    pinned = {}
    mode = ALL_OR_NOTHING.get((la_code, year))
    if mode:
        for i in [i for i, s in enumerate(schools) if s.small][:2]:
            pinned[i] = n[i] if mode == "all" else 0
    rwm_s = _allocate(rng, rwm, n, logits(1.0, "rwm"), pinned)
    high_s = _allocate(rng, high, rwm_s, logits(1.3, "high"))
    rest = [a - b for a, b in zip(n, rwm_s)]  # pupils short of RWM may still meet one subject
    read_s = [a + b for a, b in zip(rwm_s, _allocate(rng, read - rwm, rest, logits(0.9, "read")))]
    mat_s = [a + b for a, b in zip(rwm_s, _allocate(rng, mat - rwm, rest, logits(0.9, "mat")))]
    return list(zip(n, rwm_s, high_s, read_s, mat_s))


def _spread_points(total: int, cohorts: list[int], means: list[float]) -> list[int]:
    """Point totals (hundredths) near cohort x mean, the remainder spread by cohort so they sum
    exactly to the LA total."""
    points = [round(n * m * 100) for n, m in zip(cohorts, means)]
    residual = total - sum(points)
    share = _split(abs(residual), [float(n) for n in cohorts])
    sign = 1 if residual >= 0 else -1
    return [p + sign * s for p, s in zip(points, share)]


def split_ks4(schools: list[School], la_vector: tuple[int, ...], year: str) -> list[tuple[int, ...]]:
    """Per school (n, att8 hundredths, p8 hundredths, em95, em94) summing to the LA vector."""
    n_total, att8, p8, em95, em94, _ebacc, _aps = la_vector
    rng = _rng("local-ks4", schools[0].la_code, year)
    n = _cohorts(schools, n_total, "ks4", year)
    effects = [_school_effect(s, year) for s in schools]
    att8_mean = att8 / 100 / n_total
    p8_mean = p8 / 100 / n_total
    att8_s = _spread_points(att8, n, [min(80.0, max(15.0, att8_mean + 7.0 * e)) for e in effects])
    p8_s = _spread_points(
        p8, n, [p8_mean + 0.4 * e + _rng("local-p8", s.urn, year).gauss(0.0, 0.05) for s, e in zip(schools, effects)]
    )
    x95 = [0.9 * e + _rng("local-ks4-x", s.urn, year, "em95").gauss(0.0, 0.08) for s, e in zip(schools, effects)]
    x94 = [0.9 * e + _rng("local-ks4-x", s.urn, year, "em94").gauss(0.0, 0.08) for s, e in zip(schools, effects)]
    em95_s = _allocate(rng, em95, n, x95)
    extra = _allocate(rng, em94 - em95, [a - b for a, b in zip(n, em95_s)], x94)
    return [(a, b, c, d, d + e) for a, b, c, d, e in zip(n, att8_s, p8_s, em95_s, extra)]


# ---------------------------------------------------------------------------------------------
# Files


def _period(year: str) -> str:
    return f"{year[:4]}/{year[4:]}"


def _pct(count: int, cohort: int) -> str:
    return _fmt_ratio(100 * count, cohort, 0) + "%"


def _by_la(schools: list[School], phase: str) -> dict[str, list[School]]:
    return {code: [s for s in schools if s.la_code == code and s.phase == phase] for code, _, _ in SAMPLE_LAS}


def _register_rows(schools: list[School]) -> list[list[str]]:
    return [[str(s.urn), s.la_code, s.la_name, s.name, s.phase, "Open"] for s in schools]


def _results_rows(
    schools: list[School], la_cells: dict, years, phase: str, split, values
) -> tuple[list[list[str]], dict]:
    """A results file: each LA's published totals split across its schools of `phase`, one row
    per school and year; `values(year, *split_row)` writes the measure cells after the cohort."""
    rows, cohorts = [], {}
    for year in years:
        for la_code, group in _by_la(schools, phase).items():
            vector = _sum_vectors(la_cells[year][la_code].values())
            for school, split_row in zip(group, split(group, vector, year)):
                n = split_row[0]
                cohorts[(school.urn, year)] = n
                rows.append([str(school.urn), la_code, school.name, _period(year), str(n), *values(year, *split_row)])
    return rows, cohorts


def _ks2_values(year: str, n: int, rwm: int, high: int, read: int, mat: int) -> list[str]:
    return [_pct(rwm, n), _pct(high, n), _pct(read, n), _pct(mat, n)]


def _ks4_values(year: str, n: int, att8: int, p8: int, em95: int, em94: int) -> list[str]:
    no_em = year in KS4_NO_EM
    return [
        _fmt_ratio(att8, 100 * n, 1),
        "NP" if year in KS4_NO_PROGRESS8 else _fmt_ratio(p8, 100 * n, 2),
        "NP" if no_em else _pct(em95, n),
        "NP" if no_em else _pct(em94, n),
    ]


def _ks2_rows(schools: list[School], ks2_cells: dict) -> tuple[list[list[str]], dict]:
    return _results_rows(schools, ks2_cells, KS2_YEARS, "Primary", split_ks2, _ks2_values)


def _ks4_rows(schools: list[School], ks4_cells: dict) -> tuple[list[list[str]], dict]:
    return _results_rows(schools, ks4_cells, KS4_YEARS, "Secondary", split_ks4, _ks4_values)


def _inspections(school: School) -> list[tuple[dt.date, dt.date, int]]:
    """(start, publication, grade 1-4) from before the first snapshot to after the last; the gap
    after each follows the grade, as Ofsted's risk-based cycle does."""
    rng = _rng("local-ofsted", school.urn)
    date = dt.date(2011, 9, 1) + dt.timedelta(days=rng.randint(0, 4 * 365))
    history = []
    while date <= dt.date(2025, 8, 31):
        if COVID_PAUSE[0] <= date < COVID_PAUSE[1]:
            date = COVID_PAUSE[1] + dt.timedelta(days=rng.randint(0, 540))
            continue
        while date.weekday() > 3 or date.month == 8:  # visits start Monday to Thursday, in term
            date += dt.timedelta(days=1)
        year = f"{date.year - (date.month < 9)}{(date.year + (date.month >= 9)) % 100:02d}"
        score = school.quality + (DECLINE_EFFECT.get(year, 0.25) if school.declining else 0.0) + rng.gauss(0.0, 0.35)
        grade = 1 if score > 0.75 else 2 if score > -0.45 else 3 if score > -1.1 else 4
        history.append((date, date + dt.timedelta(days=rng.randint(18, 40)), grade))
        gap_years = {
            1: rng.uniform(5.5, 9.0),
            2: rng.uniform(3.3, 4.6),
            3: rng.uniform(1.8, 2.6),
            4: rng.uniform(1.0, 1.6),
        }[grade]
        date += dt.timedelta(days=round(gap_years * 365))
    return history


def _roll(school: School, year: str, ks2_cohorts: dict, ks4_cohorts: dict) -> float:
    """Pupils on roll: the mean results cohort of the last three published years up to `year`
    times the year groups (7 in a primary, 5 to Year 11), so a roll moves slowly."""
    if school.phase == "Primary":
        cohorts, years, groups = ks2_cohorts, KS2_YEARS, 7
    else:
        cohorts, years, groups = ks4_cohorts, KS4_YEARS, 5
    recent = [cohorts[(school.urn, y)] for y in years if y <= year][-3:]
    return groups * sum(recent) / len(recent)


def _ofsted_row(school: School, as_at: str, roll: float) -> list[str]:
    """One school's line in the snapshot as at `as_at`: its latest published inspection then."""
    cutoff = dt.date.fromisoformat(as_at)
    start, publication, grade = [h for h in _inspections(school) if h[1] <= cutoff][-1]
    la = la_by_old_code(school.la_code)
    return [
        str(school.urn),
        school.laestab,
        school.name,
        school.phase,
        school.type_of_education,
        la.name,
        la.region.name,
        str(round(roll)),
        start.isoformat(),
        publication.isoformat(),
        "Not judged" if start >= SINGLE_WORD_JUDGEMENTS_END else str(grade),
    ]


def _ofsted_rows(schools: list[School], as_at: str, ks2_cohorts: dict, ks4_cohorts: dict) -> list[list[str]]:
    cutoff = dt.date.fromisoformat(as_at)
    year = f"{cutoff.year - 1}{cutoff.year % 100:02d}"  # the academic year ending on the as-at date
    return [
        _ofsted_row(
            school,
            as_at,
            _roll(school, year, ks2_cohorts, ks4_cohorts) * _rng("local-roll", school.urn, year).uniform(0.97, 1.03),
        )
        for school in schools
    ]


# Schools per phase in each LA outside SAMPLE_LAS, about a quarter of England's real counts (the
# snapshots stay small): (phase, Ofsted type of education, LAESTAB series, fewest, most, pupils on roll).
ENGLAND_SCHOOLS = (
    ("Primary", "Community school", "2", 4, 40, (90, 630)),
    ("Secondary", "Academy converter", "4", 1, 9, (500, 1700)),
    ("Special", "Community special school", "7", 1, 3, (40, 260)),
)
ENGLAND_URN_START = 152000  # after the sample LAs' ranges (104200-105999, 136000-151999)


def build_england_schools() -> list[School]:
    """The Ofsted-only schools: every phase in the LAs outside SAMPLE_LAS, each LA's from its own
    stream, and special schools in the sample LAs (whose register holds mainstream schools only).
    An LA's overall quality shifts all its schools, so LAs differ as they do in Ofsted's data."""
    sample_codes = {code for code, _, _ in SAMPLE_LAS}
    schools: list[School] = []
    for la in LOCAL_AUTHORITIES:
        rng = _rng("local-ofsted-england", la.old_code)
        la_effect = rng.gauss(0.35, 0.3)
        for phase, type_of_education, series, fewest, most, roll in ENGLAND_SCHOOLS:
            if la.old_code in sample_codes and phase != "Special":
                continue
            count = 1 if la.old_code in TINY_LA_CODES else rng.randint(fewest, most)
            for index in range(count):
                schools.append(
                    School(
                        urn=ENGLAND_URN_START + len(schools),
                        la_code=la.old_code,
                        name=f"{la.name} {phase} School {index + 1}",
                        phase=phase,
                        type_of_education=type_of_education,
                        laestab=f"{la.old_code}{series}{index:03d}",
                        quality=round(la_effect + rng.gauss(0.0, 0.5), 6),
                        size=float(rng.randint(*roll)),  # pupils on roll
                        small=False,
                        declining=False,
                    )
                )
    return schools


def _england_rows(schools: list[School], as_at: str) -> list[list[str]]:
    """The snapshot rows of the Ofsted-only schools: rolls drift a little from year to year."""
    return [
        _ofsted_row(school, as_at, school.size * _rng("local-roll", school.urn, as_at).uniform(0.95, 1.05))
        for school in schools
    ]


def _attendance_rows(schools: list[School], ks2_cohorts: dict, ks4_cohorts: dict) -> list[list]:
    rows = []
    for year, term, sessions in ATTENDANCE_TERMS:
        cohort_year = min(year, "202425")  # 2025/26 rolls follow the latest results year
        for la_code, _, _ in SAMPLE_LAS:
            for school in [s for s in schools if s.la_code == la_code]:
                rng = _rng("local-attendance", school.urn, year, term)
                primary = school.phase == "Primary"
                base = _roll(school, cohort_year, ks2_cohorts, ks4_cohorts)
                if primary:
                    rate = {"Autumn": 5.4, "Spring": 5.6, "Summer": 5.5}[term]
                else:
                    rate = {"Autumn": 8.6, "Spring": 9.0, "Summer": 9.8}[term]
                # Absence fell a little each year after 2022/23; these LAs sit above England.
                rate += 0.6 - 0.3 * (int(year[:4]) - 2023) - 1.1 * school.quality + rng.gauss(0.0, 0.5)
                rate = min(25.0, max(2.0, rate))
                enrolments = round(base * rng.uniform(0.97, 1.03))
                # joiners and leavers during the term are possible for part of it only
                possible = round(enrolments * sessions * rng.uniform(0.965, 0.99))
                absence = round(possible * rate / 100)
                persistent = _binomial(rng, enrolments, min(0.9, max(0.01, (2.6 * rate - 1.5) / 100)))
                rows.append([school.urn, school.name, _period(year), term, enrolments, possible, absence, persistent])
    return rows


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times and attributes, entries in their original order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever the host: part of the bytes
            target.writestr(info, source.read(item.filename))
    return out.getvalue()


def _xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    # ExcelWriter, unlike openpyxl.save_workbook, does not stamp "modified" with the clock.
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Attendance"
    sheet.append([ATTENDANCE_TITLE])
    sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.properties.creator = "edu-sample generator"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    return _deterministic_zip(buffer.getvalue())


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


SCHEMAS = {
    "schools.schema.yml": """\
kind: school_register
description: School register for the sample LAs (a council's extract of Get Information About Schools)
columns:
  urn: URN
  la_code: LA (code)
  school_name: EstablishmentName
  phase: PhaseOfEducation (name)
  status: EstablishmentStatus (name)
""",
    "school_ks2.schema.yml": f"""\
kind: school_measures
description: KS2 results by school (the council's copy of the performance tables, unsuppressed)
phase: primary
missing_values: {_yaml_list(MISSING_VALUES)}
columns:
  urn: URN
  la_code: LEA
  school_name: SCHNAME
  period: TIME_PERIOD
measures:
  - code: ks2_rwm_expected
    value_column: PTRWM_EXP
    cohort_column: TELIG
    unit: percent
    headline: true
  - code: ks2_rwm_higher
    value_column: PTRWM_HIGH
    cohort_column: TELIG
    unit: percent
  - code: ks2_reading_expected
    value_column: PTREAD_EXP
    cohort_column: TELIG
    unit: percent
  - code: ks2_maths_expected
    value_column: PTMAT_EXP
    cohort_column: TELIG
    unit: percent
""",
    "school_ks4.schema.yml": f"""\
kind: school_measures
description: KS4 results by school (the council's copy of the performance tables; Progress 8 NP where DfE did not publish it)
phase: secondary
missing_values: {_yaml_list(MISSING_VALUES)}
columns:
  urn: URN
  la_code: LEA
  school_name: SCHNAME
  period: TIME_PERIOD
measures:
  - code: ks4_attainment8
    value_column: ATT8SCR
    cohort_column: TPUP
    unit: average
    min: 0
    max: 90
    headline: true
  - code: ks4_progress8
    value_column: P8MEA
    cohort_column: TPUP
    unit: average
  - code: ks4_em_95
    value_column: PTL2BASICS_95
    cohort_column: TPUP
    unit: percent
  - code: ks4_em_94
    value_column: PTL2BASICS_94
    cohort_column: TPUP
    unit: percent
""",
    "ofsted_inspections.schema.yml": """\
kind: inspection_outcomes
description: Ofsted state-funded schools inspections and outcomes (management information), one snapshot per "as at" date
columns:
  urn: URN
  school_name: School name
  la_name: Local authority
  phase: Ofsted phase
  pupils: Total number of pupils
  inspection_date: Inspection start date
  overall_effectiveness: Overall effectiveness
not_judged_values: [Not judged, NULL, "9", ""]
""",
    "termly_attendance.schema.yml": f"""\
kind: school_measures
description: Termly school attendance from the council's attendance returns
sheet: Attendance
header_row: 3
missing_values: {_yaml_list(MISSING_VALUES)}
columns:
  urn: URN
  school_name: School name
  period: Academic year
  term: Term
measures:
  - code: attendance_overall_absence_termly
    label: Overall absence rate (% of sessions), termly
    numerator_column: Overall absence sessions
    denominator_column: Sessions possible
    cohort_column: Enrolments
    unit: percent
    polarity: low
    decimal_places: 1
  - code: attendance_persistent_absence_termly
    label: Persistent absence rate (% of pupils missing 10% or more of sessions), termly
    numerator_column: Persistent absentees
    denominator_column: Enrolments
    cohort_column: Enrolments
    unit: percent
    polarity: low
    decimal_places: 1
""",
}

REGISTER_HEADER = [
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentName",
    "PhaseOfEducation (name)",
    "EstablishmentStatus (name)",
]
KS2_HEADER = ["URN", "LEA", "SCHNAME", "TIME_PERIOD", "TELIG", "PTRWM_EXP", "PTRWM_HIGH", "PTREAD_EXP", "PTMAT_EXP"]
KS4_HEADER = ["URN", "LEA", "SCHNAME", "TIME_PERIOD", "TPUP", "ATT8SCR", "P8MEA", "PTL2BASICS_95", "PTL2BASICS_94"]
OFSTED_HEADER = [
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
ATTENDANCE_HEADER = [
    "URN",
    "School name",
    "Academic year",
    "Term",
    "Enrolments",
    "Sessions possible",
    "Overall absence sessions",
    "Persistent absentees",
]


def ofsted_file_name(as_at: str) -> str:
    return f"ofsted_inspections_{as_at.replace('-', '_')}.csv"


def generate_local(out_dir: Path, ks2_cells: dict, ks4_cells: dict) -> list[Path]:
    """Write raw/sample/local/ from the KS2/KS4 cells `generator` simulated (year -> LA -> cells)."""
    local = Path(out_dir) / LOCAL_DIR
    schools = build_schools()
    ks2_rows, ks2_cohorts = _ks2_rows(schools, ks2_cells)
    ks4_rows, ks4_cohorts = _ks4_rows(schools, ks4_cells)
    written = [
        _write_atomic(local / "schools.csv", _csv_bytes(REGISTER_HEADER, _register_rows(schools))),
        _write_atomic(local / "school_ks2.csv", _csv_bytes(KS2_HEADER, ks2_rows)),
        _write_atomic(local / "school_ks4.csv", _csv_bytes(KS4_HEADER, ks4_rows)),
    ]
    england = build_england_schools()
    for as_at in OFSTED_SNAPSHOTS:
        rows = []
        for la_code, _, _ in SAMPLE_LAS:
            rows += _ofsted_rows([s for s in schools if s.la_code == la_code], as_at, ks2_cohorts, ks4_cohorts)
        rows += _england_rows(england, as_at)
        written.append(_write_atomic(local / ofsted_file_name(as_at), _csv_bytes(OFSTED_HEADER, rows)))
    written.append(
        _write_atomic(
            local / "termly_attendance.xlsx",
            _xlsx_bytes(ATTENDANCE_HEADER, _attendance_rows(schools, ks2_cohorts, ks4_cohorts)),
        )
    )
    for name, text in SCHEMAS.items():
        written.append(_write_atomic(local / name, text.encode("utf-8")))
    return written
