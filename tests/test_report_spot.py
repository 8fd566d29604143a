"""The spotting evaluation page (mpt/spot_report.py) on a hand-made `mpt spot --eval` object."""

import io

from browser import check_page
from pagetext import Page

from mpt.spot_report import spot_report_html


def counts(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


EVALUATION = {
    "micro": counts(3, 5, 4), "macro": counts(10, 7, 2), "overall": counts(13, 12, 6),
    "subjects": {
        "s15": {"micro": counts(1, 2, 1), "macro": counts(6, 3, 1), "overall": counts(7, 5, 2)},
        "<s16>": {"micro": counts(2, 3, 3), "macro": counts(4, 4, 1), "overall": counts(6, 7, 4)},
    },
}


def _png(colour) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (60, 20), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_spot_page_holds_the_evaluation(tmp_path):
    plots = {"s15_0101": _png("red"), "s16_0102": _png("green")}
    path = spot_report_html(EVALUATION, plots, tmp_path / "spot")
    assert path == tmp_path / "spot" / "report.html"
    text = path.read_text()
    page = Page(text)
    rows = {r[0]: r[1:] for r in page.table_with("type")[1:]}
    for key, name in (("micro", "micro-expressions"), ("macro", "macro-expressions"), ("overall", "overall")):
        c = EVALUATION[key]
        assert rows[name] == [str(c["tp"]), str(c["fp"]), str(c["fn"]), f"{c['precision']:.4f}",
                              f"{c['recall']:.4f}", f"{c['f1']:.4f}"]
    subjects = {r[0]: r[1:] for r in page.table_with("subject")[1:]}
    assert list(subjects) == ["s15", "<s16>"] and "&lt;s16&gt;" in text
    assert subjects["s15"][:2] == ["1 / 2 / 1", f"{EVALUATION['subjects']['s15']['micro']['f1']:.4f}"]
    assert len(page.srcs) == 1 + 2  # the per-subject figure and the two video plots
    assert "s15_0101" in page.text and "s16_0102" in page.text
    assert "http://" not in text and "https://" not in text


def test_spot_page_in_a_real_browser(tmp_path):
    path = spot_report_html(EVALUATION, {"s15_0101": _png("red")}, tmp_path / "spot.html")
    assert path == tmp_path / "spot.html"
    check_page(path, must_show=["micro-expressions", f"{EVALUATION['overall']['f1']:.4f}", "s15_0101"])
