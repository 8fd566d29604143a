"""The sweep's report.html (links to every run's page, the paper's figures, a plot per numeric axis)
and tables.tex (checked against the runs' results.json), read back and in a real browser."""

import json
import os
import statistics
from pathlib import Path

import pytest
from browser import check_page
from latex_check import check_fragment, compile_if_possible
from pagetext import Page

SPEC = """\
[data]
dataset = "casme2"
root = "{root}"
cache_dir = "{cache_dir}"

[preprocess]
size = 32
frames = 4
jobs = 1

[train]
backbone = "vit_tiny_patch16_224"
depth = 1
img_size = 32
epochs = 1
batch_size = 4
device = "cpu"
precision = "fp32"
seeds = [0, 1]

[[table]]
name = "Magnification"
header = "alpha"
reference = "made-up figures for the test"
rows = [
  {{ label = "0", alpha = 0, reference = {{ acc = 81.10, f1 = 80.54 }} }},
  {{ label = "20", alpha = 20, reference = {{ acc = 86.59, f1 = 86.01, params_m = 5.5 }} }},
  {{ label = "50", alpha = 50, skip = "not today", reference = {{ acc = 78.05, f1 = 77.56 }} }},
]

[[table]]
name = "Variants"
vary = {{ variant = ["adapter-only", "mpt"] }}
"""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    from mpt.sweep import load_spec, run_sweep
    from preprocess.synth import generate_synthetic

    tmp = tmp_path_factory.mktemp("sweep-report")
    generate_synthetic(tmp / "synth", subjects=3, clips_per_subject=4, seed=0, size=64, progress=False)
    spec = tmp / "spec.toml"
    spec.write_text(SPEC.format(root=tmp / "synth", cache_dir=tmp / "cache"))
    run_sweep(load_spec(spec), tmp / "out", progress=False, echo=lambda _: None)
    return load_spec(spec), tmp / "out"


def _by_config(out: Path) -> dict:
    """(variant, alpha) -> the results.json of its runs, read from each run's own files."""
    found = {}
    for run in sorted((out / "runs").iterdir()):
        c = json.loads((run / "config.json").read_text())
        found.setdefault((c["model"]["variant"], c["cache_settings"]["alpha"]), []).append(
            json.loads((run / "results.json").read_text()))
    return found


def test_every_run_is_linked_and_every_link_resolves(swept):
    _, out = swept
    page = Page((out / "report.html").read_text())
    for href in page.hrefs:
        if not href.startswith("#"):
            assert (out / href).exists(), href
    linked = {h for h in page.hrefs if h.endswith("/report.html")}
    assert linked == {f"runs/{p.name}/report.html" for p in (out / "runs").iterdir()}
    assert len(linked) == 6
    assert {"tables.md", "tables.tex", "results.json"} <= set(page.hrefs)


def test_page_tables_hold_our_figures_beside_the_papers(swept):
    _, out = swept
    page = Page((out / "report.html").read_text())
    runs = _by_config(out)
    rows = {r[0]: r for r in page.table_with("alpha")[1:]}
    assert set(rows) == {"0", "20", "50 (1)"}
    for label, alpha in (("0", 0.0), ("20", 20.0)):
        for col, key in ((2, "accuracy"), (3, "uf1"), (4, "uar")):
            values = [100 * r[key] for r in runs[("mpt", alpha)]]
            assert rows[label][col] == f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"
        assert rows[label][5] == "2/2" and rows[label][6] == "seed 0 seed 1"
    assert rows["0"][7:] == ["—", "81.10", "80.54"] and rows["20"][7:] == ["5.5", "86.59", "86.01"]
    assert rows["50 (1)"][2:6] == ["—", "—", "—", "0"] and "(1) 50: not run: not today" in page.text
    assert "86.59" in page.bold_cells and "86.01" in page.bold_cells and "81.10" not in page.bold_cells
    # the one numeric axis (alpha) has its plot; the variants table has none
    assert len(page.srcs) == 1 and page.srcs[0].startswith("data:image/png;base64,")


def test_tables_tex_matches_the_runs_results(swept):
    _, out = swept
    tex = (out / "tables.tex").read_text()
    rows = check_fragment(tex)
    runs = _by_config(out)
    header = rows[0]
    assert header == ["alpha", r"\#params (M)", r"Acc (\%)", r"UF1 (\%)", r"UAR (\%)", r"\#params (M)", r"Acc (\%)",
                      r"F1 (\%)"]
    by_label = {r[0]: r for r in rows[1:4]}
    for label, alpha in (("0", 0.0), ("20", 20.0)):
        for col, key in ((2, "accuracy"), (3, "uf1"), (4, "uar")):
            values = [100 * r[key] for r in runs[("mpt", alpha)]]
            cell = by_label[label][col].replace(r"\mathbf{", "").strip("$}")
            assert cell == f"{statistics.fmean(values):.2f} \\pm {statistics.stdev(values):.2f}"
    assert by_label["20"][6:] == [r"\textbf{86.59}", r"\textbf{86.01}"] and by_label["0"][6:] == ["81.10", "80.54"]
    assert by_label["50 (1)"][1:5] == ["--"] * 4
    assert r"\multicolumn{4}{c}{ours}" in tex and r"\cmidrule(lr){2-5}" in tex
    assert "LOSO, last epoch, pooled over 12 clips" in tex and "over 2 seeds" in tex
    variants = {r[0]: r for r in rows if r[0] in ("adapter-only", "mpt")}
    for name in ("adapter-only", "mpt"):
        values = [100 * r["uf1"] for r in runs[(name, 20.0)]]
        assert f"{statistics.fmean(values):.2f} \\pm {statistics.stdev(values):.2f}" in variants[name][3]
    compile_if_possible(tex)


def test_a_finished_run_without_a_page_gets_one_and_unfinished_runs_are_not_linked(swept, tmp_path):
    import shutil

    from mpt.sweep import plan_sweep, write_tables

    spec, reference = swept
    out = tmp_path / "out"
    shutil.copytree(reference, out, ignore=shutil.ignore_patterns("*.lock*"))
    runs = sorted((out / "runs").iterdir())
    (runs[0] / "report.html").unlink()
    (runs[1] / "results.json").unlink()  # this run is now unfinished
    write_tables(plan_sweep(spec, out))
    assert (runs[0] / "report.html").is_file()
    page = Page((out / "report.html").read_text())
    assert f"runs/{runs[0].name}/report.html" in page.hrefs
    assert f"runs/{runs[1].name}/report.html" not in page.hrefs and "(not finished)" in page.text
    assert "5 of 6 runs are finished" in page.text


def test_sweep_page_in_a_real_browser(swept):
    _, out = swept
    check_page(out / "report.html", must_show=["Magnification", "Variants", "86.59", "seed 0", "seed 1"])
