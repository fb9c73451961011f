"""The sentences of a committee briefing, generated from ``marts.fct_la_measure`` rows.

Every sentence is composed here from the row's numbers (value, previous comparable value,
England, region, statistical neighbours, rank, quartile band) and, where the series breaks, the
row's ``comparability_note``; nothing is taken from narrative text stored with the data.

A sentence is a list of parts: plain strings, :class:`Num` (a number or code formatted from a
named mart field, so the HTML can tag it and tests can read every number back) and :class:`Note`
(the comparability note). Style follows what council officers write for scrutiny committees:
British English, calendar year of the summer exam ("2018/19" -> "2019"), the measure's decimal
places, "down from 66% in 2019", "(provisional)".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# Phases whose figures describe a whole school year rather than a summer assessment: officers
# write "in 2023/24" for absence, exclusions and the destination year after KS4, but "in 2024" for
# KS2 results.
# Ofsted's snapshots as at 31 August are the state at the end of that academic year.
ACADEMIC_YEAR_PHASES = frozenset({"attendance", "behaviour", "destinations", "inspection"})

PUBLISHED = "published"


@dataclass(frozen=True)
class Num:
    """A number (or rank, band, year) as shown, with the mart field it was formatted from."""

    text: str
    field: str
    measure: str | None = None
    breakdown: str | None = None
    period: int | None = None


@dataclass(frozen=True)
class Note:
    """A comparability note, quoted from the data (the one text the sentences may reuse)."""

    text: str


@dataclass
class Sentence:
    parts: list = field(default_factory=list)
    kind: str = "finding"  # finding | comparability | status | gap

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def __str__(self) -> str:
        return self.text


# --- reading rows -------------------------------------------------------------------------------


def get(row: Any, key: str) -> Any:
    """``row[key]`` from a dict, pandas Series or DuckDB row dict; None for missing/NaN/NA."""
    if type(row) is dict:  # the fast path: rows fetched from DuckDB
        value = row.get(key)
        if value is None or (type(value) is float and value != value):
            return None
        if type(value) in (str, int, float, bool):
            return value
    try:
        value = row[key]
    except (KeyError, IndexError, TypeError):
        return None
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()  # numpy scalar -> Python
        except (ValueError, AttributeError):
            pass
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


# --- formatting ---------------------------------------------------------------------------------


def format_number(value: float, decimal_places: int, unit: str | None = None, *, signed: bool = False) -> str:
    """``value`` to the measure's decimal places (``%`` appended for percentages)."""
    dp = max(int(decimal_places or 0), 0)
    # Half away from zero on the number as written (its shortest repr), as the marts round: the
    # neighbours' mean is published unrounded, and a mean of 52.5 shows as 53, not as binary
    # formatting's round-half-even 52.
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
    text = f"{rounded:+.{dp}f}" if signed else f"{rounded:.{dp}f}"
    if float(text) == 0:
        text = f"{0:.{dp}f}"  # never "-0" or "+0"
    if unit == "%" and not signed:
        text += "%"
    return text


def period_label(time_period: int, phase: str | None = None) -> str:
    """How officers write a period: the summer of the exam (201819 -> "2019"), the academic year
    for whole-year measures (absence 201819 -> "2018/19"), calendar years as they are."""
    tp = int(time_period)
    if tp >= 100000:
        start = tp // 100
        if phase in ACADEMIC_YEAR_PHASES:
            return f"{start}/{tp % 100:02d}"
        return str(start + 1)
    return str(tp)


def academic_year_label(time_period: int) -> str:
    tp = int(time_period)
    return f"{tp // 100}/{tp % 100:02d}" if tp >= 100000 else str(tp)


def period_slug(time_period: int) -> str:
    """File name of a period: 202425 -> "2024-25"."""
    tp = int(time_period)
    return f"{tp // 100}-{tp % 100:02d}" if tp >= 100000 else str(tp)


def immediately_previous(time_period: int) -> int:
    tp = int(time_period)
    return tp - 101 if tp >= 100000 else tp - 1


