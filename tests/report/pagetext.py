"""Reading the report's pages as a reader sees them (loaded by path from the tests)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: A raw key name: lower-case words joined by underscores (``mc_peak_heat_flux``), not a file name
#: (``mars_moons_integrated.bsp``) nor part of a URL's path (``.../article_733``).
RAW_KEY = re.compile(r"(?<![\w./-])[a-z][a-z0-9]*(?:_[A-Za-z0-9]+)+\b(?!\.[A-Za-z0-9])")
HIDDEN = {"code", "pre", "script", "style", "title"}


class VisibleText(HTMLParser):
    """The text a reader sees: outside <code>, <pre>, <script>, <style> (and the <title>), plus
    ``alt`` texts of images; also every tag, href/src and id met. ``text``: the pieces joined by
    spaces (table cells stay apart), whitespace collapsed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.chunks: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag in HIDDEN:
            self.depth += 1
        for k in ("href", "src"):
            if a.get(k) is not None:
                self.links.append(a[k])
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "img" and a.get("alt"):
            self.chunks.append(" " + a["alt"] + " ")

    def handle_endtag(self, tag):
        if tag in HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


def read(html: str) -> VisibleText:
    p = VisibleText()
    p.feed(html)
    p.close()
    return p


def raw_keys(html: str) -> list[str]:
    """The raw key names in the visible text of a page."""
    return sorted(set(RAW_KEY.findall(read(html).text)))
