"""The committee paper as a Word document (`.docx`): the HTML briefing's sections,
sentences, tables with band colours and charts, laid out as a council committee paper: a title
page (LA, period, publication), a contents list, numbered pages and an appendix of the sources
with their sha256.

Every number is a content control tagged with the mart field it shows, as the HTML's
``span.num`` is, so :func:`tagged_numbers` reads them back and the briefing check compares each
with the mart. Word shows them as ordinary text.
"""

from __future__ import annotations

import functools
import io
import json
import re
import zipfile
from dataclasses import dataclass
from html import unescape as html_unescape
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
    """One run of text. The paper is written as WordprocessingML text (see the package below):
    python-docx's object per run made the Word paper most of a run's time."""
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


def number_tag(part: Any) -> str | None:
    """The tag a number carries, as JSON: what it is and where in the marts it comes from."""
    if isinstance(part, Num):
        period = "" if part.period is None else str(part.period)
        return json.dumps(["num", part.field, part.measure or "", part.breakdown or "", period])
    if isinstance(part, SchoolNum):
        return json.dumps(["school", part.table, part.key, part.field])
    return None


# --- the package ------------------------------------------------------------------------------------
# Every paper shares python-docx's default template (styles, numbering, theme) with this paper's
# page, font and settings: made once per process and kept as a ZIP of those parts, compressed. Each
# paper is a copy of it with its own body, footer and charts appended: python-docx built, numbered
# and serialised an object tree of each paper and compressed the template's 800 KB of styles again
# for every one: 85 ms of CPU per paper, 13 s for the sample's 153 LAs; this way 23 ms.

_DOCUMENT_PART = "word/document.xml"
_DOCUMENT_RELS_PART = "word/_rels/document.xml.rels"
_FOOTER_MARK = "@@footer@@"
_IMAGE_RELATIONSHIP = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
_PNG_CONTENT_TYPE = '<Default Extension="png" ContentType="image/png"/>'
CHART_WIDTH_EMU = 6_120_000  # 17 cm: the text width less a margin (360,000 EMU per cm)


# The elements that follow w:updateFields in w:settings (ECMA-376 Part 1, CT_Settings).
_SETTINGS_AFTER_UPDATE_FIELDS = (
    "hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr", "attachedSchema",
    "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats", "doNotAutoCompressPictures",
    "forceUpgrade", "captions", "readModeInkLockDown", "smartTagType", "schemaLibrary", "shapeDefaults",
    "doNotEmbedSmartTags", "decimalSymbol", "listSeparator",
)  # fmt: skip


@dataclass(frozen=True)
class _Template:
    shared_parts: bytes  # a ZIP of the parts every paper has unchanged
    document_head: str  # word/document.xml up to its body's content
    document_tail: str  # the section properties and the end of the document
    relationships: str  # word/_rels/document.xml.rels without its closing tag
    footer_part: str
    footer_head: str  # the footer part up to the paper's own footer text
    footer_tail: str
    style_ids: dict[str, str]


