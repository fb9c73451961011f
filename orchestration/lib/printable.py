"""Text from inputs made safe for where it is shown: file, LA and school names and cell values
reach the console, the run report and the Markdown briefings, and any of them may carry control
characters (a terminal escape can rewrite the screen) or Markdown and HTML (a link to
`javascript:`, a script tag)."""

from __future__ import annotations

import re

# C0 and C1 control characters and DEL, except tab and line feed; also Unicode's bidirectional
# overrides, which make a line read differently from what it holds.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What can make text more than text within a line of CommonMark and GitHub's tables: links and
# images need brackets, HTML and autolinks angle brackets, entities '&', table cells '|', code
# and emphasis '`', '*' and '_'. Parentheses and the rest stay as they are (readable raw).
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|&~])")


# What XML 1.0 cannot carry at all (SVG charts, the Word paper): shown as '?'.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` as XML character data or a double-quoted attribute value: markup escaped, and
    characters XML cannot hold replaced, so a name from an input file never breaks the document."""
    return (
        _NOT_XML.sub("?", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# A web address written unescaped (HTML href, Markdown link target): https, a host, then only
# characters that cannot end or break out of a link (no spaces, quotes, <>, parentheses or user:pass@).
PLAIN_HTTPS = re.compile(
    r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/%+-]*)?(?:\?[A-Za-z0-9._~%=&+/-]*)?(?:#[A-Za-z0-9._~%/-]*)?"
)
URL_MAX_CHARS = 500


def plain_https(url: object) -> bool:
    return isinstance(url, str) and len(url) <= URL_MAX_CHARS and bool(PLAIN_HTTPS.fullmatch(url))


def printable(text: str) -> str:
    """``text`` without control characters (each shown as '?', so the reader sees something was there)."""
    return _CONTROL.sub("?", text)


# Line breaks would end a table row or start a heading; GitHub links bare web addresses.
_LINE_BREAK = re.compile("[\r\n\u2028\u2029\x85]")
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown on one line: line breaks become spaces, control characters
    are replaced, every Markdown and HTML character is backslash-escaped and web addresses are
    broken (`http:\\/\\/`, `www\\.`), so it renders as written and never as a link, an image,
    HTML, a heading or a table cell boundary."""
    one_line = _LINE_BREAK.sub(" ", text)
    escaped = _MARKDOWN.sub(r"\\\1", printable(one_line))
    return _AUTOLINK.sub(lambda m: m.group(1).replace("/", "\\/").replace(".", "\\."), escaped)
