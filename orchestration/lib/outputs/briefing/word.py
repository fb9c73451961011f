"""The committee paper as a Word document (`.docx`, python-docx): the HTML briefing's sections,
sentences, tables with band colours and charts, laid out as a council committee paper: a title
page (LA, period, publication), a contents list, numbered pages and an appendix of the sources
with their sha256.

Every number is a content control tagged with the mart field it shows, as the HTML's
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
from orchestration.lib.printable import xml_text

STATUS_WHITE_TEXT = ("A", "D")
TEXT_WIDTH_TWIPS = 9638  # A4's 21 cm less 2 cm margins each side, in twentieths of a point
TABLE_TEXT_HALF_POINTS = 18  # 9 pt
_RUN_SEPARATOR = '<w:r><w:t xml:space="preserve"> </w:t></w:r>'


def _run_properties(*, bold: bool = False, italic: bool = False, white: bool = False, size: int | None = None) -> str:
    properties = (
        ("<w:b/>" if bold else "")
        + ("<w:i/>" if italic else "")
        + ('<w:color w:val="FFFFFF"/>' if white else "")
        + (f'<w:sz w:val="{size}"/>' if size else "")
    )
    return f"<w:rPr>{properties}</w:rPr>" if properties else ""


def _run(text: str, **properties) -> str:
    """One run of text. Paragraphs and tables are written as WordprocessingML text and parsed
    once: python-docx's object per run made the Word paper most of a run's time."""
    return f'<w:r>{_run_properties(**properties)}<w:t xml:space="preserve">{xml_text(text)}</w:t></w:r>'


def _parts_xml(parts, white: bool = False, size: int | None = None) -> str:
    """A sentence's parts as runs; each number a content control tagged with its field."""
    out = []
    for part in parts:
        if isinstance(part, Sentence):
            out.append(_parts_xml(part.parts, white, size))
        elif (tag := number_tag(part)) is not None:
            out.append(
                # a rich-text control (no <w:text/>): LibreOffice draws a plain-text control's
                # text in the paragraph's look, dropping the run's size and white-on-band colour
                f'<w:sdt><w:sdtPr><w:tag w:val="{xml_text(tag)}"/></w:sdtPr>'
                f"<w:sdtContent>{_run(part.text, white=white, size=size)}</w:sdtContent></w:sdt>"
            )
        elif isinstance(part, Note):
            out.append(_run(part.text, italic=True, size=size))
        elif part is not None and part != "":
            out.append(_run(str(part), white=white, size=size))
    return "".join(out)


