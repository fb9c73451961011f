"""The school-level parts of a briefing: Ofsted outcomes, headline results by school, schools
causing concern (from the council's own files, after disclosure control) and the KS2-to-KS4
cohort transition (DfE's LA figures).

They read four marts that older publications do not have: ``mart_inspection_outcomes``,
``mart_school_outcomes``, ``mart_schools_causing_concern`` and ``mart_cohort_transition``. A
missing table, or an LA with no rows in it, leaves its subsection out (no empty headings).

Numbers from the school marts are :class:`SchoolNum` parts, tagged in the HTML with the mart,
the row key and the field (``span.school-num``), so :func:`expected_school_number` can read each
one back from the publication. They are deliberately not ``span.num``: those are read back
against ``fct_la_measure``, which has no school rows. The cohort-transition numbers are
``fct_la_measure`` values (the mart copies them), so they stay ordinary :class:`Num` parts and
the existing read-back checks them against ``fct_la_measure`` itself.

Disclosure: a withheld school value is NULL in the mart and is only ever shown as words
("withheld (small cohort)"); nothing computed from it (change, difference from England, flags)
is shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from orchestration.lib.outputs.briefing.sentences import (
    PUBLISHED,
    Note,
    Num,
    Sentence,
    academic_year_label,
    format_number,
    get,
    ordinal,
    period_label,
    release_flag,
    short_name,
)

OUTCOMES = "mart_school_outcomes"
INSPECTIONS = "mart_inspection_outcomes"
CONCERN = "mart_schools_causing_concern"
COHORTS = "mart_cohort_transition"
# Per-LA counts over mart_school_outcomes rows (how many schools published, withheld, below England).
OUTCOMES_LA = "mart_school_outcomes:la"

# Annual results only: a termly local measure (attendance) has no England comparator and is not
# a "result"; the headline results table is about KS2 and KS4.
ANNUAL = ("Academic year", "Calendar year")

WITHHELD_TEXT = {
    "suppressed_small_cohort": "withheld (small cohort)",
    "suppressed_secondary": "withheld (protects a small cohort)",
    "suppressed_at_source": "withheld at source",
    "not_available": "not available",
}
ALL_SCHOOLS = "All schools"
# How many cohorts the transition paragraph follows, newest first.
RECENT_COHORTS = 3
# Snapshots shown in the inspection table: the latest and up to three before it.
INSPECTION_SNAPSHOTS = 4


@dataclass(frozen=True)
class SchoolNum:
    """A number from a school mart as shown: ``table`` and ``key`` find the row (or the LA's
    rows, for counts), ``field`` says what was formatted."""

    text: str
    table: str
    key: str
    field: str


def key_of(*parts: Any) -> str:
    return "|".join("" if p is None else str(p) for p in parts)


def date_label(value: Any) -> str:
    """31 August 2025 (Ofsted's "as at" dates are written in full)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {value:%B %Y}"


def iso(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def withheld_text(status: str | None) -> str:
    return WITHHELD_TEXT.get(status or "", "not available")


def is_withheld(status: str | None) -> bool:
    return (status or "").startswith("suppressed")


# --- loading ------------------------------------------------------------------------------------


@dataclass
class SchoolData:
    """The school marts of one publication, by LA; each attribute is empty when its table is missing."""

    outcomes: dict[str, list[dict]] = field(default_factory=dict)  # old_la_code -> headline annual rows
    outcome_rows: dict[str, dict] = field(default_factory=dict)  # key_of(urn, measure, period, term) -> row
    inspections: dict[str, list[dict]] = field(default_factory=dict)  # old_la_code -> rows
    concern: dict[str, list[dict]] = field(default_factory=dict)  # old_la_code -> rows
    cohorts: dict[str, list[dict]] = field(default_factory=dict)  # old_la_code -> rows
    tables: set[str] = field(default_factory=set)  # which marts the publication has


def load_school_data(con, rows: Callable, has_table: Callable) -> SchoolData:
    """Read the school marts that exist (``rows``/``has_table`` are render's helpers)."""
    data = SchoolData()
    if has_table(con, "marts", OUTCOMES):
        data.tables.add(OUTCOMES)
        for r in rows(
            con, f"SELECT * FROM marts.{OUTCOMES} WHERE is_headline AND time_identifier IN (?, ?)", list(ANNUAL)
        ):
            data.outcomes.setdefault(r["old_la_code"], []).append(r)
            data.outcome_rows[key_of(r["urn"], r["measure_code"], r["time_period"], r["time_identifier"])] = r
    if has_table(con, "marts", INSPECTIONS):
        data.tables.add(INSPECTIONS)
        for r in rows(con, f"SELECT * FROM marts.{INSPECTIONS}"):
            data.inspections.setdefault(r["old_la_code"], []).append(r)
    if has_table(con, "marts", CONCERN):
        data.tables.add(CONCERN)
        for r in rows(con, f"SELECT * FROM marts.{CONCERN}"):
            data.concern.setdefault(r["old_la_code"], []).append(r)
    if has_table(con, "marts", COHORTS):
        data.tables.add(COHORTS)
        for r in rows(con, f"SELECT * FROM marts.{COHORTS}"):
            data.cohorts.setdefault(r["old_la_code"], []).append(r)
    return data


# --- formatting from the marts (shared by the renderer and the read-back) ------------------------


def _dp(row: dict) -> int:
    return int(get(row, "decimal_places") or 0)


def _pct(value: float) -> str:
    return format_number(value, 1, "%")  # the inspection mart rounds its percentages to 1 dp


def _la_group(data: SchoolData, old_la_code: str, measure: str, period: int, term: str) -> list[dict]:
    return [
        r
        for r in data.outcomes.get(old_la_code, [])
        if r["measure_code"] == measure and r["time_period"] == period and r["time_identifier"] == term
    ]


def outcome_text(row: dict, field_name: str, phase: str | None = None) -> str | None:
    """How a ``mart_school_outcomes`` field reads in a briefing; None where nothing may be shown."""
    value = get(row, field_name)
    if value is None:
        return None
    if field_name in ("value", "previous_value", "england_value", "la_value"):
        return format_number(value, _dp(row), get(row, "unit"))
    if field_name in ("change", "diff_from_england"):
        return format_number(value, _dp(row), get(row, "unit"), signed=True)
    if field_name in ("time_period", "previous_time_period"):
        return period_label(value, phase)
    return None


def la_count(rows: list[dict], field_name: str) -> int | None:
    """The LA-level counts the results paragraph states, from the school rows of one period."""
    if field_name == "schools":
        return sum(1 for r in rows if r["value_status"] != "not_available")
    if field_name == "schools_published":
        return sum(1 for r in rows if r["value_status"] == PUBLISHED and r["value"] is not None)
    if field_name == "schools_withheld":
        return sum(1 for r in rows if is_withheld(r["value_status"]))
    if field_name == "schools_below_national":
        return sum(1 for r in rows if r["value_status"] == PUBLISHED and get(r, "below_national") is True)
    if field_name == "schools_declining":
        return sum(1 for r in rows if r["value_status"] == PUBLISHED and get(r, "declining_two_years") is True)
    return None


def inspection_text(row: dict, field_name: str) -> str | None:
    value = get(row, field_name)
    if value is None:
        return None
    if field_name.startswith("pct_"):
        return _pct(value)
    if field_name == "as_at":
        return date_label(value)
    if field_name in ("schools", "schools_with_judgement", "schools_without_single_word_judgement"):
        return str(int(value))
    return None


def expected_school_number(
    data: SchoolData,
    table: str,
    key: str,
    field_name: str,
    phases: dict[str, str | None] | None = None,
    old_la_code: str | None = None,
) -> str | None:
    """How a tagged school number must read, from the publication's own rows (None: unknown).
    With ``old_la_code``, a school row or LA count of another LA reads as unknown too."""
    phases = phases or {}
    if old_la_code is not None and table in (OUTCOMES_LA, INSPECTIONS, CONCERN) and key.split("|")[0] != old_la_code:
        return None
    if table == OUTCOMES:
        row = data.outcome_rows.get(key)
        if row is None or (old_la_code is not None and row["old_la_code"] != old_la_code):
            return None
        if row["value_status"] != PUBLISHED and field_name != "time_period":
            return None  # nothing is ever shown from a withheld row
        return outcome_text(row, field_name, phases.get(row["measure_code"]))
    if table == OUTCOMES_LA:
        old_la_code, measure, period, term = key.split("|")
        rows = _la_group(data, old_la_code, measure, int(period), term)
        if not rows:
            return None
        if field_name in ("england_value", "la_value"):
            values = {get(r, field_name) for r in rows} - {None}
            return format_number(values.pop(), _dp(rows[0]), get(rows[0], "unit")) if len(values) == 1 else None
        count = la_count(rows, field_name)
        return None if count is None else str(count)
    if table == INSPECTIONS:
        old_la_code, phase, as_at = key.split("|")
        for row in data.inspections.get(old_la_code, []):
            if row["phase"] == phase and iso(row["as_at"]) == as_at:
                return inspection_text(row, field_name)
        return None
    if table == CONCERN:
        if field_name == "schools":
            return str(len({r["urn"] for r in data.concern.get(key, [])}))
        return None
    return None


# --- building the sections ------------------------------------------------------------------------


def _outcome_num(row: dict, field_name: str, phase: str | None) -> SchoolNum:
    key = key_of(row["urn"], row["measure_code"], row["time_period"], row["time_identifier"])
    return SchoolNum(outcome_text(row, field_name, phase), OUTCOMES, key, field_name)


def _count_num(rows: list[dict], la: str, field_name: str) -> SchoolNum:
    r = rows[0]
    key = key_of(la, r["measure_code"], r["time_period"], r["time_identifier"])
    return SchoolNum(str(la_count(rows, field_name)), OUTCOMES_LA, key, field_name)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def inspection_subsection(data: SchoolData, la: dict, la_name: str) -> dict | None:
    """Good or outstanding schools (and pupils) by phase: the latest snapshot against earlier ones."""
    rows = data.inspections.get(la["old_la_code"], [])
    if not rows:
        return None
    snapshots = sorted({r["as_at"] for r in rows}, reverse=True)[:INSPECTION_SNAPSHOTS]
    latest = snapshots[0]
    code = la["old_la_code"]

    def num(row: dict, field_name: str) -> SchoolNum:
        return SchoolNum(
            inspection_text(row, field_name), INSPECTIONS, key_of(code, row["phase"], iso(row["as_at"])), field_name
        )

    by_phase: dict[str, dict] = defaultdict(dict)
    for r in rows:
        by_phase[r["phase"]][r["as_at"]] = r
    phases = sorted(by_phase, key=lambda p: (p != ALL_SCHOOLS, p == "Not recorded", p))
    overall = by_phase.get(ALL_SCHOOLS, {})
    sentences: list[Sentence] = []
    now = overall.get(latest)
    if now is not None:
        before = next((overall[s] for s in snapshots[1:] if s in overall), None)
        if get(now, "pct_schools_good_or_outstanding") is None:
            parts: list = [
                "At ",
                num(now, "as_at"),
                ", none of the ",
                num(now, "schools"),
                f" schools in {la_name} in Ofsted's data had a single-word judgement.",
            ]
            sentences.append(Sentence(parts))
        else:
            parts = [
                "At ",
                num(now, "as_at"),
                ", ",
                num(now, "pct_schools_good_or_outstanding"),
                f" of the schools in {la_name} with a single-word Ofsted judgement were good or outstanding",
            ]
            if before is not None and get(before, "pct_schools_good_or_outstanding") is not None:
                parts += [" (", num(before, "pct_schools_good_or_outstanding"), " at ", num(before, "as_at"), ")"]
            if get(now, "pct_pupils_good_or_outstanding") is not None:
                parts += [
                    ", and ",
                    num(now, "pct_pupils_good_or_outstanding"),
                    " of their pupils attended a good or outstanding school",
                ]
                if before is not None and get(before, "pct_pupils_good_or_outstanding") is not None:
                    parts += [" (", num(before, "pct_pupils_good_or_outstanding"), ")"]
            parts.append(".")
            sentences.append(Sentence(parts))
        without = int(get(now, "schools_without_single_word_judgement") or 0)
        note: list = [
            "Ofsted stopped giving single-word overall effectiveness judgements in September 2024; "
            "schools inspected since then receive report cards instead"
        ]
        if without:
            note += [
                ", so ",
                num(now, "schools_without_single_word_judgement"),
                " of the ",
                num(now, "schools"),
                f" {_plural(int(now['schools']), 'school', 'schools')} had no single-word judgement at ",
                num(now, "as_at"),
                " and the percentages are of the schools and pupils with one",
            ]
        note.append(".")
        sentences.append(Sentence(note, "status"))
    table = []
    for phase in phases:
        for snapshot in snapshots:
            r = by_phase[phase].get(snapshot)
            if r is None:
                continue
            table.append(
                {
                    "phase": phase,
                    "as_at": num(r, "as_at"),
                    "schools": num(r, "schools"),
                    "pct_schools": num(r, "pct_schools_good_or_outstanding")
                    if get(r, "pct_schools_good_or_outstanding") is not None
                    else None,
                    "pct_pupils": num(r, "pct_pupils_good_or_outstanding")
                    if get(r, "pct_pupils_good_or_outstanding") is not None
                    else None,
                    "without": num(r, "schools_without_single_word_judgement"),
                    "latest": snapshot == latest,
                }
            )
    return {
        "id": "inspections",
        "title": "Ofsted inspection outcomes",
        "sentences": sentences,
        "table": table,
        "as_at": date_label(latest),
    }


def results_subsections(
    data: SchoolData, la: dict, la_name: str, measures: dict, fct_rows: dict, sort_key: Callable[[str], Any]
) -> list[dict]:
    """One table per headline measure, for the LA's latest period with figures."""
    code = la["old_la_code"]
    rows = data.outcomes.get(code, [])
    by_measure: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_measure[r["measure_code"]].append(r)
    out = []
    for measure in sorted(by_measure, key=sort_key):
        measure_rows = by_measure[measure]
        periods = [r["time_period"] for r in measure_rows if r["value_status"] != "not_available"]
        if not periods:
            continue
        period = max(periods)
        current = [r for r in measure_rows if r["time_period"] == period]
        # Annual rows only, so one period has one time_identifier unless a file says "Calendar year".
        term = current[0]["time_identifier"]
        current = [r for r in current if r["time_identifier"] == term]
        catalogue = measures.get((measure, "all")) or {}
        phase = catalogue.get("phase")
        label = short_name(catalogue.get("measure_name") or current[0]["measure_label"], measure)
        polarity = current[0]["polarity"] or "high"
        year = period_label(period, phase)
        fct = fct_rows.get((measure, "all", period))

        published_count, total = la_count(current, "schools_published"), la_count(current, "schools")
        if total == 1:
            lead: list = [
                f"In {year}, the one school in {la_name} with results had "
                f"{'a' if published_count else 'no'} published figure"
            ]
        elif published_count == total:
            lead = [
                f"In {year}, all ",
                _count_num(current, code, "schools"),
                f" schools in {la_name} with results had a published figure",
            ]
        else:
            lead = [
                f"In {year}, ",
                _count_num(current, code, "schools_published"),
                " of the ",
                _count_num(current, code, "schools"),
                f" schools in {la_name} with results had a published figure",
            ]
        england, england_flag = _la_value_num(current, code, "england_value", fct, "national_value")
        if england is not None and published_count:
            worse = "above" if polarity == "low" else "below"
            below = la_count(current, "schools_below_national")
            if total == 1:
                who: list = ["it was" if below else "it was not"]
            elif below == 0:
                who = ["none of them was"]
            else:
                who = [
                    _count_num(current, code, "schools_below_national"),
                    f" of them {'was' if below == 1 else 'were'}",
                ]
            lead += ["; ", *who, f" {worse} England's ", england, england_flag]
            if la_count(current, "schools_declining"):
                trend = "rose" if polarity == "low" else "fell"
                declining: list = ["it" if total == 1 else _count_num(current, code, "schools_declining")]
                lead += [" and ", *declining, f" {trend} for the second year running"]
        lead.append(".")
        sentences = [Sentence(lead)]
        la_value, la_flag = _la_value_num(current, code, "la_value", fct, "value")
        if la_value is not None:
            whole = "" if get(current[0], "is_catalogue_measure") else " (the schools' figures combined)"
            sentences.append(Sentence([f"The figure for {la_name} as a whole was ", la_value, la_flag, whole, "."]))
        withheld = la_count(current, "schools_withheld")
        if withheld:
            sentences.append(
                Sentence(
                    [
                        _count_num(current, code, "schools_withheld"),
                        f" {_plural(withheld, 'figure is', 'figures are')} withheld to protect small cohorts; no change or "
                        "comparison is shown for them.",
                    ],
                    "status",
                )
            )

        table = []
        for r in sorted(current, key=lambda r: ((r["school_name"] or "").lower(), r["urn"])):
            published = r["value_status"] == PUBLISHED and r["value"] is not None
            cells: dict[str, Any] = {
                "school": r["school_name"] or f"URN {r['urn']}",
                "urn": r["urn"],
                "published": published,
                "flags": [],
            }
            if not published:
                cells["value"] = withheld_text(r["value_status"])
                table.append(cells)
                continue  # no change, comparison or flag beside a withheld value
            cells["value"] = _outcome_num(r, "value", phase)
            if get(r, "change") is not None and get(r, "previous_time_period") is not None:
                cells["change"] = _outcome_num(r, "change", phase)
                cells["change_since"] = _outcome_num(r, "previous_time_period", phase)
            if get(r, "diff_from_england") is not None:
                cells["diff"] = _outcome_num(r, "diff_from_england", phase)
            if get(r, "below_national") is True:
                cells["flags"].append("above England" if polarity == "low" else "below England")
            if get(r, "declining_two_years") is True:
                cells["flags"].append("up two years running" if polarity == "low" else "down two years running")
            table.append(cells)
        sources = {r["data_source_file"]: r["file_sha256"] for r in current if get(r, "data_source_file")}
        out.append(
            {
                "id": f"results-{measure}",
                "title": f"{label}: {year}",
                "measure": measure,
                "sentences": sentences,
                "table": table,
                "england": england,
                "year": year,
                "sources": [{"file": f, "sha256": s} for f, s in sorted(sources.items())],
            }
        )
    return out


def _la_value_num(rows: list[dict], la: str, field_name: str, fct: dict | None, fct_field: str) -> tuple:
    """The England (or LA) comparator of a results table and its release flag. It is the
    ``fct_la_measure`` figure when the mart's value is that row's (tagged for the fct read-back,
    with its release), else the school mart's own (England's latest release, or the aggregate of
    the schools for a local measure)."""
    values = {get(r, field_name) for r in rows} - {None}
    if len(values) != 1:
        return None, ""
    value = values.pop()
    r = rows[0]
    from_fct = (
        fct is not None
        and get(fct, fct_field) == value
        and (field_name == "england_value" or get(r, "is_catalogue_measure") is True)
    )
    if from_fct:
        return (
            Num(
                format_number(value, int(fct["decimal_places"] or 0), fct["unit"]),
                fct_field,
                fct["measure_code"],
                "all",
                fct["time_period"],
            ),
            release_flag(get(fct, "release")),
        )
    return (
        SchoolNum(
            format_number(value, _dp(r), get(r, "unit")),
            OUTCOMES_LA,
            key_of(la, r["measure_code"], r["time_period"], r["time_identifier"]),
            field_name,
        ),
        "",
    )


def concern_subsection(data: SchoolData, la: dict, la_name: str) -> dict | None:
    rows = data.concern.get(la["old_la_code"], [])
    schools: dict[str, dict] = {}
    # Results reasons first, then the inspection one, each in the rule order of the seed's ids.
    for r in sorted(
        rows, key=lambda r: (r["rule_type"] == "inspection_below_good", r["rule_id"] or "", r["measure_code"] or "")
    ):
        entry = schools.setdefault(
            r["urn"],
            {
                "school": r["school_name"] or f"URN {r['urn']}",
                "urn": r["urn"],
                "phase": r["phase"],
                "reasons": [],
                "rules": [],
            },
        )
        if r["reason"] and r["reason"] not in entry["reasons"]:
            entry["reasons"].append(r["reason"])
        if r["rule_description"] and r["rule_description"] not in entry["rules"]:
            entry["rules"].append(r["rule_description"])
    listed = sorted(schools.values(), key=lambda e: (e["school"].lower(), e["urn"]))
    count = SchoolNum(str(len(listed)), CONCERN, la["old_la_code"], "schools")
    if listed:
        lead = Sentence(
            [
                count,
                f" {_plural(len(listed), 'school meets', 'schools meet')} at least one of the "
                f"council's causing-concern rules:",
            ]
        )
    else:
        lead = Sentence([f"No school in {la_name} meets any of the council's causing-concern rules."])
    rules = sorted({r["rule_description"] for r in rows if r["rule_description"]})
    return {"id": "concern", "title": "Schools causing concern", "sentences": [lead], "schools": listed, "rules": rules}


def cohort_sentences(data: SchoolData, la: dict, la_name: str, measures: dict, fct_rows: dict) -> list[Sentence]:
    """ "Pupils who took KS2 in 2018/19 (66% met the expected standard, England 65%) took their
    GCSEs in 2023/24: ..." for the most recent cohorts with a published KS2 and KS4 figure."""
    rows = [
        r
        for r in data.cohorts.get(la["old_la_code"], [])
        if r["ks2_rwm_expected_status"] == PUBLISHED
        and get(r, "ks2_rwm_expected_value") is not None
        and any(
            r[f"{m}_status"] == PUBLISHED and get(r, f"{m}_value") is not None for m in ("ks4_attainment8", "ks4_em_94")
        )
    ]
    rows = sorted(rows, key=lambda r: r["ks2_time_period"], reverse=True)[:RECENT_COHORTS]
    out = []
    for r in rows:
        ks2, ks4 = int(r["ks2_time_period"]), int(r["ks4_time_period"])

        def num(measure: str, period: int, prefix: str, suffix: str, fct_field: str) -> Num:
            catalogue = measures.get((measure, "all")) or {}
            fct = fct_rows.get((measure, "all", period)) or {}
            dp = int(catalogue.get("decimal_places") or fct.get("decimal_places") or 0)
            unit = catalogue.get("unit") or fct.get("unit")
            return Num(format_number(r[f"{prefix}_{suffix}"], dp, unit), fct_field, measure, "all", period)

        def release(measure: str, period: int) -> str:
            return release_flag((fct_rows.get((measure, "all", period)) or {}).get("release"))

        def rank(measure: str, period: int) -> list:
            if get(r, f"{measure}_rank") is None or not get(r, f"{measure}_ranked_count"):
                return []
            return [
                Num(ordinal(r[f"{measure}_rank"]), "rank", measure, "all", period),
                " of ",
                Num(str(int(r[f"{measure}_ranked_count"])), "ranked_count", measure, "all", period),
            ]

        parts: list = [
            f"Pupils who took KS2 in {academic_year_label(ks2)}{release('ks2_rwm_expected', ks2)} (",
            num("ks2_rwm_expected", ks2, "ks2_rwm_expected", "value", "value"),
            " met the expected standard in reading, writing and maths",
        ]
        if get(r, "ks2_rwm_expected_england") is not None:
            parts += [", England ", num("ks2_rwm_expected", ks2, "ks2_rwm_expected", "england", "national_value")]
        parts += [f") took their GCSEs in {academic_year_label(ks4)}"]
        flags = {release(m, ks4) for m in ("ks4_attainment8", "ks4_em_94")} - {""}
        parts.append(flags.pop() if len(flags) == 1 else "")
        clauses = []
        if r["ks4_attainment8_status"] == PUBLISHED and get(r, "ks4_attainment8_value") is not None:
            clause: list = ["Attainment 8 ", num("ks4_attainment8", ks4, "ks4_attainment8", "value", "value")]
            if get(r, "ks4_attainment8_england") is not None:
                clause += [
                    " (England ",
                    num("ks4_attainment8", ks4, "ks4_attainment8", "england", "national_value"),
                    ")",
                ]
            clauses.append(clause)
        if r["ks4_em_94_status"] == PUBLISHED and get(r, "ks4_em_94_value") is not None:
            clause = [
                num("ks4_em_94", ks4, "ks4_em_94", "value", "value"),
                " achieved grade 4 or above in English and maths",
            ]
            if get(r, "ks4_em_94_england") is not None:
                clause += [" (England ", num("ks4_em_94", ks4, "ks4_em_94", "england", "national_value"), ")"]
            clauses.append(clause)
        parts.append(": ")
        for i, clause in enumerate(clauses):
            if i:
                parts.append(", and ")
            parts += clause
        ks2_rank = rank("ks2_rwm_expected", ks2)
        ks4_measure = "ks4_attainment8" if rank("ks4_attainment8", ks4) else "ks4_em_94"
        ks4_rank = rank(ks4_measure, ks4)
        if ks2_rank and ks4_rank:
            what = "on Attainment 8" if ks4_measure == "ks4_attainment8" else "on grade 4 in English and maths"
            parts += [f"; {la_name} ranked ", *ks2_rank, " local authorities at KS2 and ", *ks4_rank, f" {what}"]
        parts.append(".")
        sentence = Sentence(parts)
        out.append(sentence)
        note = get(r, "comparability_note")
        if note:
            out.append(Sentence([Note(note.strip())], "comparability"))
    return out


def build_schools(
    data: SchoolData | None, la: dict, la_name: str, measures: dict, fct_rows: dict, sort_key: Callable[[str], Any]
) -> dict:
    """The "Schools" section (None when the LA has no school rows) and the cohort paragraph
    (None without cohort rows) of one briefing."""
    if data is None:
        return {"schools": None, "cohorts": None}
    subsections = []
    inspection = inspection_subsection(data, la, la_name)
    if inspection:
        subsections.append(inspection)
    results = results_subsections(data, la, la_name, measures, fct_rows, sort_key)
    subsections += results
    has_school_rows = bool(inspection or results)
    # The concern list only means something beside the school data it was drawn from; an LA
    # with none says nothing about concern (rather than "no school meets the rules").
    if has_school_rows and CONCERN in data.tables:
        concern = concern_subsection(data, la, la_name)
        if concern:
            subsections.append(concern)
    schools = None
    if subsections:
        sources = {}
        for s in results:
            for src in s["sources"]:
                sources[src["file"]] = src["sha256"]
        schools = {
            "subsections": subsections,
            "results": results,
            "inspection": inspection,
            "concern": next((s for s in subsections if s["id"] == "concern"), None),
            "sources": [{"file": f, "sha256": s} for f, s in sorted(sources.items())],
        }
    cohort = cohort_sentences(data, la, la_name, measures, fct_rows)
    cohorts = {"title": "From key stage 2 to key stage 4: the same pupils", "sentences": cohort} if cohort else None
    return {"schools": schools, "cohorts": cohorts}
