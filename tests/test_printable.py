"""Names and cells from input files are shown safely: control characters never reach the
console or the run report, and Markdown briefings show them as text, never as links or HTML."""

from __future__ import annotations

import pytest

from orchestration.lib.printable import markdown_text, printable


@pytest.mark.parametrize(
    "text, shown",
    [
        ("ks2.csv line 3: \x1b[2J\x1b[31mred", "ks2.csv line 3: ?[2J?[31mred"),  # clear screen, colour
        ("bell\x07 and back\x08space", "bell? and back?space"),
        ("\x9b31m C1 CSI", "?31m C1 CSI"),
        ("abc\u202egnp.exe", "abc?gnp.exe"),  # right-to-left override
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("St. Hélens, King's Lynn", "St. Hélens, King's Lynn"),
    ],
)
def test_printable_replaces_control_characters(text, shown):
    assert printable(text) == shown


@pytest.mark.parametrize(
    "name",
    [
        "[click me](javascript:alert(1))",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "![x](https://evil.example/x.png)",
        "a | b | c",
        "**bold** _it_ `code` ~~gone~~",
        "<javascript:alert(1)>",
        "&lt;b&gt;entity",
    ],
)
def test_markdown_text_is_shown_as_written(name):
    escaped = markdown_text(name)
    # no unescaped Markdown or HTML character is left
    unescaped = [c for i, c in enumerate(escaped) if c in "[]<>|`*_~&" and (i == 0 or escaped[i - 1] != "\\")]
    assert unescaped == []
    # and removing the escapes gives back the text
    assert escaped.replace("\\", "") == name.replace("\\", "")


def test_a_markdown_briefing_escapes_names_from_files(tmp_path):
    """The Markdown template escapes every value it writes: an LA name and a source file name
    carrying Markdown and HTML come out as text."""
    from orchestration.lib.outputs.briefing.render import template_environment

    env = template_environment(markdown=True)
    template = env.from_string("# {{ name }}\n\nSource: {{ file }} | {{ value }}\n")
    text = template.render(name="<b>Evil</b> [x](javascript:alert(1))", file="a_b*.csv\x1b[2J", value=57)
    assert text == ("# \\<b\\>Evil\\</b\\> \\[x\\](javascript:alert(1))\n\nSource: a\\_b\\*.csv?\\[2J | 57\n")


@pytest.mark.parametrize(
    "name, shown",
    [
        ("Evil\n# Heading", "Evil # Heading"),
        ("a\r\n| b |", "a  \\| b \\|"),
        ("see www.evil.example", "see www\\.evil.example"),
        ("https://evil.example/x", "https:\\/\\/evil.example/x"),
        ("line\u2028break", "line break"),
    ],
)
def test_markdown_text_stays_on_one_line_and_links_nothing(name, shown):
    assert markdown_text(name) == shown
