"""Fold-batched LOSO training against the per-fold loop, end to end, measured in one run.

For each setting, the same synthetic cache is trained three times with ``run_loso`` (the trainer users
run, all folds, fixed epochs): the per-fold loop in fp32 (``--fold-batch 1``, the BASELINE), every fold
together in fp32, and every fold together in bf16 autocast. Printed: training seconds (the folds'
``seconds.train`` summed: data, forward, backward and Adam, not evaluation or file writes), the speed-up
against the baseline, the process CPU seconds of the whole run (less disturbed than wall time when other
work shares the machine), and how far the fold-batched fp32 run's probabilities and predictions are from
the baseline's (the contract: the same model, up to float summation order).

Settings: the demo's (ViT-Ti/16 cut to 2 blocks, 64 px model input, prompts at 16 px, 40 epochs,
12 subjects x 12 clips at 64 px) and the fast-training issue's probe (ViT-B/16 cut to 1 block, 64 px,
prompts at 16 px, 8 epochs, 3 subjects x 12 clips).

    .venv/bin/python bench/foldbatch.py               # about 6 minutes on 2 CPU cores
    .venv/bin/python bench/foldbatch.py --quick       # the probe setting only
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402

SETTINGS = {
    "demo": dict(model=dict(variant="mpt", backbone="vit_tiny_patch16_224", depth=2, img_size=64, motion_size=16),
                 train=dict(epochs=40, batch_size=16, lr=3e-3), subjects=12, clips=12),
    "probe": dict(model=dict(variant="mpt", backbone="vit_base_patch16_224", depth=1, img_size=64, motion_size=16),
                  train=dict(epochs=8, batch_size=16, lr=3e-3), subjects=3, clips=12),
}
MODES = (("per-fold fp32 (baseline)", 1, "fp32"), ("fold-batched fp32", 99, "fp32"), ("fold-batched bf16", 99, "bf16"))


def make_cache(root: Path, subjects: int, clips: int) -> Path:
    from mpt_core.clip import PreprocessSettings
    from preprocess.pipeline import build_cache
    from preprocess.synth import generate_synthetic

    data = root / "data"
    generate_synthetic(data, subjects=subjects, clips_per_subject=clips, seed=1, progress=False)
    return build_cache("casme2", data, data / "CASME2-coding-synth.xlsx", settings=PreprocessSettings(size=64, alpha=60.0),
                       cache_dir=root / "cache", progress=False)


def train(cache: Path, out: Path, setting: dict, fold_batch: int, precision: str) -> dict:
    from mpt_core.model import ModelSettings
    from train.loop import run_loso
    from train.settings import TrainSettings

    ts = TrainSettings(**setting["train"], seed=0, device="cpu", precision=precision, fold_batch=fold_batch)
    cpu0 = time.process_time()
    run = run_loso(cache, train_settings=ts, model_settings=ModelSettings(**setting["model"]), out=out,
                   progress=False)
    cpu = time.process_time() - cpu0
    records = [json.loads(p.read_text()) for p in sorted((run / "folds").glob("*.json"))]
    return {"seconds": sum(r["seconds"]["train"] for r in records), "cpu": cpu,
            "probs": np.concatenate([np.array(r["probabilities"]) for r in records]),
            "preds": np.concatenate([np.array(r["predictions"]) for r in records])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="only the probe setting")
    args = p.parse_args()
    torch.set_num_threads(2)
    print(f"# fold-batched training vs the per-fold loop, {time.strftime('%Y-%m-%d')}, CPU "
          f"({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), torch {torch.__version__}")
    print("| setting | mode | train s (wall) | vs per-fold fp32 | CPU s (whole run) | vs per-fold fp32 | "
          "max abs prob diff | predictions equal |")
    print("|---|---|---|---|---|---|---|---|")
    import contextlib
    import io

    names = ["probe"] if args.quick else ["demo", "probe"]
    for name in names:
        setting = SETTINGS[name]
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            with contextlib.redirect_stdout(io.StringIO()):
                cache = make_cache(tmp, setting["subjects"], setting["clips"])
                results = [train(cache, tmp / f"run{i}", setting, fb, prec) for i, (_, fb, prec) in enumerate(MODES)]
        base = results[0]
        for (label, _, prec), r in zip(MODES, results):
            diff = float(np.abs(r["probs"] - base["probs"]).max())
            same = f"{int((r['preds'] == base['preds']).sum())}/{len(base['preds'])}"
            print(f"| {name} | {label} | {r['seconds']:.1f} | {base['seconds'] / r['seconds']:.2f}x | {r['cpu']:.1f} | "
                  f"{base['cpu'] / r['cpu']:.2f}x | {diff:.1e} | {same} |", flush=True)


if __name__ == "__main__":
    main()
