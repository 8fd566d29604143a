"""Does AU detection learn? `mpt train --task au` on synthetic data, against the baselines, one run.

`mpt synth` draws each clip's AUs (its AU string) as motion, so the strings are the truth. The
dataset, preprocessing and model are the demo's (`mpt/demo.py`: 64 px, alpha 60, a random ViT-Ti cut
to 2 blocks, motion prompts at 16 px, lr 3e-3), chosen there for emotion classes on another seed;
nothing here was tuned on this run's test subjects. Leave-one-subject-out, the last epoch, threshold
0.5. Printed: mean AU F1 on held-out subjects against the all-negative, prior and all-positive
baselines, and the per-AU table (the run's summary.md).

    .venv/bin/python bench/au_learning.py                  # ~10 min on 2 cores
    .venv/bin/python bench/au_learning.py --subjects 6 --clips 8 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from mpt.demo import DEMO_MODEL, DEMO_PREPROCESS  # noqa: E402
from mpt_core.clip import PreprocessSettings  # noqa: E402
from mpt_core.model import ModelSettings  # noqa: E402
from preprocess.pipeline import build_cache  # noqa: E402
from preprocess.synth import generate_synthetic  # noqa: E402
from train.loop import run_loso  # noqa: E402
from train.report import write_report  # noqa: E402
from train.settings import TrainSettings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--clips", type=int, default=10, help="clips per subject")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0, help="the synthetic dataset's seed")
    ap.add_argument("--aus", default="1,2,4,5,6,7,9,10,12,14,15,17")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "mpt-bench-au")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = args.out / f"synth-{args.subjects}x{args.clips}-seed{args.seed}"
    generate_synthetic(data, subjects=args.subjects, clips_per_subject=args.clips, seed=args.seed,
                       size=DEMO_PREPROCESS["size"], progress=False)
    cache = build_cache("casme2", data, settings=PreprocessSettings(**DEMO_PREPROCESS), cache_dir=args.out / "cache",
                        progress=False)
    t1 = time.perf_counter()
    run = args.out / f"run-{cache.stem}-{args.epochs}ep"
    aus = tuple(int(a) for a in args.aus.split(","))
    train = TrainSettings(epochs=args.epochs, batch_size=16, lr=3e-3, seed=0, device="cpu", precision="auto",
                          fold_batch=0)
    run_loso(cache, train_settings=train, model_settings=ModelSettings(**DEMO_MODEL), out=run, task="au", aus=aus,
             progress=False, resume=(run / "config.json").exists())
    res = write_report(run)
    t2 = time.perf_counter()
    b = res["baselines"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"load average before training {os.getloadavg()[0]:.2f}")
    print(f"data {args.subjects} subjects x {args.clips} clips, seed {args.seed}; {res['clips']} clips; "
          f"{args.epochs} epochs; preprocessing {t1 - t0:.0f} s, training {t2 - t1:.0f} s")
    print(f"mean AU F1 {100 * res['mean_f1']:.1f} % over {len(res['aus']) - len(res['excluded'])} AUs "
          f"(excluded: {', '.join(res['excluded']) or 'none'})")
    for name in ("all_negative", "prior", "all_positive"):
        m = b[name]["mean_f1"]
        print(f"  baseline {name:12s} {100 * m:5.1f} %   ratio {res['mean_f1'] / m:.2f}x" if m else
              f"  baseline {name:12s} {100 * (m or 0):5.1f} %")
    print()
    print((run / "summary.md").read_text())
    print(json.dumps({"mean_f1": res["mean_f1"], "baselines": {k: v["mean_f1"] for k, v in b.items()}}))


if __name__ == "__main__":
    main()
