"""The briefing's SVG charts: well-formed XML, names escaped, lines broken where years are not
comparable, withheld years left out, the LA ringed at its rank, and every label inside the panel."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from orchestration.lib.outputs.briefing import svg
from orchestration.lib.outputs.briefing.charts import LaSeries, MeasureSeries, strip_colours

NS = {"s": "http://www.w3.org/2000/svg"}
NAN = math.nan


def series(**overrides) -> MeasureSeries:
    fields = dict(
        key=("ks2_rwm_expected", "all", 202324),
        title="Pupils meeting the expected standard in reading, writing and maths",
        periods=(201516, 201617, 201718, 201819, 202122, 202223, 202324),
        phase="ks2",
        unit="%",
        decimal_places=0,
        polarity="high",
        breaks=(202122,),
        marked_breaks=(202122,),
        y_range=(40.0, 80.0),
        strip_period=202324,
        strip_values=(75.0, 70.0, 66.0, 61.0, 55.0, 50.0),
        strip_bands=("A", "A", "B", "C", "D", "D"),
    )
    return MeasureSeries(**{**fields, **overrides})


def la(**overrides) -> LaSeries:
    fields = dict(
        la_name="St Helens",
        region_name="North West",
        value=(53.0, 57.0, 61.0, NAN, 59.0, 60.0, 61.0),  # 2018/19 withheld
        national=(53.0, 61.0, 64.0, 65.0, 59.0, 59.0, 61.0),
        regional=(52.0, 60.0, 63.0, 64.0, 58.0, 59.0, 60.0),
        sn_average=(51.0, 58.0, 62.0, 63.0, 56.0, 57.0, 58.0),
        rank=4,
        ranked_count=6,
        strip_value=61.0,
    )
    return LaSeries(**{**fields, **overrides})


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def texts(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//s:text", NS)


def test_the_trend_breaks_its_lines_at_a_series_break_and_skips_withheld_years():
    root = parse(svg.trend_svg(series(), la(), "Trend."))
    la_path = next(p for p in root.findall("s:path", NS) if p.get("stroke") == "#12436d")
    # 2015/16-2017/18, then (2018/19 withheld) a new line from 2021/22: two pen-downs, six points
    assert la_path.get("d").count("M") == 2 and la_path.get("d").count("L") == 4
    tips = [c.find("s:title", NS).text for c in root.findall("s:circle", NS) if c.get("fill") == "#12436d"]
    assert tips == [
        "St Helens, 2016: 53%",
        "St Helens, 2017: 57%",
        "St Helens, 2018: 61%",
        "St Helens, 2022: 59%",
        "St Helens, 2023: 60%",
        "St Helens, 2024: 61%",
    ]
    england = next(p for p in root.findall("s:path", NS) if p.get("stroke") == "#222222")
    assert england.get("stroke-dasharray") == "5 3" and england.get("d").count("M") == 2
    # the dotted rule between 2018/19 and 2021/22: both sides have figures
    rules = [line for line in root.findall("s:line", NS) if line.get("stroke-dasharray") == "2 3"]
    assert len(rules) == 1


def test_higher_values_are_drawn_higher_and_ticks_are_round():
    root = parse(svg.trend_svg(series(), la(), "Trend."))
    circles = [c for c in root.findall("s:circle", NS) if c.get("fill") == "#12436d"]
    ys = [float(c.get("cy")) for c in circles]
    assert ys[0] > ys[1] > ys[2]  # 53 < 57 < 61: SVG's y grows downwards
    ticks = [t.text for t in texts(root) if t.get("text-anchor") == "end"]
    assert ticks == ["40%", "50%", "60%", "70%", "80%"]


def test_the_strip_rings_the_la_at_its_rank_and_labels_it_inside_the_panel():
    root = parse(svg.strip_svg(series(), la(), strip_colours("lait"), "Strip."))
    ring = next(c for c in root.findall("s:circle", NS) if c.get("fill") == "none")
    dots = {p.get("stroke"): p.get("d").count("M") for p in root.findall("s:path", NS)}
    assert dots == {"#00703c": 2, "#b1b4b6": 1, "#dee0e2": 1, "#d4351c": 2}  # LAIT: A green, D red
    fourth = re.findall(
        r"M([\d.]+) ([\d.]+)h0", next(p.get("d") for p in root.findall("s:path", NS) if p.get("stroke") == "#dee0e2")
    )
    assert (float(ring.get("cx")), float(ring.get("cy"))) == tuple(float(v) for v in fourth[0])
    label = [t.text for t in texts(root) if t.get("fill") == "#12436d"]
    assert label == ["St Helens", "4th of 6, 61%"]
    assert [t.text for t in texts(root) if t.text.startswith("Band")] == ["Band A", "Band B", "Band C", "Band D"]


@pytest.mark.parametrize("rank, value", [(1, 75.0), (6, 50.0)])
def test_the_label_stays_inside_the_panel_at_either_end(rank, value):
    name = "Westmorland and Furness"
    root = parse(svg.strip_svg(series(), la(la_name=name, rank=rank, strip_value=value), strip_colours("lait"), "S."))
    for text in (t for t in texts(root) if t.get("fill") == "#12436d"):
        x, width = float(text.get("x")), len(text.text) * 11 * 0.58
        left, right = (x, x + width) if text.get("text-anchor") == "start" else (x - width, x)
        assert left >= 0 and right <= svg.WIDTH, (text.text, left, right)


def test_an_la_without_a_published_rank_is_not_ringed():
    root = parse(svg.strip_svg(series(), la(rank=None, strip_value=None), strip_colours("lait"), "S."))
    assert not [c for c in root.findall("s:circle", NS) if c.get("fill") == "none"]


def test_names_from_input_files_are_escaped():
    hostile = '<script>alert(1)</script> & "x" \x07\x1b'
    trend = svg.trend_svg(series(title=hostile), la(la_name=hostile, region_name=hostile), hostile)
    strip = svg.strip_svg(series(), la(la_name=hostile), strip_colours("lait"), hostile)
    for markup in (trend, strip, svg.standalone_svg(trend, strip)):
        assert "<script" not in markup
        root = parse(markup.split("?>", 1)[-1])  # well-formed, hostile text included
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # read back as the text it was, characters XML cannot hold shown as "?"
    assert parse(trend).get("aria-label") == hostile.replace("\x07", "?").replace("\x1b", "?")


def test_the_markdown_file_places_both_panels_side_by_side():
    trend = svg.trend_svg(series(), la(), "Trend.")
    strip = svg.strip_svg(series(), la(), strip_colours("lait"), "Strip.")
    root = parse(svg.standalone_svg(trend, strip).split("?>", 1)[1])
    panels = root.findall("s:svg", NS)
    assert [p.get("class") for p in panels] == ["chart-trend", "chart-strip"]
    assert [p.get("x") for p in panels] == ["0", str(svg.WIDTH + 20)]
    assert root.get("viewBox") == f"0 0 {2 * svg.WIDTH + 20} {svg.HEIGHT}"


def test_word_runs_carry_hostile_text_as_text():
    """The Word paper's paragraphs are written as WordprocessingML text: markup and characters
    XML cannot hold, from names in input files, come back as text (or "?"), never as elements."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls, qn

    from orchestration.lib.outputs.briefing import word
    from orchestration.lib.outputs.briefing.sentences import Num, Sentence

    hostile = '</w:t></w:r><w:r><w:t>injected & "quoted" \x07'
    number = Num("61%", "value", "ks2_<rwm>", "all", 202324)
    paragraph = parse_xml(f"<w:p {nsdecls('w')}>{word._parts_xml([Sentence([hostile, number])], white=True)}</w:p>")
    texts = [t.text for t in paragraph.iter(qn("w:t"))]
    assert texts == ['</w:t></w:r><w:r><w:t>injected & "quoted" ?', "61%"]
    tag = paragraph.find(f".//{qn('w:sdt')}/{qn('w:sdtPr')}/{qn('w:tag')}").get(qn("w:val"))
    assert tag == '["num", "value", "ks2_<rwm>", "all", "202324"]'
    assert all(r.find(f"{qn('w:rPr')}/{qn('w:color')}") is not None for r in paragraph.iter(qn("w:r")))
    # a rich-text control: LibreOffice shows a plain-text one's number in black at the body size
    assert paragraph.find(f".//{qn('w:sdtPr')}/{qn('w:text')}") is None