def _docx():
    import docx
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement, parse_xml
    from docx.oxml.ns import nsdecls, qn
    from docx.shared import Cm, Pt

    return docx, WD_BREAK, OxmlElement, parse_xml, nsdecls("w"), qn, Cm, Pt


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
        docx, self.WD_BREAK, self.OxmlElement, self.parse_xml, self.nsdecls, self.qn, self.Cm, self.Pt = _docx()
        self._style_ids: dict[str, str] = {}
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

    def _append(self, xml: str) -> None:
        """A body element written as WordprocessingML text, placed before the section properties
        as python-docx places what it adds."""
        self.document.element.body.sectPr.addprevious(self.parse_xml(xml))

    def sentences(self, sentences, style: str | None = None) -> None:
        runs = _RUN_SEPARATOR.join(_parts_xml([sentence]) for sentence in sentences)
        self._append(f"<w:p {self.nsdecls}>{self._style_xml(style)}{runs}</w:p>")

    def paragraph(self, text: str, style: str | None = None, italic: bool = False) -> None:
        self._append(f"<w:p {self.nsdecls}>{self._style_xml(style)}{_run(text, italic=italic)}</w:p>")

    def heading(self, text: str, level: int) -> None:
        self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def _style_xml(self, style: str | None) -> str:
        return f'<w:pPr><w:pStyle w:val="{xml_text(self._style_id(style))}"/></w:pPr>' if style else ""

    def _style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    # --- tables --------------------------------------------------------------------------------

    def table(self, headers: list[str], rows: list[list[tuple[list, str | None]]]) -> None:
        """``rows``: per cell, the parts it shows and the band it is coloured by (or None)."""
        width = TEXT_WIDTH_TWIPS // len(headers)

        def cell(content: str, fill: str | None = None) -> str:
            shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
            return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shading}</w:tcPr><w:p>{content}</w:p></w:tc>'

        out = [
            f'<w:tbl {self.nsdecls}><w:tblPr><w:tblStyle w:val="{xml_text(self._style_id("Table Grid"))}"/>'
            '<w:tblW w:w="0" w:type="auto"/><w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" '
            'w:firstColumn="1" w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr><w:tblGrid>',
            f'<w:gridCol w:w="{width}"/>' * len(headers),
            "</w:tblGrid><w:tr>",
            *(cell(_run(header, bold=True)) for header in headers),
            "</w:tr>",
        ]
        for row in rows:
            out.append("<w:tr>")
            for parts, band in row:
                colour = self.band_colours.get(band) if band else None
                white = bool(colour) and band in STATUS_WHITE_TEXT
                out.append(
                    cell(_parts_xml(parts, white=white, size=TABLE_TEXT_HALF_POINTS), (colour or "").lstrip("#"))
                )
            out.append("</w:tr>")
        out.append("</w:tbl>")
        self._append("".join(out))
        self.document.add_paragraph()

    # --- the document ----------------------------------------------------------------------------

    def title_page(self, b: dict, provenance: dict) -> None:
        la = b["la"]
        document = self.document
        self.paragraph("Briefing for scrutiny committees and health and wellbeing boards")
        self.heading(f"Education outcomes in {la['display_name']}", level=0)
        self.paragraph(
            f"Latest figures to {b['academic_year']}; {la.get('region_name') or ''}; local authority "
            f"{la['old_la_code']}" + (f" ({la['la_code']})" if la.get("la_code") else "")
        )
        self.paragraph(
            f"Publication {provenance.get('publication_id') or '(unknown)'}"
            + (f", published {provenance['published_at']}" if provenance.get("published_at") else "")
            + f"; generated {provenance.get('generated')}."
        )
        self.paragraph(
            "Every figure is the Department for Education's published figure"
            + (
                f" (or worked out from the published data of {' and '.join(b['worked_out_from'])}, where a "
                "section's source names it)"
                if b.get("worked_out_from")
                else ""
            )
            + " as held in marts.fct_la_measure"
            + (
                ", except in the Schools section: the council's own school files after disclosure control and "
                "Ofsted's inspection data."
                if b.get("schools")
                else "."
            )
        )
        document.add_page_break()
        self.heading("Contents", level=1)
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
        self.heading("At a glance", level=1)
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
        publications: dict[str, dict] = {}  # url -> the section's publication (render._publication)
        # measure -> (its label, its methodology note) for the appendix; the label names the section,
        # as KS1's and KS2's "Pupils meeting the expected standard in reading" are labelled alike
        definitions: dict[str, tuple[str, str]] = {}
        for s in b["sections"]:
            self.heading(f"{s['title']}: {s['period_label']}{s.get('flag') or ''}", level=1)
            for p in s["paragraphs"]:
                self.heading(p["title"], level=2)
                self.sentences(p["sentences"])
                if p.get("gap_sentences"):
                    self.sentences(p["gap_sentences"])
            if s.get("chart"):
                document.add_picture(io.BytesIO(s["chart"]["png"]), width=self.Cm(17))
                self.paragraph(s["chart"]["title"], italic=True)
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
                        ([r.get("regional_value"), f" {r['regional_flag']}" if r.get("regional_flag") else ""], None),
                        ([r.get("sn_average")], None),
                        ([r["rank"], " of ", r["ranked_count"]] if r.get("rank") else [], None),
                        (_band(r), r.get("band")),
                    ]
                    for r in s["table"]
                ],
            )
            for src in s["sources"]:
                sources[src["file"]] = src.get("sha256")
            for pub in s.get("publications") or []:
                publications[pub["url"]] = pub
            for d in s.get("definitions") or []:
                definitions.setdefault(d["measure"], (f"{s['title']}: {d['label']}", d["text"]))
        if b.get("vulnerable"):
            self.heading("Vulnerable groups", level=1)
            for p in b["vulnerable"]:
                self.heading(p["title"], level=2)
                self.sentences(p["sentences"])
        if b.get("schools"):
            self.schools(b["schools"], sources)
        if b.get("cohorts"):
            self.heading(b["cohorts"]["title"], level=1)
            self.sentences(b["cohorts"]["sentences"])
        self.heading("How to read this briefing", level=1)
        self.paragraph(
            "Years are the summer of the assessment (2018/19 is written 2019); attendance, exclusions and destinations "
            "after key stage 4 are for the whole school year. Changes compare with the last year whose figures are comparable. Quartile bands follow "
            "LAIT's method across all local authorities with a published figure: A is the best quarter, D the weakest, "
            "and each band's range of published figures is shown beside it. Rank 1 is the best. Suppressed figures are "
            "withheld by the Department for Education to protect confidentiality."
        )
        document.add_page_break()
        if definitions:
            self.heading("Appendix: what the measures mean", level=1)
            for label, text in definitions.values():
                self.paragraph(f"{label}: {text}", style="List Bullet")
        self.heading("Appendix: sources", level=1)
        # each publication's release dates and methodology as update-sources recorded them; else
        # its page gives them
        for url, pub in sorted(publications.items(), key=lambda item: item[1]["title"]):
            text = f"{pub['publisher']}, {pub['title']}: {url}"
            text += f"; {pub['releases']}" if pub.get("releases") else " (methodology and release dates on its page)"
            text += f"; methodology: {pub['methodology_url']}" if pub.get("methodology_url") else ""
            self.paragraph(text, style="List Bullet")
        for file, sha256 in sorted(sources.items()):
            self.paragraph(f"{file}: sha256 {sha256 or 'unknown'}", style="List Bullet")
        document.save(str(path))

    def schools(self, sc: dict, sources: dict) -> None:
        self.heading("Schools", level=1)
        for sub in sc["subsections"]:
            self.heading(sub["title"], level=2)
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
                    self.paragraph(
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


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# A briefing's document part is about 1 MiB (the sample's LAs, with their schools); one far past
# this was not written by this module.
_DOCUMENT_XML_MAX_BYTES = 32 * 1024 * 1024


def tagged_numbers(path: Path) -> list[tuple[list[str], str]]:
    """Every tagged number in a written briefing: (its tag's parts, the text shown). Reads only
    the package's document part (python-docx would parse every part of the package: 6.3 s for
    the sample's 153 papers, this 3.9 s)."""
    import zipfile

    from lxml import etree

    with zipfile.ZipFile(path) as package:
        info = package.getinfo("word/document.xml")
        if info.file_size > _DOCUMENT_XML_MAX_BYTES:
            raise ValueError(f"{path}: word/document.xml is {info.file_size:,} bytes, over {_DOCUMENT_XML_MAX_BYTES:,}")
        document = etree.fromstring(package.read(info), parser=etree.XMLParser(resolve_entities=False))
    found = []
    for sdt in document.iter(f"{_W}sdt"):
        tag = sdt.find(f"{_W}sdtPr/{_W}tag")
        if tag is not None:
            found.append((json.loads(tag.get(f"{_W}val")), "".join(t.text or "" for t in sdt.iter(f"{_W}t"))))
    return found
