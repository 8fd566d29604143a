"""A composite cache (MEGC2019: CASME II + SAMM + SMIC) trains into results with a per-part breakdown.

The tree is fabricated from the real tables (two subjects of each part, two clips each), preprocessed
at 32 px and trained with a tiny random backbone for one epoch: this checks the wiring (each clip's
source, the breakdown and the MEGC table), not accuracy.
"""

import json
import shutil
from collections import defaultdict

import h5py
import pytest
from fabricate import (
    CASME2_2014, SAMM_CODING, casme2_rows, fabricate_casme2, fabricate_samm, fabricate_smic, megc_rows, samm_rows,
    sheet_rows, smic_rows, unpad_smic,
)

from mpt_core.clip import PreprocessSettings
from mpt_core.model import ModelSettings
from preprocess.pipeline import build_cache
from train.loop import run_loso
from train.report import write_report
from train.settings import TrainSettings


@pytest.fixture(scope="module")
def megc_cache(tmp_path_factory, annotations_dir):
    root = tmp_path_factory.mktemp("megc")
    picked, per_subject = [], defaultdict(int)
    subjects = defaultdict(list)
    for dataset, subject, clip, label in megc_rows(annotations_dir / "combined_3class_gt.csv"):
        if subject not in subjects[dataset] and len(subjects[dataset]) < 2:
            subjects[dataset].append(subject)
        if subject in subjects[dataset] and per_subject[dataset, subject] < 2:
            per_subject[dataset, subject] += 1
            picked.append((dataset, subject, clip, label))
    clips = {d: {c for dd, _, c, _ in picked if dd == d} for d in ("casme2", "samm", "smic")}
    fabricate_casme2(root / "casme2", [r for r in casme2_rows(annotations_dir / CASME2_2014) if r["clip"] in clips["casme2"]])
    fabricate_samm(root / "samm", [r for r in samm_rows(annotations_dir / SAMM_CODING) if r["clip"] in clips["samm"]])
    smic = {unpad_smic(c) for c in clips["smic"]}
    fabricate_smic(root / "smic", [r for r in smic_rows(annotations_dir / "HS_cropped.csv") if r["clip"] in smic])
    shutil.copy(annotations_dir / CASME2_2014, root / "casme2")
    shutil.copy(annotations_dir / SAMM_CODING, root / "samm")
    gt = root / "gt.csv"
    gt.write_text("".join(f"{d},{s},{c},{label}\n" for d, s, c, label in picked))
    cache = build_cache("megc2019", root, gt, settings=PreprocessSettings(size=32), cache_dir=root / "cache",
                        jobs=1, progress=False, strict=True)
    return cache, picked


def test_cache_keeps_source_au_and_emotion(megc_cache, annotations_dir):
    cache, picked = megc_cache
    with h5py.File(cache, "r") as f:
        sources = [s.decode() for s in f["source"][()]]
        subjects = [s.decode() for s in f["subject"][()]]
        au = [s.decode() for s in f["au"][()]]
        emotion = [s.decode() for s in f["emotion"][()]]
    assert len(sources) == len(picked) == 12
    assert sorted(sources) == ["casme2"] * 4 + ["samm"] * 4 + ["smic"] * 4
    assert all(subject.startswith(source + "/") for source, subject in zip(sources, subjects))
    # the annotation's own text, checked against the real tables (SMIC has no AUs)
    coding = {(f"casme2/sub{int(r['Subject']):02d}", r["Filename"]): r["Action Units"]
              for r in sheet_rows(annotations_dir / CASME2_2014, 1)}
    for source, subject, clip_au, emo in zip(sources, subjects, au, emotion):
        assert emo, (subject, "emotion text kept")
        if source in ("casme2", "samm"):
            assert clip_au, (subject, "AU string kept")
    with h5py.File(cache, "r") as f:
        clips = [c.decode() for c in f["clip"][()]]
    checked = 0
    for source, subject, clip, clip_au in zip(sources, subjects, clips, au):
        if source == "casme2":
            assert clip_au == str(coding[subject, clip]).strip()
            checked += 1
    assert checked == 4


def test_composite_results_have_a_per_dataset_breakdown(megc_cache, tmp_path):
    cache, picked = megc_cache
    run = run_loso(cache, out=tmp_path / "run", progress=False,
                   train_settings=TrainSettings(epochs=1, batch_size=4, device="cpu", precision="fp32"),
                   model_settings=ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=32))
    res = write_report(run)
    parts = res["per_dataset"]
    assert sorted(parts) == ["casme2", "samm", "smic"]
    assert sum(p["clips"] for p in parts.values()) == res["clips"] == len(picked)
    folds = [json.loads(p.read_text()) for p in (run / "folds").glob("*.json")]
    for name, part in parts.items():  # each part's accuracy from its own folds' pooled predictions
        mine = [f for f in folds if f["subject"].startswith(name + "/")]
        correct = sum(p == t for f in mine for p, t in zip(f["predictions"], f["labels"]))
        assert part["accuracy"] == pytest.approx(correct / sum(len(f["labels"]) for f in mine))
    summary = (run / "summary.md").read_text()
    assert "| | full | SMIC | CASME II | SAMM |" in summary