def ordinal(n: int) -> str:
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def display_name(la_name: str) -> str:
    """LA names as people write them: "St. Helens" -> "St Helens", "Bristol, City of" -> "Bristol"."""
    name = re.sub(r"\bSt\.\s*", "St ", la_name.strip())
    name = re.sub(r",\s*(City|County) of$", "", name)
    return name


def region_phrase(region_name: str) -> str:
    """ "North West" -> "the North West"; "London" and "Yorkshire and the Humber" take no article."""
    name = region_name.strip().replace(" and The ", " and the ")
    if name.split(" ")[0] in ("North", "South", "East", "West"):
        return "the " + name
    return name


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", display_name(text).lower().replace("&", "and")).strip("-")


def continue_sentence(note: str) -> str:
    """A note joined after "because": lower-case its first word unless it is an acronym, a year
    or a name followed by a number ("KS2 ...", "2019/20 ...", "Progress 8 ...")."""
    note = note.strip().rstrip(".")
    words = note.split(" ")
    first = words[0] if words else ""
    keep = (
        not first
        or any(ch.isdigit() for ch in first)
        or (len(first) > 1 and first.isupper())
        or (len(words) > 1 and words[1][:1].isdigit())
        or first in _PROPER_NOUNS
    )
    return note if keep else first[0].lower() + note[1:]


# --- what each measure says ---------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """How a measure reads: ``la`` after "In St Helens, ", ``area`` after "Nationally, "; ``{v}``
    is the number. ``people`` names the group for gap sentences."""

    la: str
    area: str
    people: str = "pupils"


def _share(people: str, verb: str, short: str | None = None) -> Phrase:
    return Phrase(la=f"{{v}} of {people} {verb}", area=f"{{v}} {short or verb}", people=people)


def _level(noun: str, people: str = "pupils", short: str = "the average") -> Phrase:
    return Phrase(la=f"{noun} was {{v}}", area=f"{short} was {{v}}", people=people)


PHRASES: dict[str, Phrase] = {
    "eyfs_gld": _share("children", "achieved a good level of development"),
    "phonics_y1_expected": _share(
        "pupils", "met the expected standard in the Year 1 phonics screening check", "met the expected standard"
    ),
    "ks1_reading_expected": _share("pupils", "met the expected standard in reading", "met the expected standard"),
    "ks1_writing_expected": _share("pupils", "met the expected standard in writing", "met the expected standard"),
    "ks1_maths_expected": _share("pupils", "met the expected standard in maths", "met the expected standard"),
    "ks2_rwm_expected": _share(
        "pupils", "met the expected standard in reading, writing and maths", "met the expected standard"
    ),
    "ks2_rwm_higher": _share(
        "pupils", "met the higher standard in reading, writing and maths", "met the higher standard"
    ),
    "ks2_reading_expected": _share("pupils", "met the expected standard in reading", "met the expected standard"),
    "ks2_writing_expected": _share("pupils", "met the expected standard in writing", "met the expected standard"),
    "ks2_maths_expected": _share("pupils", "met the expected standard in maths", "met the expected standard"),
    "ks2_gps_expected": _share(
        "pupils", "met the expected standard in grammar, punctuation and spelling", "met the expected standard"
    ),
    "ks4_attainment8": _level("the average Attainment 8 score"),
    "ks4_progress8": _level("the average Progress 8 score"),
    "ks4_em_95": _share("pupils", "achieved grade 5 or above in English and maths", "achieved grade 5 or above"),
    "ks4_em_94": _share("pupils", "achieved grade 4 or above in English and maths", "achieved grade 4 or above"),
    "ks4_ebacc_entry": _share("pupils", "entered the English Baccalaureate", "entered the EBacc"),
    "ks4_ebacc_aps": _level("the average EBacc point score"),
    "ks5_aps_per_entry": _level("the A level average point score per entry", people="students"),
    "ks5_aab": _share("A level students", "achieved grades AAB or better", "achieved AAB or better"),
    "ks5_three_a": _share("A level students", "achieved three A grades or better", "achieved AAA or better"),
    "age19_l2_em": _share(
        "young people",
        "were qualified to level 2 including English and maths by age 19",
        "were qualified to level 2 with English and maths",
    ),
    "age19_l3": _share("young people", "were qualified to level 3 by age 19", "were qualified to level 3"),
    "absence_overall": _level("the overall absence rate", short="the rate"),
    "absence_persistent": _share(
        "pupils", "were persistently absent (missing 10% or more of sessions)", "were persistently absent"
    ),
    "exclusions_permanent_rate": _level("the permanent exclusion rate (exclusions per 100 pupils)", short="the rate"),
    "exclusions_suspension_rate": _level("the suspension rate (suspensions per 100 pupils)", short="the rate"),
    "neet_16_17": _share(
        "16 and 17 year olds",
        "were not in education, employment or training (NEET)",
        "were NEET",
    ),
    "neet_or_not_known_16_17": _share(
        "16 and 17 year olds", "were NEET or their activity was not known", "were NEET or not known"
    ),
}


_PROPER_NOUNS = frozenset({"English", "England", "Ofsted"})


def lower_first(text: str) -> str:
    """ "Children achieving ..." -> "children achieving ..."; "A level ...", "KS2 ...", "EBacc ...",
    "English Baccalaureate ..." stay."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[1:].islower() and first not in _PROPER_NOUNS:
        return text[:1].lower() + text[1:]
    return text


