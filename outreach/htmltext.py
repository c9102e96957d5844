"""HTML mail bodies as plain text, with quoted blocks kept recognisable.

Graph returns bodies as HTML. Reply parsing and the wording rules work on text, so
block elements become line breaks and a ``<blockquote>`` becomes ``>``-quoted lines,
the form reply parsers know.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr", "blockquote"}
_SKIP = {"style", "script", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.quote = 0
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "hr":
            self.out.append("\n________________________________\n")
        elif tag in _BLOCKS:
            self.out.append("\n")
        if tag == "blockquote":
            self.quote += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.quote:
            data = data.replace("\n", "\n" + "> " * self.quote)
            if not self.out or self.out[-1].endswith("\n"):
                data = "> " * self.quote + data
        self.out.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML body: blocks on their own lines, blockquotes ``>``-quoted."""
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except AssertionError:  # malformed markup: fall back to stripping tags
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
