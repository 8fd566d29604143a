"""A run's report.html, `mpt report` (bad input, no finished fold, --latex), read back and in a real browser."""

import io
import json
import shutil
import statistics

import numpy as np
import pytest
from browser import check_page
from latex_check import check_fragment, compile_if_possible
from pagetext import Page
from test_train_helpers import CLASSES, write_cache
from typer.testing import CliRunner

from mpt.cli import app
from train.loop import run_loso
from train.report import write_report
from train.settings import TrainSettings


def _model(**kw):
    from mpt_core.model import ModelSettings

    return ModelSettings(**{"backbone": "vit_tiny_patch16_224", "depth": 1, "img_size": 32, **kw})


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two seeds of one configuration and one other variant, 2 subjects x 5 clips, 2 epochs."""
    tmp = tmp_path_factory.mktemp("report")
    cache = write_cache(tmp, subjects=("sub01", "sub02"), per_subject=5)
    out = {}
    for name, seed, variant in (("a", 0, "mpt"), ("b", 1, "mpt"), ("c", 0, "adapter-only")):
        run = run_loso(cache, train_settings=TrainSettings(epochs=2, batch_size=4, device="cpu", seed=seed),
                       model_settings=_model(variant=variant), out=tmp / name, progress=False)
        write_report(run)
        out[name] = run
    return out


def _png(colour) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
    return buf.getvalue()


def _results(run):
    return json.loads((run / "results.json").read_text())


def test_page_shows_the_runs_figures(runs):
    run = runs["a"]
    text = (run / "report.html").read_text()
    res = _results(run)
    page = Page(text)
    for key in ("accuracy", "uf1", "uar"):
        assert f"{100 * res[key]:.2f}" in page.text
    assert f"pooled ({res['clips']} clips)" in page.text and "after the last epoch" in page.text
    per_class = page.table_with("class")
    assert [r[0] for r in per_class[1:]] == CLASSES
    for row in per_class[1:]:
        v = res["per_class"][row[0]]
        assert row[1:] == [str(v["support"]), f"{100 * v['precision']:.1f}", f"{100 * v['recall']:.1f}",
                           f"{100 * v['f1']:.1f}"]
    confusion = page.table_with("true (clips) \\ predicted")
    assert [[int(c) for c in r[1:]] for r in confusion[1:]] == res["confusion"]
    folds = page.table_with("held-out subject")
    for row, subject in zip(folds[1:], ("sub01", "sub02")):
        rec = json.loads((run / "folds" / f"{subject}.json").read_text())
        assert row[0] == subject and row[1] == str(len(rec["labels"])) and row[4] == f"{rec['loss_curve'][-1]:.4f}"
    config = json.loads((run / "config.json").read_text())
    settings = page.table_with("setting")
    values = {r[0]: r[1] for r in settings[1:]}
    assert values["cache key"] == config["cache_key"] and "RANDOM" in values["backbone weights"]
    assert values["versions.torch"] == config["versions"]["torch"] and "versions.timm" in values
    # one file: figures embedded, nothing to fetch, no script
    assert all(src.startswith("data:image/png;base64,") for src in page.srcs) and page.srcs
    assert "http://" not in text and "https://" not in text and "script" not in page.tags
    assert (run / "report.html").stat().st_size < 5_000_000


def test_chance_levels_are_those_of_a_uniform_guess():
    from train.report_html import chance_levels

    supports = [6, 3, 1]
    # a uniform guess at its expected counts: row i spreads n_i / 3 over the columns
    cm = np.outer(supports, np.ones(3)) / 3
    tp, fp, fn = np.diag(cm), cm.sum(0) - np.diag(cm), cm.sum(1) - np.diag(cm)
    got = chance_levels(supports)
    assert got["uar"] == pytest.approx(np.mean(tp / (tp + fn))) == pytest.approx(1 / 3)
    assert got["uf1"] == pytest.approx(np.mean(2 * tp / (2 * tp + fp + fn)))
    assert got["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert got["majority_accuracy"] == pytest.approx(0.6) and got["majority_class"] == 0


def test_explain_gallery_embeds_figures_and_links_the_rest(runs, tmp_path):
    from train.report import refresh_page
    from train.report_html import MAX_GALLERY

    run = tmp_path / "run"
    shutil.copytree(runs["a"], run)
    (run / "explain" / "sub01").mkdir(parents=True)
    (run / "explain" / "gradcam_by_class.png").write_bytes(_png("red"))
    (run / "explain" / "tsne.png").write_bytes(_png("blue"))
    for i in range(MAX_GALLERY + 2):
        (run / "explain" / "sub01" / f"EP{i:02d}_01.png").write_bytes(_png((i, 100, 100)))
    page = Page(refresh_page(run).read_text())
    embedded = len([s for s in page.srcs if s.startswith("data:image/png")])
    assert embedded == 1 + 2 + MAX_GALLERY  # curves, the two run figures, the capped gallery
    # every clip figure is linked to its file: the embedded ones from their caption, the rest in a list
    assert {f"explain/sub01/EP{i:02d}_01.png" for i in range(MAX_GALLERY + 2)} <= set(page.hrefs)
    assert {"explain/gradcam_by_class.png", "explain/tsne.png"} <= set(page.hrefs)
    assert f"Explained clips ({MAX_GALLERY + 2})" in page.text


def test_names_from_data_are_escaped(runs):
    from train.runs import RunFolder
    from train.report import results
    from train.report_html import run_page

    folder = RunFolder(runs["a"])
    config, folds = folder.config(), folder.fold_records()
    folds[0] = {**folds[0], "subject": "<img src=x onerror=alert(1)>"}
    text = run_page(runs["a"], config, folds, results(config, folds))
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path}: not a run folder (no config.json)"]


def test_report_on_a_run_with_no_finished_fold(runs, tmp_path):
    run = tmp_path / "fresh"
    (run / "folds").mkdir(parents=True)
    shutil.copy(runs["a"] / "config.json", run / "config.json")
    (run / "folds" / "sub01.partial.pt").write_bytes(b"")
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.stderr
    assert "no finished fold yet" in result.output and str(run / "report.html") in result.output
    page = Page((run / "report.html").read_text())
    assert "No finished fold yet" in page.text and "sub01.partial.pt" in page.text
    assert not (run / "results.json").exists()
    latex = CliRunner().invoke(app, ["report", str(run), "--latex"])
    assert latex.exit_code == 1 and "no finished fold" in latex.stderr


def test_partial_run_says_which_clips_it_covers(runs, tmp_path):
    run = tmp_path / "half"
    (run / "folds").mkdir(parents=True)
    shutil.copy(runs["a"] / "config.json", run / "config.json")
    shutil.copy(runs["a"] / "folds" / "sub01.json", run / "folds" / "sub01.json")
    write_report(run)
    assert "1 finished fold(s) cover 5 of the cache's 10 clips" in Page((run / "report.html").read_text()).text


def test_report_latex_groups_seeds_and_bolds_the_best(runs):
    result = CliRunner().invoke(app, ["report", str(runs["a"]), str(runs["b"]), str(runs["c"]), "--latex"])
    assert result.exit_code == 0, result.stderr
    tex = result.output
    rows = check_fragment(tex)
    assert len(rows) == 1 + 2  # the header, then mpt (seeds 0 and 1) and adapter-only
    header, mpt_row, adapter_row = rows
    assert header[:5] == ["Method", r"\#params (M)", r"Acc (\%)", r"UF1 (\%)", r"UAR (\%)"]
    assert mpt_row[0] == "mpt" and adapter_row[0] == "adapter-only" and mpt_row[5] == "2" and adapter_row[5] == "1"
    a, b, c = (_results(runs[k]) for k in "abc")
    means = {}
    for col, key in ((2, "accuracy"), (3, "uf1"), (4, "uar")):
        values = [100 * a[key], 100 * b[key]]
        mean, sd = statistics.fmean(values), statistics.stdev(values)
        means[key] = (round(mean, 2), round(100 * c[key], 2))
        assert mpt_row[col].replace(r"\mathbf{", "").strip("$}") == f"{mean:.2f} \\pm {sd:.2f}"
        assert adapter_row[col].replace(r"\textbf{", "").rstrip("}") == f"{100 * c[key]:.2f}"
        # the higher mean of the column is bold (both when they tie as printed)
        assert (r"\mathbf" in mpt_row[col]) == (means[key][0] >= means[key][1])
        assert (r"\textbf" in adapter_row[col]) == (means[key][1] >= means[key][0])
    params = json.loads((runs["a"] / "folds" / "sub01.json").read_text())["parameters"]["trainable"]
    assert mpt_row[1] == f"{params / 1e6:.3g}"
    assert "LOSO, last epoch, pooled over 10 clips" in tex
    compile_if_possible(tex)


def test_train_prints_the_report_path(tmp_path):
    cache = write_cache(tmp_path, subjects=("sub01", "sub02"), per_subject=2)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--cache", str(cache), "--backbone", "vit_tiny_patch16_224",
                                      "--depth", "1", "--img-size", "32", "--epochs", "1", "--device", "cpu",
                                      "--no-progress", "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert f"report: {out / 'report.html'} (open it in a browser)" in result.output
    assert (out / "report.html").is_file()


def test_run_page_in_a_real_browser(runs):
    run = runs["a"]
    res = _results(run)
    check_page(run / "report.html", must_show=[f"{100 * res[k]:.2f}" for k in ("accuracy", "uf1", "uar")]
               + ["sub01", "sub02", "Per class", *CLASSES])


def test_no_fold_page_in_a_real_browser(runs, tmp_path):
    run = tmp_path / "fresh"
    run.mkdir()
    shutil.copy(runs["a"] / "config.json", run / "config.json")
    write_report(run)
    check_page(run / "report.html", must_show=["No finished fold yet"])


def test_composite_run_page_has_the_per_dataset_table(runs, tmp_path):
    run = tmp_path / "composite"
    shutil.copytree(runs["a"], run)
    for path, part in ((run / "folds" / "sub01.json", "casme2"), (run / "folds" / "sub02.json", "samm")):
        rec = json.loads(path.read_text())
        rec["subject"] = f"{part}/{rec['subject']}"
        path.write_text(json.dumps(rec))
    res = write_report(run)
    rows = {r[0]: r[1:] for r in Page((run / "report.html").read_text()).table_with("part")[1:]}
    assert list(rows) == ["full composite", "CASME II", "SAMM"]
    for name, part in (("CASME II", "casme2"), ("SAMM", "samm")):
        p = res["per_dataset"][part]
        assert rows[name] == [str(p["clips"]), f"{100 * p['accuracy']:.2f}", f"{100 * p['uf1']:.2f}",
                              f"{100 * p['uar']:.2f}"]