def short_name(measure_name: str | None, measure_code: str) -> str:
    """ "Key stage 2: pupils meeting ..." -> "Pupils meeting ..." (for headings and tables)."""
    name = (measure_name or measure_code).split(":", 1)[-1].strip()
    return name[:1].upper() + name[1:]


def phrase_for(measure_code: str, measure_name: str | None = None) -> Phrase:
    """The catalogue's headline measures read as officers write them; a measure added to the
    catalogue later still reads correctly, from its name."""
    if measure_code in PHRASES:
        return PHRASES[measure_code]
    name = lower_first(short_name(measure_name, measure_code))
    return Phrase(la=f"the figure for {name} was {{v}}", area="the figure was {v}")


def _fill(template: str, number: Num) -> list:
    before, _, after = template.partition("{v}")
    return [p for p in (before, number, after) if p != ""]


# Disadvantage splits published beside the headline (the catalogue's disadvantage breakdowns): (group, rest, how to name them).
GAP_PAIRS = {
    "disadvantaged": ("not_disadvantaged", "disadvantaged {people}", "other {people}"),
    "fsm_eligible": ("not_fsm_eligible", "{people} eligible for free school meals", "other {people}"),
}
# The vulnerable groups section: each group against the pupils it is usually compared with (SEN
# groups against those with no identified SEN; children in need and looked-after children, whose
# files have no "other pupils" row, against all pupils).
GROUP_PAIRS = {
    "sen_support": ("no_sen", "{people} receiving SEN support", "{people} with no identified SEN"),
    "ehc_plan": ("no_sen", "{people} with an education, health and care plan", "{people} with no identified SEN"),
    "cin_other": ("all", "children in need", "all {people}"),
    "cpp_other": ("all", "children on a child protection plan", "all {people}"),
    "cla_12_months": ("all", "children looked after for a year or more", "all {people}"),
}
COMPARISON_PAIRS = {**GAP_PAIRS, **GROUP_PAIRS}

BREAKDOWN_LABELS = {
    "all": "All",
    "disadvantaged": "Disadvantaged",
    "not_disadvantaged": "Not disadvantaged",
    "fsm_eligible": "Eligible for free school meals",
    "not_fsm_eligible": "Not eligible for free school meals",
    "sen_support": "SEN support",
    "ehc_plan": "Education, health and care plan",
    "any_sen": "Any identified SEN",
    "no_sen": "No identified SEN",
    "white": "White",
    "mixed": "Mixed",
    "asian": "Asian",
    "black": "Black",
    "chinese": "Chinese",
    "other_ethnic": "Any other ethnic group",
    "cin_other": "Children in need (not on a protection plan or looked after)",
    "cpp_other": "On a child protection plan (not looked after)",
    "cla_12_months": "Looked after for 12 months or more",
    "primary": "State-funded primary schools",
    "secondary": "State-funded secondary schools",
    "special": "Special schools",
}


def breakdown_label(breakdown: str) -> str:
    return BREAKDOWN_LABELS.get(breakdown, breakdown.replace("_", " ").capitalize())


