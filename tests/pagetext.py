"""Read a report page back (stdlib html.parser): its tables as rows of cell texts, links, image sources, text."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: set[str] = set()
        self.bold_cells: list[str] = []  # texts of cells with class "best"
        self._text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._cell_best = False
        self.feed(text)
        self.text = " ".join("".join(self._text).split())

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
            self._cell_best = "best" in (attrs.get("class") or "").split()
        elif tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        elif tag in ("img", "script", "link", "iframe", "source") and ("src" in attrs or "href" in attrs):
            self.srcs.append(attrs.get("src") or attrs.get("href"))
        if tag in ("p", "div", "tr", "h1", "h2", "h3", "figcaption", "li", "br", "summary"):
            self._text.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self._row.append(text)
            if self._cell_best:
                self.bold_cells.append(text)
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None
        if tag in ("td", "th"):
            self._text.append(" ")

    def handle_data(self, data):
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table_with(self, first_header: str) -> list[list[str]]:
        """The first table whose header row starts with ``first_header``."""
        for t in self.tables:
            if t and t[0] and t[0][0] == first_header:
                return t
        raise AssertionError(f"no table headed {first_header!r}: {[t[0] for t in self.tables if t]}")