@functools.cache
def _template() -> _Template:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10.5)
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    # Word offers to fill in the contents (and page numbers) when the paper is opened.
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    # placed where the schema orders it (Word tolerates it last; a strict reader need not)
    document.settings.element.insert_element_before(update, *(f"w:{name}" for name in _SETTINGS_AFTER_UPDATE_FIELDS))
    section.footer.paragraphs[0].add_run(_FOOTER_MARK)
    style_ids = {style.name: style.style_id for style in document.styles}
    saved = io.BytesIO()
    document.save(saved)
    with zipfile.ZipFile(saved) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    footer_part = next(name for name, data in parts.items() if _FOOTER_MARK.encode() in data)
    document_xml = parts.pop(_DOCUMENT_PART).decode("utf-8")
    head, body = document_xml.split("<w:body>", 1)
    section_start = body.index("<w:sectPr")
    relationships = parts.pop(_DOCUMENT_RELS_PART).decode("utf-8")
    footer_head, footer_tail = parts.pop(footer_part).decode("utf-8").split(f"<w:r><w:t>{_FOOTER_MARK}</w:t></w:r>")
    types = parts["[Content_Types].xml"].decode("utf-8")
    if 'Extension="png"' not in types:
        parts["[Content_Types].xml"] = types.replace("</Types>", f"{_PNG_CONTENT_TYPE}</Types>").encode("utf-8")
    shared = io.BytesIO()
    with zipfile.ZipFile(shared, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():  # [Content_Types].xml first, as python-docx writes it
            package.writestr(name, data)
    return _Template(
        shared_parts=shared.getvalue(),
        document_head=f"{head}<w:body>{body[:section_start]}",
        document_tail=body[section_start:],
        relationships=relationships.removesuffix("</Relationships>"),
        footer_part=footer_part,
        footer_head=footer_head,
        footer_tail=footer_tail,
        style_ids=style_ids,
    )


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's header chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("a chart is not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _picture(number: int, relationship: str, png: bytes) -> str:
    """A paragraph holding the chart inline, CHART_WIDTH_EMU wide at its own aspect ratio."""
    width, height = _png_size(png)
    cx, cy = CHART_WIDTH_EMU, round(CHART_WIDTH_EMU * height / width)
    return (
        "<w:p><w:r><w:drawing>"
        '<wp:inline distT="0" distB="0" distL="0" distR="0" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing">'
        f'<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{number}" name="Picture {number}"/>'
        '<wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'noChangeAspect="1"/></wp:cNvGraphicFramePr>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        f'<pic:nvPicPr><pic:cNvPr id="0" name="chart{number}.png"/><pic:cNvPicPr/></pic:nvPicPr>'
        '<pic:blipFill><a:blip xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        f'r:embed="{relationship}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
        f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
        '<a:prstGeom prst="rect"/></pic:spPr>'
        "</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )


def _field(instruction: str, placeholder: str = "") -> str:
    """A run holding a Word field (PAGE, TOC), which Word fills in when it lays the paper out."""
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/>'
        f'<w:instrText xml:space="preserve">{xml_text(instruction)}</w:instrText>'
        f'<w:fldChar w:fldCharType="separate"/><w:t xml:space="preserve">{xml_text(placeholder)}</w:t>'
        '<w:fldChar w:fldCharType="end"/></w:r>'
    )


_PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
_CONTENTS_FIELD = r'TOC \o "1-2" \h \z \u'  # headings 1-2, as links, without page numbers in web view


class _Writer:
    def __init__(self, band_colours: dict[str, str | None]):
        self.template = _template()
        self.band_colours = band_colours
        self.body: list[str] = []
        self.footer = ""
        self.pictures: list[bytes] = []

    def _append(self, xml: str) -> None:
        self.body.append(xml)

    def sentences(self, sentences, style: str | None = None) -> None:
        runs = _RUN_SEPARATOR.join(_parts_xml([sentence]) for sentence in sentences)
        self._append(f"<w:p>{self._style_xml(style)}{runs}</w:p>")

    def paragraph(self, text: str, style: str | None = None, italic: bool = False) -> None:
        self._append(f"<w:p>{self._style_xml(style)}{_run(text, italic=italic)}</w:p>")

    def heading(self, text: str, level: int) -> None:
        self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def page_break(self) -> None:
        self._append(_PAGE_BREAK)

    def picture(self, png: bytes) -> None:
        self.pictures.append(png)
        number = len(self.pictures)
        self._append(_picture(number, f"rIdChart{number}", png))

    def _style_xml(self, style: str | None) -> str:
        return f'<w:pPr><w:pStyle w:val="{xml_text(self.template.style_ids[style])}"/></w:pPr>' if style else ""

    # --- tables --------------------------------------------------------------------------------

    def table(self, headers: list[str], rows: list[list[tuple[list, str | None]]]) -> None:
        """``rows``: per cell, the parts it shows and the band it is coloured by (or None)."""
        width = TEXT_WIDTH_TWIPS // len(headers)

        def cell(content: str, fill: str | None = None) -> str:
            shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
            return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shading}</w:tcPr><w:p>{content}</w:p></w:tc>'

        out = [
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{xml_text(self.template.style_ids["Table Grid"])}"/>'
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
        out.append("</w:tbl><w:p/>")
        self._append("".join(out))

    def save(self, path: Path) -> None:
        """The paper: the shared parts, then its own document, relationships, footer and charts."""
        t = self.template
        relationships = "".join(
            f'<Relationship Id="rIdChart{n}" Type="{_IMAGE_RELATIONSHIP}" Target="media/chart{n}.png"/>'
            for n in range(1, len(self.pictures) + 1)
        )
        path.write_bytes(t.shared_parts)
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as package:
            package.writestr(_DOCUMENT_PART, t.document_head + "".join(self.body) + t.document_tail)
            package.writestr(_DOCUMENT_RELS_PART, f"{t.relationships}{relationships}</Relationships>")
            package.writestr(t.footer_part, t.footer_head + self.footer + t.footer_tail)
            for n, png in enumerate(self.pictures, start=1):
                # PNG is compressed already: stored as it is
                package.writestr(f"word/media/chart{n}.png", png, compress_type=zipfile.ZIP_STORED)

    # --- the document ----------------------------------------------------------------------------

    def title_page(self, b: dict, provenance: dict) -> None:
        la = b["la"]
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
        self.page_break()
        self.heading("Contents", level=1)
        self._append(f"<w:p>{_field(_CONTENTS_FIELD, 'Right-click and choose Update Field.')}</w:p>")
        self.page_break()
        self.footer = _run(f"Education outcomes in {la['display_name']}, {b['academic_year']}. Page ") + _field(
            "PAGE", "1"
        )

    def write(self, b: dict, provenance: dict, path: Path) -> None:
        self.title_page(b, provenance)
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
                self.picture(s["chart"]["png"])
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
        self.page_break()
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
        self.save(path)

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
    the sample's 153 papers). A part laid out as this module writes it is checked to be
    well-formed XML and read by pattern, as the HTML's numbers are (4 s); any other (a paper saved
    again by Word, say) is parsed into a tree (6 s). See _written_layout for when the pattern
    reads exactly what the tree would."""
    with zipfile.ZipFile(path) as package:
        info = package.getinfo("word/document.xml")
        if info.file_size > _DOCUMENT_XML_MAX_BYTES:
            raise ValueError(f"{path}: word/document.xml is {info.file_size:,} bytes, over {_DOCUMENT_XML_MAX_BYTES:,}")
        xml = package.read(info)
    found = _WRITTEN_CONTROL.findall(xml)
    if _written_layout(xml, len(found)):
        return [(_tag_parts(tag), html_unescape(b"".join(_TEXT.findall(body)).decode())) for tag, body in found]
    return _parsed_tagged_numbers(xml)


def _written_layout(xml: bytes, controls_found: int) -> bool:
    """Whether the pattern reads what an XML parser would: the part is well-formed UTF-8 XML
    (expat, in C, without building a tree), the main namespace is bound once, to the prefix w,
    nothing in it is a comment, CDATA, DOCTYPE or processing instruction, it refers to no entity
    but the five XML predefines, has no carriage return (XML reads CR LF as LF), and the pattern
    found every content control and every tag in it."""
    from xml.parsers import expat

    declaration = _DECLARATION.match(xml)
    if (
        b"\r" in xml
        or b"<!" in xml
        or xml.count(b"<?") != (1 if declaration else 0)
        or (declaration and (declaration.group(1) or b"UTF-8").upper() != b"UTF-8")
        or xml.count(_W_NAMESPACE) != 1
        or len(_ANY_W_BINDING.findall(xml)) != 1
        or _W_NAMESPACE_DECLARATION not in xml
        or _OTHER_ENTITY.search(xml)
        or len(_ANY_CONTROL.findall(xml)) != controls_found
        or len(_ANY_TAG.findall(xml)) != controls_found
    ):
        return False
    try:
        expat.ParserCreate().Parse(xml, True)
    except expat.ExpatError:
        return False  # the tree parser then raises with the line and column
    return True


# How _parts_xml writes a tagged number, and the text runs inside it.
_WRITTEN_CONTROL = re.compile(
    rb'<w:sdt><w:sdtPr><w:tag w:val="([^"\t\n]*)"/></w:sdtPr><w:sdtContent>(.*?)</w:sdtContent></w:sdt>', re.S
)
_TEXT = re.compile(rb"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")
_ANY_CONTROL = re.compile(rb"<w:sdt[\s/>]")
_ANY_TAG = re.compile(rb"<w:tag[\s/>]")
_W_NAMESPACE = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W_NAMESPACE_DECLARATION = b'xmlns:w="' + _W_NAMESPACE + b'"'
_ANY_W_BINDING = re.compile(rb"xmlns:w\s*=")
_DECLARATION = re.compile(rb"<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)[\"'][^>]*\?>|<\?xml[^>]*\?>")
_OTHER_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)")


def _tag_parts(escaped: bytes) -> list[str]:
    return list(_decoded_tag(escaped))


@functools.lru_cache(maxsize=8192)
def _decoded_tag(escaped: bytes) -> tuple[str, ...]:
    # a tag names a mart field, not an LA: the same few thousand recur in every paper
    return tuple(json.loads(html_unescape(escaped.decode())))


def _parsed_tagged_numbers(xml: bytes) -> list[tuple[list[str], str]]:
    from lxml import etree

    document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    found = []
    for sdt in document.iter(f"{_W}sdt"):
        tag = sdt.find(f"{_W}sdtPr/{_W}tag")
        if tag is not None:
            found.append((json.loads(tag.get(f"{_W}val")), "".join(t.text or "" for t in sdt.iter(f"{_W}t"))))
    return found