BAND_QUARTERS_HIGH = {
    "A": "the highest quarter",
    "B": "the second-highest quarter",
    "C": "the second-lowest quarter",
    "D": "the lowest quarter",
}
BAND_QUARTERS_LOW = {
    "A": "the lowest quarter",
    "B": "the second-lowest quarter",
    "C": "the second-highest quarter",
    "D": "the highest quarter",
}


def band_description(band: str, polarity: str | None) -> str:
    if polarity == "low":
        return f"{BAND_QUARTERS_LOW[band]} of local authorities, where lower is better"
    return f"{BAND_QUARTERS_HIGH[band]} of local authorities"


# --- the sentences ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureRow:
    """One ``fct_la_measure`` row with what the sentences need to know about it."""

    row: Any
    la_name: str  # as displayed
    phase: str | None = None
    measure_name: str | None = None
    region_name: str | None = None
    national_previous_period: int | None = None  # from fct_area_measure when known
    # Whether England has published figures between the previous comparable year and this one
    # (KS4 2019/20 and 2020/21: published but not comparable); None when unknown.
    published_in_between: bool | None = None

    def __getitem__(self, key: str) -> Any:
        return get(self.row, key)

    @property
    def code(self) -> str:
        return self["measure_code"]

    @property
    def breakdown(self) -> str:
        return self["breakdown"] or "all"

    @property
    def period(self) -> int:
        return int(self["time_period"])

    @property
    def dp(self) -> int:
        return int(self["decimal_places"] or 0)

    @property
    def unit(self) -> str | None:
        return self["unit"]

    @property
    def polarity(self) -> str:
        return self["polarity"] or "high"

    @property
    def published(self) -> bool:
        return self["value_status"] == PUBLISHED and self["value"] is not None

    @property
    def phrase(self) -> Phrase:
        return phrase_for(self.code, self.measure_name)

    def num(self, field_name: str, value: Any = None, *, signed: bool = False, breakdown: str | None = None) -> Num:
        value = self[field_name] if value is None else value
        return Num(
            format_number(value, self.dp, self.unit, signed=signed),
            field_name,
            self.code,
            breakdown or self.breakdown,
            self.period,
        )

    def year(self, field_name: str, time_period: int | None = None) -> Num:
        tp = int(self[field_name] if time_period is None else time_period)
        return Num(period_label(tp, self.phase), field_name, self.code, self.breakdown, self.period)


def release_flag(release: str | None) -> str:
    return f" ({release})" if release in ("provisional", "revised") else ""


def change_clause(
    m: MeasureRow,
    *,
    value_field: str,
    previous_field: str,
    change_field: str | None,
    previous_period: int | None,
    period_field: str,
    judge: bool,
) -> list:
    """ ", down from 66% in 2019" (", an improvement" where lower is better and ``judge``)."""
    value, previous = m[value_field], m[previous_field]
    if value is None or previous is None or previous_period is None:
        return []
    change = m[change_field] if change_field else None
    if change is None:
        change = round(value - previous, m.dp)
    year = m.year(period_field, previous_period)
    if change == 0:
        return [", the same as in ", year]
    parts = [", up from " if change > 0 else ", down from ", m.num(previous_field), " in ", year]
    if judge and m.polarity == "low":
        parts.append(", an improvement" if change < 0 else ", a deterioration")
    return parts


def status_sentence(m: MeasureRow, who: str | None = None) -> Sentence:
    """Why there is no number for the LA."""
    status, note = m["value_status"], m["comparability_note"]
    who = who or m.la_name
    if status == "suppressed":
        return Sentence([f"The figure for {who} is suppressed to protect confidentiality."], "status")
    if status == "low":
        return Sentence([f"The figure for {who} is too small to show (it rounds to zero)."], "status")
    if status == "not_applicable" and not note:
        return Sentence([f"This measure does not apply to {who}."], "status")
    parts: list = [f"There is no published figure for {who} for ", m.year("time_period", m.period)]
    if note:
        parts += [", because ", Note(continue_sentence(note)), "."]
    else:
        parts.append(".")
    return Sentence(parts, "status")