def test_a_word_paper_with_hostile_names_is_a_well_formed_package(tmp_path):
    """The whole paper is written as text into a template package: a name with markup, quotes and
    a character XML cannot hold leaves every part well-formed, comes back as text in the title, the
    footer and the tables, and the chart is the PNG it was given, 17 cm wide."""
    import io
    import zipfile

    import docx
    from lxml import etree
    from PIL import Image

    from orchestration.lib.outputs.briefing import word

    hostile = '</w:t></w:r><w:r><w:t>Inj & "q" \x07'
    shown = hostile.replace("\x07", "?")
    buffer = io.BytesIO()
    Image.new("RGB", (760, 250), "white").save(buffer, format="PNG")
    png = buffer.getvalue()
    row = {"label": hostile, "year": "2024/25", "value": "61%", "band": "A", "national_value": "59%"}
    briefing = {
        "la": {"display_name": hostile, "region_name": hostile, "old_la_code": "999", "la_code": None},
        "academic_year": "2024/25",
        "glance": [{"section": {"title": hostile}, "row": row}],
        "sections": [
            {
                "title": hostile,
                "period_label": "2024/25",
                "paragraphs": [{"title": hostile, "sentences": [hostile]}],
                "chart": {"png": png, "title": hostile},
                "region_name": hostile,
                "table": [row],
                "sources": [{"file": hostile, "sha256": None}],
            }
        ],
    }
    path = tmp_path / "paper.docx"
    word.write_word(briefing, {"publication_id": hostile, "generated": "now"}, path, {"A": "#00703c"})
    with zipfile.ZipFile(path) as package:
        parts = [name for name in package.namelist() if name.endswith((".xml", ".rels"))]
        for name in parts:
            etree.fromstring(package.read(name))  # a broken part raises here
    assert "word/document.xml" in parts and "word/_rels/document.xml.rels" in parts
    paper = docx.Document(str(path))
    assert paper.paragraphs[1].text == f"Education outcomes in {shown}"
    assert paper.sections[0].footer.paragraphs[0].text.startswith(f"Education outcomes in {shown}, 2024/25. Page ")
    assert paper.tables[0].rows[1].cells[0].text == shown
    assert [p.text for p in paper.paragraphs if p.text.endswith(": sha256 unknown")] == [f"{shown}: sha256 unknown"]
    [chart] = paper.inline_shapes
    assert chart.width == docx.shared.Cm(17) and chart.height == round(docx.shared.Cm(17) * 250 / 760)
    assert paper.part.related_parts[chart._inline.graphic.graphicData.pic.blipFill.blip.embed].blob == png
    settings = [child.tag.rsplit("}", 1)[1] for child in paper.settings.element]
    assert settings.index("updateFields") < settings.index("compat")  # where the schema orders it
