"""The committee paper as a Word document (`.docx`, python-docx): the HTML briefing's sections,
sentences, tables with band colours and charts, laid out as a council committee paper: a title
page (LA, period, publication), a contents list, numbered pages and an appendix of the sources
with their sha256.

Every number is a plain-text content control tagged with the mart field it shows, as the HTML's
``span.num`` is, so :func:`tagged_numbers` reads them back and the briefing check compares each
with the mart. Word shows them as ordinary text.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from orchestration.lib.outputs.briefing.schools import SchoolNum
from orchestration.lib.outputs.briefing.sentences import Note, Num, Sentence

STATUS_WHITE_TEXT = ("A", "D")


def _docx():
    import docx
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    return docx, WD_BREAK, OxmlElement, qn, Cm, Pt, RGBColor


def number_tag(part: Any) -> str | None:
    """The tag a number carries, as JSON: what it is and where in the marts it comes from."""
    if isinstance(part, Num):
        period = "" if part.period is None else str(part.period)
        return json.dumps(["num", part.field, part.measure or "", part.breakdown or "", period])
    if isinstance(part, SchoolNum):
        return json.dumps(["school", part.table, part.key, part.field])
    return None


class _Writer:
    def __init__(self, band_colours: dict[str, str | None]):
        docx, self.WD_BREAK, self.OxmlElement, self.qn, self.Cm, self.Pt, self.RGBColor = _docx()
        self.document = docx.Document()
        self.band_colours = band_colours
        normal = self.document.styles["Normal"]
        normal.font.name = "Arial"
        normal.font.size = self.Pt(10.5)
        section = self.document.sections[0]
        section.page_height, section.page_width = self.Cm(29.7), self.Cm(21.0)  # A4
        for side in ("left_margin", "right_margin"):
            setattr(section, side, self.Cm(2.0))

    # --- fields and content controls -----------------------------------------------------------

    def _field(self, paragraph, instruction: str, placeholder: str = "") -> None:
        """A Word field (PAGE, TOC) that Word fills in when it lays the document out."""
        run = paragraph.add_run()
        for kind, text in (
            ("begin", None),
            ("instr", instruction),
            ("separate", None),
            ("text", placeholder),
            ("end", None),
        ):
            if kind == "instr":
                element = self.OxmlElement("w:instrText")
                element.set(self.qn("xml:space"), "preserve")
                element.text = text
            elif kind == "text":
                element = self.OxmlElement("w:t")
                element.text = text
            else:
                element = self.OxmlElement("w:fldChar")
                element.set(self.qn("w:fldCharType"), kind)
            run._r.append(element)

    def _tagged(self, paragraph, text: str, tag: str, bold: bool = False, white: bool = False) -> None:
        sdt = self.OxmlElement("w:sdt")
        properties = self.OxmlElement("w:sdtPr")
        tag_element = self.OxmlElement("w:tag")
        tag_element.set(self.qn("w:val"), tag)
        properties.append(tag_element)
        properties.append(self.OxmlElement("w:text"))
        content = self.OxmlElement("w:sdtContent")
        run = paragraph.add_run(text)
        run.bold = bold or None
        if white:
            run.font.color.rgb = self.RGBColor(0xFF, 0xFF, 0xFF)
        content.append(run._r)  # moved from the paragraph into the control
        sdt.append(properties)
        sdt.append(content)
        paragraph._p.append(sdt)

    def parts(self, paragraph, parts, white: bool = False) -> None:
        for part in parts:
            if isinstance(part, Sentence):
                self.parts(paragraph, part.parts, white)
            elif (tag := number_tag(part)) is not None:
                self._tagged(paragraph, part.text, tag, white=white)
            elif isinstance(part, Note):
                paragraph.add_run(part.text).italic = True
            elif part is not None and part != "":
                run = paragraph.add_run(str(part))
                if white:
                    run.font.color.rgb = self.RGBColor(0xFF, 0xFF, 0xFF)

    def sentences(self, sentences, style: str | None = None) -> None:
        paragraph = self.document.add_paragraph(style=style)
        for index, sentence in enumerate(sentences):
            if index:
                paragraph.add_run(" ")
            self.parts(paragraph, [sentence])

    # --- tables --------------------------------------------------------------------------------

    def _shade(self, cell, band: str | None) -> bool:
        colour = self.band_colours.get(band) if band else None
        if not colour:
            return False
        shading = self.OxmlElement("w:shd")
        shading.set(self.qn("w:val"), "clear")
        shading.set(self.qn("w:color"), "auto")
        shading.set(self.qn("w:fill"), colour.lstrip("#"))
        cell._tc.get_or_add_tcPr().append(shading)
        return band in STATUS_WHITE_TEXT

    def table(self, headers: list[str], rows: list[list[tuple[list, str | None]]]) -> None:
        """``rows``: per cell, the parts it shows and the band it is coloured by (or None)."""
        table = self.document.add_table(rows=1, cols=len(headers))
        table.style = "Table Grid"
        for cell, header in zip(table.rows[0].cells, headers):
            cell.paragraphs[0].add_run(header).bold = True
        for row in rows:
            cells = table.add_row().cells
            for cell, (parts, band) in zip(cells, row):
                white = self._shade(cell, band)
                self.parts(cell.paragraphs[0], parts, white)
                for run in cell.paragraphs[0].runs:
                    run.font.size = self.Pt(9)
        self.document.add_paragraph()

    # --- the document ----------------------------------------------------------------------------

    def title_page(self, b: dict, provenance: dict) -> None:
        la = b["la"]
        document = self.document
        document.add_paragraph("Briefing for scrutiny committees and health and wellbeing boards")
        document.add_heading(f"Education outcomes in {la['display_name']}", level=0)
        document.add_paragraph(
            f"Latest figures to {b['academic_year']}; {la.get('region_name') or ''}; local authority "
            f"{la['old_la_code']}" + (f" ({la['la_code']})" if la.get("la_code") else "")
        )
        document.add_paragraph(
            f"Publication {provenance.get('publication_id') or '(unknown)'}"
            + (f", published {provenance['published_at']}" if provenance.get("published_at") else "")
            + f"; generated {provenance.get('generated')}."
        )
        document.add_paragraph(
            "Every figure is the Department for Education's published figure as held in marts.fct_la_measure"
            + (
                ", except in the Schools section: the council's own school files after disclosure control and "
                "Ofsted's inspection data."
                if b.get("schools")
                else "."
            )
        )
        document.add_page_break()
        document.add_heading("Contents", level=1)
        self._field(document.add_paragraph(), r'TOC \o "1-2" \h \z \u', "Right-click and choose Update Field.")
        # Word offers to fill in the contents (and page numbers) when the paper is opened.
        update = self.OxmlElement("w:updateFields")
        update.set(self.qn("w:val"), "true")
        document.settings.element.append(update)
        document.add_page_break()
        footer = document.sections[0].footer.paragraphs[0]
        footer.add_run(f"Education outcomes in {la['display_name']}, {b['academic_year']}. Page ")
        self._field(footer, "PAGE", "1")

    def write(self, b: dict, provenance: dict, path: Path) -> None:
        self.title_page(b, provenance)
        document = self.document
        la_name = b["la"]["display_name"]
        document.add_heading("At a glance", level=1)
        self.table(
            ["Area", "School year", "Measure", la_name, "England", "Change", "Band"],
            [
                [
                    ([g["section"]["title"]], None),
                    ([r["year"]], None),
                    ([r["label"]], None),
                    ([r["value"]], r.get("band")),
                    ([r.get("national_value")], None),
                    (_change(r), None),
                    (_band(r), r.get("band")),
                ]
                for g in b["glance"]
                for r in [g["row"]]
            ],
        )
        sources: dict[str, str | None] = {}
        for s in b["sections"]:
            document.add_heading(f"{s['title']}: {s['period_label']}{s.get('flag') or ''}", level=1)
            for p in s["paragraphs"]:
                document.add_heading(p["title"], level=2)
                self.sentences(p["sentences"])
                if p.get("gap_sentences"):
                    self.sentences(p["gap_sentences"])
            if s.get("chart"):
                document.add_picture(io.BytesIO(s["chart"]["png"]), width=self.Cm(17))
                document.add_paragraph(s["chart"]["title"]).runs[0].italic = True
            self.table(
                [
                    "Measure",
                    "Year",
                    la_name,
                    "Change",
                    "England",
                    s["region_name"],
                    "Statistical neighbours",
                    "Rank",
                    "Band",
                ],
                [
                    [
                        ([r["label"]], None),
                        ([r["year"]], None),
                        ([r["value"], f" {r['flag']}" if r.get("flag") else ""], r.get("band")),
                        (_change(r), None),
                        ([r.get("national_value")], None),
                        ([r.get("regional_value")], None),
                        ([r.get("sn_average")], None),
                        ([r["rank"], " of ", r["ranked_count"]] if r.get("rank") else [], None),
                        (_band(r), r.get("band")),
                    ]
                    for r in s["table"]
                ],
            )
            for src in s["sources"]:
                sources[src["file"]] = src.get("sha256")
        if b.get("schools"):
            self.schools(b["schools"], sources)
        if b.get("cohorts"):
            document.add_heading(b["cohorts"]["title"], level=1)
            self.sentences(b["cohorts"]["sentences"])
        document.add_heading("How to read this briefing", level=1)
        document.add_paragraph(
            "Years are the summer of the assessment (2018/19 is written 2019); attendance and exclusions are for the "
            "whole school year. Changes compare with the last year whose figures are comparable. Quartile bands follow "
            "LAIT's method across all local authorities with a published figure: A is the best quarter, D the weakest, "
            "and each band's range of published figures is shown beside it. Rank 1 is the best. Suppressed figures are "
            "withheld by the Department for Education to protect confidentiality."
        )
        document.add_page_break()
        document.add_heading("Appendix: sources", level=1)
        for file, sha256 in sorted(sources.items()):
            document.add_paragraph(f"{file}: sha256 {sha256 or 'unknown'}", style="List Bullet")
        document.save(str(path))

    def schools(self, sc: dict, sources: dict) -> None:
        document = self.document
        document.add_heading("Schools", level=1)
        for sub in sc["subsections"]:
            document.add_heading(sub["title"], level=2)
            self.sentences(sub["sentences"])
            if sub["id"] == "inspections" and sub.get("table"):
                self.table(
                    ["Phase", "As at", "Schools", "Good or outstanding (% of schools)", "Pupils in good or outstanding "
                     "schools (%)", "Without a single-word judgement"],
                    [
                        [([r["phase"]], None), ([r["as_at"]], None), ([r["schools"]], None),
                         ([r.get("pct_schools")], None), ([r.get("pct_pupils")], None), ([r["without"]], None)]
                        for r in sub["table"]
                    ],
                )  # fmt: skip
            elif sub["id"] == "concern":
                for s in sub.get("schools") or []:
                    document.add_paragraph(
                        f"{s['school']} ({s['phase'] + ', ' if s.get('phase') else ''}URN {s['urn']}): "
                        + "; ".join(s["reasons"]),
                        style="List Bullet",
                    )
            elif sub.get("table"):
                self.table(
                    ["School", str(sub.get("year") or ""), "Change", "Difference from England", "Flags"],
                    [
                        [([r["school"]], None), ([r["value"]], None), (_change(r), None), ([r.get("diff")], None),
                         ([", ".join(r.get("flags") or [])], None)]
                        for r in sub["table"]
                    ],
                )  # fmt: skip
        for src in sc.get("sources") or []:
            sources[src["file"]] = src.get("sha256")


def _change(r: dict) -> list:
    return [r["change"], " since ", r["change_since"]] if r.get("change") else []


def _band(r: dict) -> list:
    if not r.get("band_num"):
        return []
    return [r["band_num"], f" ({r['band_range']})" if r.get("band_range") else ""]


def write_word(briefing: dict, provenance: dict, path: Path, band_colours: dict[str, str | None]) -> None:
    _Writer(band_colours).write(briefing, provenance, path)


def tagged_numbers(path: Path) -> list[tuple[list[str], str]]:
    """Every tagged number in a written briefing: (its tag's parts, the text shown)."""
    import docx
    from docx.oxml.ns import qn

    body = docx.Document(str(path)).element.body
    found = []
    for sdt in body.iter(qn("w:sdt")):
        tag = sdt.find(f"{qn('w:sdtPr')}/{qn('w:tag')}")
        if tag is None:
            continue
        text = "".join(t.text or "" for t in sdt.iter(qn("w:t")))
        found.append((json.loads(tag.get(qn("w:val"))), text))
    return found