def la_sentence(m: MeasureRow) -> Sentence:
    """ "In St Helens, 56% of pupils met the expected standard in reading, writing and maths
    (provisional), down from 66% in 2019." """
    if not m.published:
        return status_sentence(m)
    parts: list = [f"In {m.la_name}, ", *_fill(m.phrase.la, m.num("value"))]
    flag = release_flag(m["release"])
    if flag:
        parts.append(flag)
    parts += change_clause(
        m,
        value_field="value",
        previous_field="previous_value",
        change_field="change_vs_previous",
        previous_period=m["previous_time_period"],
        period_field="previous_time_period",
        judge=True,
    )
    parts.append(".")
    return Sentence(parts)


def national_sentence(m: MeasureRow) -> Sentence | None:
    """ "Nationally, 59% met the expected standard, down from 65% in 2019." """
    if m["national_value"] is None:
        return None
    previous_period = m.national_previous_period or m["previous_time_period"]
    period_field = "national_previous_time_period" if m.national_previous_period else "previous_time_period"
    parts: list = ["Nationally, ", *_fill(m.phrase.area, m.num("national_value"))]
    parts += change_clause(
        m,
        value_field="national_value",
        previous_field="national_previous_value",
        change_field="national_change_vs_previous",
        previous_period=previous_period,
        period_field=period_field,
        judge=False,
    )
    parts.append(".")
    return Sentence(parts)


def comparability_sentence(m: MeasureRow) -> Sentence | None:
    """The series context: the first statistics after a gap, no time series after a reform, or
    the note itself when the year is compared as normal."""
    if not m.published:
        return None
    note, previous = m["comparability_note"], m["previous_time_period"]
    if previous is not None and int(previous) != immediately_previous(m.period):
        if note and m.published_in_between:
            return Sentence(
                [
                    "The last comparable year is ",
                    m.year("previous_time_period"),
                    ", because ",
                    Note(continue_sentence(note)),
                    ".",
                ],
                "comparability",
            )
        if note:
            return Sentence(
                [
                    "These are the first statistics since ",
                    m.year("previous_time_period"),
                    ", because ",
                    Note(continue_sentence(note)),
                    ".",
                ],
                "comparability",
            )
        return Sentence([f"{m.la_name} had no published figure in the years in between."], "comparability")
    if previous is None:
        if note:
            return Sentence(
                ["No time series is available, because ", Note(continue_sentence(note)), "."], "comparability"
            )
        return Sentence([f"There is no earlier comparable figure for {m.la_name}."], "comparability")
    if note:
        return Sentence([Note(note.strip())], "comparability")
    return None


def comparator_sentences(m: MeasureRow) -> list[Sentence]:
    """Region, statistical neighbours, then the quartile band and rank."""
    sentences = []
    if m["regional_value"] is not None and m.region_name:
        sentences.append(
            Sentence([f"In {region_phrase(m.region_name)}, ", *_fill(m.phrase.area, m.num("regional_value")), "."])
        )
    if m["sn_average"] is not None and (m["sn_count"] or 0) > 0:
        sentences.append(Sentence(["The average for its statistical neighbours was ", m.num("sn_average"), "."]))
    band, rank, ranked = m["quartile_band"], m["rank"], m["ranked_count"]
    placed = (
        [
            Num(ordinal(rank), "rank", m.code, m.breakdown, m.period),
            " of ",
            Num(str(int(ranked)), "ranked_count", m.code, m.breakdown, m.period),
        ]
        if rank is not None and ranked
        else []
    )
    if m.published and band in BAND_QUARTERS_HIGH:
        parts: list = [
            f"This places {m.la_name} in band ",
            Num(band, "quartile_band", m.code, m.breakdown, m.period),
            f" ({band_description(band, m.polarity)})",
        ]
        if placed:
            parts += [", ranked ", *placed]
        parts.append(".")
        sentences.append(Sentence(parts))
    elif m.published and placed:
        # a measure shown without quartile bands (dim_measure.quartile_banded): the rank alone
        sentences.append(Sentence([f"{m.la_name} is ranked ", *placed, " local authorities."]))
    return sentences


def measure_sentences(m: MeasureRow) -> list[Sentence]:
    """The paragraph for one measure: the LA, England, the series context, the comparators."""
    sentences = [la_sentence(m)]
    national = national_sentence(m)
    if national:
        sentences.append(national)
    context = comparability_sentence(m)
    if context:
        sentences.append(context)
    return sentences + comparator_sentences(m)


