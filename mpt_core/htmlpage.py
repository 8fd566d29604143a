"""Self-contained HTML pages: sections of tables, key-value blocks and embedded PNG figures.

Every report page (a run, a sweep, a spotting evaluation) is built from these pieces, so each one is
a single file that opens from disk in any browser: the style is inline, figures are ``data:`` URIs,
there is no script, and a Content-Security-Policy forbids loading anything else (a page that tried
would show a console error, which the browser test catches). Links go to relative paths or
``#anchors`` only. A dark-on-light print style comes with every page.

Text is escaped unless it is ``Html`` (markup built by these helpers): names from annotation
tables, videos and run folders are data and never become markup.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from urllib.parse import quote, urlsplit

from .fileio import atomic_write


class Html(str):
    """Markup that is inserted as is (everything else is escaped). Joining it with ``+`` escapes the
    plain text side and stays markup."""

    def __add__(self, other):
        return Html(str.__add__(self, esc(other)))

    def __radd__(self, other):
        return Html(str.__add__(esc(other), self))


def esc(value) -> Html:
    return value if isinstance(value, Html) else Html(html.escape("" if value is None else str(value)))


def join(parts) -> Html:
    return Html("".join(esc(p) for p in parts))


def tag(name: str, *children, **attrs) -> Html:
    """``<name attrs>children</name>``; attribute ``cls`` is ``class``; None / False attributes are left out."""
    text = "".join(f' {"class" if k == "cls" else k.replace("_", "-")}' + ("" if v is True else f'="{html.escape(str(v))}"')
                   for k, v in attrs.items() if v is not None and v is not False)
    return Html(f"<{name}{text}>{join(children)}</{name}>")


def relative_href(path: str) -> str:
    """A link target inside the report's folder tree: a relative path (quoted) or ``#anchor``."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or path.startswith(("/", "\\")):
        raise ValueError(f"{path!r}: a report links only to relative paths")
    return path if path.startswith("#") else quote(path, safe="/")


def link(href: str, text) -> Html:
    return tag("a", text, href=relative_href(href))


def paragraph(*children, cls: str | None = None) -> Html:
    return tag("p", *children, cls=cls)


def section(title: str, *children, anchor: str | None = None) -> Html:
    return tag("section", tag("h2", title), *children, id=anchor)


def details(summary: str, *children, open: bool = False) -> Html:
    """A collapsible block: closed by default, readable without JavaScript."""
    return tag("details", tag("summary", summary), *children, open=open)


def cell(value, *, numeric: bool | None = None, cls: str | None = None, style: str | None = None) -> Html:
    if numeric is None:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    classes = " ".join(c for c in ("num" if numeric else None, cls) if c) or None
    return tag("td", value, cls=classes, style=style)


def table(header, rows, *, caption=None, numeric_columns=(), cls: str | None = None) -> Html:
    """A table; ``rows`` hold text, numbers, ``Html`` or ready ``<td>`` cells (from ``cell``)."""
    numeric_columns = set(numeric_columns)
    head = tag("tr", *(tag("th", h, cls="num" if i in numeric_columns else None) for i, h in enumerate(header)))
    body = []
    for row in rows:
        cells = [c if isinstance(c, Html) and c.startswith("<td") else cell(c, numeric=(i in numeric_columns) or None)
                 for i, c in enumerate(row)]
        body.append(tag("tr", *cells))
    return tag("div", tag("table", tag("caption", caption) if caption else "", tag("thead", head), tag("tbody", *body),
                          cls=cls), cls="wide")  # a wide table scrolls, the page does not


