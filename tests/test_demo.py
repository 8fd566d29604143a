import json
import shlex

from typer.testing import CliRunner

from mpt import demo


def test_demo_pipeline_end_to_end_at_toy_size(tmp_path, monkeypatch, capsys):
    # the real demo (12 subjects, 40 epochs) is timed in bench/README.md; here only the wiring
    monkeypatch.setattr(demo, "DEMO_SUBJECTS", 2)
    monkeypatch.setattr(demo, "DEMO_CLIPS_PER_SUBJECT", 5)
    monkeypatch.setattr(demo, "DEMO_MODEL", {**demo.DEMO_MODEL, "backbone": "vit_tiny_patch16_224"})
    monkeypatch.setattr(demo, "DEMO_TRAIN", {**demo.DEMO_TRAIN, "epochs": 1})
    run = demo.run_demo(tmp_path / "demo", progress=False)
    res = json.loads((run / "results.json").read_text())
    assert res["folds"] == ["sub01", "sub02"] and res["clips"] == 10 and res["variant"] == "mpt"
    for name in ("summary.md", "confusion.png", "curves.png"):
        assert (run / name).is_file()
    out = capsys.readouterr().out
    assert "RANDOM weights" in out and "--weights vit_base_patch16_224.augreg_in21k.safetensors" in out
    assert f"UF1 {100 * res['uf1']:.2f} %" in out
    # the demo ends with mpt explain on a few held-out clips
    figures = sorted((run / "explain").glob("sub0*/*.png"))
    assert figures and all(str(p) in out for p in figures)
    assert (run / "explain" / "gradcam_by_class.png").is_file() and (run / "explain" / "tsne.png").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["img_size"] // 16 >= 4  # a patch grid of at least 4 x 4 for Grad-CAM

    # the printed `mpt train` command trains the same run again from the demo's cache
    line = next(ln.strip() for ln in out.splitlines() if ln.strip().startswith("mpt train --cache"))
    assert "--motion-size 16" in line and "--img-size 64" in line and "--depth 2" in line
    from mpt.cli import app

    again = CliRunner().invoke(app, shlex.split(line)[1:] + ["--no-progress"])
    assert again.exit_code == 0, again.output
    first, second = (sorted((r / "folds").glob("*.json")) for r in (run, tmp_path / "demo" / "run-again"))
    assert [p.name for p in first] == [p.name for p in second] == ["sub01.json", "sub02.json"]
    for a, b in zip(first, second):
        a, b = json.loads(a.read_text()), json.loads(b.read_text())
        assert a["predictions"] == b["predictions"] and a["probabilities"] == b["probabilities"]
