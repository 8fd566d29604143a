"""The HTML page pieces (mpt_core/htmlpage.py), and the browser check itself: it must catch what it guards."""

import pytest
from browser import blank_fraction, require_chromium, visit
from pagetext import Page

from mpt_core import htmlpage as hp

PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5f2a96f0000000049454e44ae426082")


def test_text_is_escaped_and_markup_is_not():
    text = hp.page("a <b> & c", hp.section("s", hp.paragraph("<script>x</script>"), hp.table(["h"], [["<i>"]])))
    assert "<script>x" not in text and "&lt;script&gt;x&lt;/script&gt;" in text and "&lt;i&gt;" in text
    assert "<title>a &lt;b&gt; &amp; c</title>" in text


@pytest.mark.parametrize("href", ["http://example.com/x", "https://x/y", "//host/x", "/etc/passwd", "file:///tmp/x",
                                  "javascript:alert(1)"])
def test_links_are_relative_only(href):
    with pytest.raises(ValueError, match="relative"):
        hp.link(href, "x")


def test_relative_links_are_quoted():
    assert Page(hp.link("runs/a b#1/report.html", "r")).hrefs == ["runs/a%20b%231/report.html"]
    assert Page(hp.link("#settings", "s")).hrefs == ["#settings"]


def test_figures_are_embedded_pngs_only():
    fig = hp.figure(PNG_1PX, "one pixel")
    assert Page(fig).srcs == ["data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAIBpfKpbwAAAABJRU5ErkJggg=="]
    with pytest.raises(ValueError, match="not a PNG"):
        hp.figure(b"GIF89a....", "x")


def test_page_forbids_loading_anything_by_policy():
    text = hp.page("t")
    assert "default-src 'none'; img-src data:;" in text and "<script" not in text


def test_the_browser_check_catches_requests_errors_and_blank_pages(tmp_path):
    """The negative control: a page that fetches, logs an error and throws is seen doing all three."""
    require_chromium()
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><p>some text 12.34</p><img src="http://example.invalid/a.png">'
                   '<link rel="stylesheet" href="https://example.invalid/s.css">'
                   '<script>console.error("boom"); throw new Error("thrown")</script></body></html>')
    v = visit(bad)
    assert sorted(v.outside_requests) == ["http://example.invalid/a.png", "https://example.invalid/s.css"]
    assert any("boom" in e for e in v.errors) and any("thrown" in e for e in v.errors)
    assert "some text 12.34" in v.text
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    assert blank_fraction(visit(blank).screenshot) == 1.0
    # the same fetch under the pages' policy is refused, and the refusal is an error the check sees
    guarded = tmp_path / "guarded.html"
    guarded.write_text(hp.page("t", hp.Html('<img src="http://example.invalid/a.png">')))
    assert any("Content Security Policy" in e or "Content-Security-Policy" in e for e in visit(guarded).errors)


def test_latex_rows_escape_names_and_bold_ties_as_printed():
    from latex_check import check_fragment

    from train.latex import Stat, booktabs_table

    tex = booktabs_table(["row", "Acc (%)", "F1 (%)"],
                         [["a_b & 50% #1", Stat(80.004, 1.0), Stat(70.0)], ["c", Stat(79.996, 2.0), None]],
                         caption="t", best_columns=(1, 2))
    rows = check_fragment(tex)
    assert rows[1] == [r"a\_b \& 50\% \#1", r"$\mathbf{80.00 \pm 1.00}$", r"\textbf{70.00}"]
    assert rows[2] == ["c", r"$\mathbf{80.00 \pm 2.00}$", "--"]  # 79.996 prints as 80.00: a tie
    with pytest.raises(ValueError, match="one value per column"):
        booktabs_table(["a", "b"], [["x"]], caption="t")


def test_compact_figures_are_smaller_palette_pngs_of_the_same_size():
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    small = hp.compact_png(buf.getvalue())
    image = Image.open(io.BytesIO(small))
    assert len(small) < len(buf.getvalue()) and image.mode == "P" and image.size == (80, 60)
    assert hp.compact_png(PNG_1PX) == PNG_1PX  # never larger than the original


def test_joining_markup_keeps_it_markup_and_escapes_text():
    joined = hp.esc("a <b> ") + hp.link("x.png", "(file)") + " & more"
    assert isinstance(joined, hp.Html) and joined == 'a &lt;b&gt; <a href="x.png">(file)</a> &amp; more'
    assert "<c>" + hp.Html("<br>") == "&lt;c&gt;<br>"