def key_values(items: dict, *, caption=None) -> Html:
    """A two-column table of settings (nested dicts become ``outer.inner`` keys)."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = value

    walk("", items)
    rows = [(tag("code", k), tag("code", "—" if v is None else v)) for k, v in flat.items()]
    return table(["setting", "value"], rows, caption=caption, cls="settings")


def metric_cards(items) -> Html:
    """The headline: big figures, each ``(label, value text, note)``."""
    return tag("div", *(tag("div", tag("div", label, cls="label"), tag("div", value, cls="value"),
                              tag("div", note, cls="note"), cls="card") for label, value, note in items), cls="cards")


def png_data_uri(png: bytes) -> str:
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG image")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def compact_png(png: bytes) -> bytes:
    """The PNG with its colours reduced to a 256-entry palette, when that is smaller (a matplotlib
    figure shrinks about threefold and reads the same); the original where Pillow cannot do it."""
    try:
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB")
        buf = io.BytesIO()
        image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, "PNG", optimize=True)
    except (ImportError, OSError, ValueError):
        return png
    return buf.getvalue() if buf.tell() < len(png) else png


def figure(png: bytes, caption, *, alt: str | None = None, width: int | None = None, compact: bool = False) -> Html:
    """An embedded PNG with its caption; ``width`` caps the displayed width in CSS pixels; ``compact``
    embeds a palette copy (``compact_png``) to keep pages of many figures small."""
    png_data_uri(png)  # a PNG, or an error
    if compact:
        png = compact_png(png)
    img = Html(f'<img src="{png_data_uri(png)}" alt="{html.escape(str(alt or caption))}"'
               + (f' style="max-width:min(100%,{int(width)}px)"' if width else "") + ">")
    return tag("figure", img, tag("figcaption", caption))


def gallery(figures) -> Html:
    return tag("div", *figures, cls="gallery")


def notice(*children) -> Html:
    """A boxed remark the reader must not miss (an unfinished run, a skipped row)."""
    return tag("div", *children, cls="notice")


STYLE = """
:root{--fg:#1d2430;--muted:#5b6575;--line:#d8dde6;--bg:#fff;--band:#f4f6f9;--accent:#2f5d9f}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:0 0 10px;border-bottom:1px solid var(--line);
padding-bottom:4px}
section{margin:28px 0}.subtitle{color:var(--muted);margin:0 0 12px}
nav{font-size:.9em;color:var(--muted);margin:8px 0 0}nav a{margin-right:12px}
a{color:var(--accent)}code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
table{border-collapse:collapse;margin:8px 0 14px;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;color:var(--muted);font-size:.9em;padding-bottom:4px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:var(--band);font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
tbody tr:hover{background:#fafbfd}td.best{font-weight:700}td.ref{color:var(--muted)}
table.settings td{padding:2px 10px}.wide{max-width:100%;overflow-x:auto}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 16px;min-width:170px;background:var(--band)}
.card .label{color:var(--muted);font-size:.85em}.card .value{font-size:1.9em;font-weight:650}
.card .note{color:var(--muted);font-size:.82em}
figure{margin:10px 0 18px}figure img{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption{color:var(--muted);font-size:.88em;margin-top:4px}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:14px}
.notice{border-left:4px solid #c9822b;background:#fdf6ec;padding:8px 14px;margin:12px 0}
details{margin:8px 0}summary{cursor:pointer;font-weight:600}
footer{color:var(--muted);font-size:.85em;margin-top:40px;border-top:1px solid var(--line);padding-top:8px}
@media print{
 :root{--fg:#000;--muted:#333;--line:#999;--band:#fff}
 body{background:#fff;color:#000;font-size:11pt}main{max-width:none;padding:0}
 nav{display:none}a{color:#000;text-decoration:none}
 section,figure,table,.card{break-inside:avoid}.wide{overflow:visible}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

# The browser refuses to load anything but the page itself and its data: images.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def page(title: str, *children, subtitle=None, nav: list[tuple[str, str]] | None = None, footer=None) -> str:
    """The whole document. ``nav``: (anchor, text) pairs linking to the page's sections."""
    top = [tag("h1", title)]
    if subtitle:
        top.append(paragraph(subtitle, cls="subtitle"))
    if nav:
        top.append(tag("nav", *(link(f"#{a}", t) for a, t in nav)))
    body = tag("main", tag("header", *top), *children, tag("footer", footer) if footer else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta name=\"color-scheme\" content=\"light\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>{body}</body></html>\n")


def write_page(path, text: str) -> Path:
    path = Path(path)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path