def gap_value(group: MeasureRow, rest: MeasureRow, field_name: str = "value") -> float | None:
    """How far the group is behind the rest, in the measure's direction (positive = behind)."""
    a, b = group[field_name], rest[field_name]
    if a is None or b is None:
        return None
    difference = (b - a) if group.polarity != "low" else (a - b)
    return round(difference, group.dp) + 0.0


def gap_sentences(group: MeasureRow, rest: MeasureRow, neighbours: bool = False) -> list[Sentence]:
    """ "Among disadvantaged pupils, 45% met the expected standard, compared with 70% for other
    pupils: a gap of 25 percentage points. Nationally, the gap was 22 percentage points." Both
    halves must be published: a gap beside a suppressed half would disclose it. With
    ``neighbours``, the gap between the two groups' statistical-neighbour averages too."""
    _, group_template, rest_template = COMPARISON_PAIRS[group.breakdown]
    people = group.phrase.people
    group_name, rest_name = group_template.format(people=people), rest_template.format(people=people)
    if not group.published or not rest.published:
        hidden = group_name if not group.published else rest_name
        if (group if not group.published else rest)["value_status"] in ("suppressed", "low"):
            return [
                Sentence(
                    [
                        f"The figure for {hidden} in {group.la_name} is suppressed to protect "
                        "confidentiality, so no gap is shown."
                    ],
                    "gap",
                )
            ]
        return []
    unit_name = "percentage points" if group.unit == "%" else "points"
    gap = gap_value(group, rest)

    def amount(value: float, field_name: str, breakdown: str = group.breakdown) -> Num:
        return Num(format_number(abs(value), group.dp), field_name, group.code, breakdown, group.period)

    parts: list = [
        f"Among {group_name}, ",
        *_fill(group.phrase.area, group.num("value")),
        ", compared with ",
        rest.num("value"),
        f" for {rest_name}",
    ]
    if gap > 0:
        parts += [": a gap of ", amount(gap, "gap"), f" {unit_name}."]
    elif gap == 0:
        parts.append(": no gap.")
    else:
        parts += [f": {group_name} did better, by ", amount(gap, "gap"), f" {unit_name}."]
    sentences = [Sentence(parts, "gap")]
    national_gap = gap_value(group, rest, "national_value")
    if national_gap is not None:
        if national_gap >= 0:
            sentences.append(
                Sentence(["Nationally, the gap was ", amount(national_gap, "national_gap"), f" {unit_name}."], "gap")
            )
        else:
            sentences.append(
                Sentence(
                    [
                        f"Nationally, {group_name} did better, by ",
                        amount(national_gap, "national_gap"),
                        f" {unit_name}.",
                    ],
                    "gap",
                )
            )
    neighbours_gap = gap_value(group, rest, "sn_average") if neighbours else None
    if neighbours_gap is not None:
        sentences.append(
            Sentence(
                [
                    "Across its statistical neighbours, the gap between the two groups' averages was ",
                    amount(neighbours_gap, "sn_gap"),
                    f" {unit_name}.",
                ]
                if neighbours_gap >= 0
                else [
                    f"Across its statistical neighbours, {group_name} did better on average, by ",
                    amount(neighbours_gap, "sn_gap"),
                    f" {unit_name}.",
                ],
                "gap",
            )
        )
    previous_period = group["previous_time_period"]
    if previous_period is not None and rest["previous_time_period"] == previous_period and gap >= 0:
        previous_gap = gap_value(group, rest, "previous_value")
        if previous_gap is not None and previous_gap >= 0:
            year = group.year("previous_time_period")
            if previous_gap == gap:
                sentences.append(Sentence(["The gap is the same as in ", year, "."], "gap"))
            else:
                verb = "narrowed" if gap < previous_gap else "widened"
                sentences.append(
                    Sentence(
                        [
                            f"The gap has {verb} from ",
                            amount(previous_gap, "previous_gap"),
                            f" {unit_name} in ",
                            year,
                            ".",
                        ],
                        "gap",
                    )
                )
    return sentences
