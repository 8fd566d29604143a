import json
import shlex

from typer.testing import CliRunner

import pytest
from browser import check_page
from pagetext import Page

from mpt import demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo at toy size; returns the run folder and what it printed."""
    # the real demo (12 subjects, 40 epochs) is timed in bench/README.md; here only the wiring
    import contextlib
    import io

    mp = pytest.MonkeyPatch()
    mp.setattr(demo, "DEMO_SUBJECTS", 2)
    mp.setattr(demo, "DEMO_CLIPS_PER_SUBJECT", 5)
    mp.setattr(demo, "DEMO_MODEL", {**demo.DEMO_MODEL, "backbone": "vit_tiny_patch16_224"})
    mp.setattr(demo, "DEMO_TRAIN", {**demo.DEMO_TRAIN, "epochs": 1})
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            run = demo.run_demo(tmp_path_factory.mktemp("demo") / "demo", progress=False)
    finally:
        mp.undo()
    return run, buf.getvalue()


def test_demo_pipeline_end_to_end_at_toy_size(demo_run):
    run, out = demo_run
    res = json.loads((run / "results.json").read_text())
    assert res["folds"] == ["sub01", "sub02"] and res["clips"] == 10 and res["variant"] == "mpt"
    for name in ("summary.md", "confusion.png", "curves.png"):
        assert (run / name).is_file()
    assert "RANDOM weights" in out and "--weights vit_base_patch16_224.augreg_in21k.safetensors" in out
    assert f"UF1 {100 * res['uf1']:.2f} %" in out
    # the demo ends with mpt explain on a few held-out clips
    figures = sorted((run / "explain").glob("sub0*/*.png"))
    assert figures and all(str(p) in out for p in figures)
    assert (run / "explain" / "gradcam_by_class.png").is_file() and (run / "explain" / "tsne.png").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["img_size"] // 16 >= 4  # a patch grid of at least 4 x 4 for Grad-CAM


def test_demo_report_is_one_small_page_with_the_explanations(demo_run):
    run, out = demo_run
    page_path = run / "report.html"
    assert f"report: {page_path}" in out
    text = page_path.read_text()
    assert page_path.stat().st_size < 5_000_000 and "http://" not in text and "https://" not in text
    figures = sorted((run / "explain").glob("sub0*/*.png"))
    page = Page(text)
    assert f"Explained clips ({len(figures)})" in page.text
    assert len(page.srcs) == 1 + 2 + len(figures)  # curves, Grad-CAM by class, t-SNE, the clips


def test_demo_report_in_a_real_browser(demo_run):
    run, _ = demo_run
    res = json.loads((run / "results.json").read_text())
    check_page(run / "report.html", must_show=[f"{100 * res[k]:.2f}" for k in ("accuracy", "uf1", "uar")]
               + ["Explanations"])


def test_demo_prints_the_train_command_that_reproduces_its_run(demo_run):
    run, out = demo_run
    # the printed `mpt train` command trains the same run again from the demo's cache
    line = next(ln.strip() for ln in out.splitlines() if ln.strip().startswith("mpt train --cache"))
    assert "--motion-size 16" in line and "--img-size 64" in line and "--depth 2" in line
    from mpt.cli import app

    again = CliRunner().invoke(app, shlex.split(line)[1:] + ["--no-progress"])
    assert again.exit_code == 0, again.output
    first, second = (sorted((r / "folds").glob("*.json")) for r in (run, run.parent / "run-again"))
    assert [p.name for p in first] == [p.name for p in second] == ["sub01.json", "sub02.json"]
    for a, b in zip(first, second):
        a, b = json.loads(a.read_text()), json.loads(b.read_text())
        assert a["predictions"] == b["predictions"] and a["probabilities"] == b["probabilities"]
