"""The model-randomisation sanity check of Grad-CAM (Adebayo et al. 2018) on a run, and the time
`mpt explain` takes per clip.

For every finished fold, its held-out clips' Grad-CAM maps (predicted class) are compared with the
maps of the same model whose trainable weights were re-initialised (``train.explain.reinitialised``):
Spearman rank correlation over the patch grid, per clip. Maps that explain the model, not just
the input, correlate weakly (the acceptance line: mean < 0.5). A run with only a final model uses
it on every clip. Then ``mpt explain`` runs on the whole run into a temporary folder (or --out),
timed.

    .venv/bin/python bench/explain.py runs/demo/run
    .venv/bin/python bench/explain.py runs/casme2-mpt --device cuda --seeds 3
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

# bench/ holds train.py: keep this folder off sys.path so `import train` finds the package
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402


def spearman_over_run(run_dir: Path, *, device: str, seeds: int, weights=None) -> dict:
    from mpt.explain import FINAL, read_clips, resolve_device
    from mpt_core.cache import open_cache
    from mpt_core.model import load_checkpoint
    from train.explain import patch_grid, randomisation_spearman
    from train.runs import RunFolder

    run = RunFolder(run_dir)
    config = run.config()
    dev = resolve_device(device)
    files = run.fold_weight_files()
    records = run.fold_records()
    with open_cache(config["cache"]) as f:
        if records:
            jobs = [(files[r["subject"]], r["rows"]) for r in records]
        else:
            jobs = [(run.weights_path(FINAL), list(range(f["rank"].shape[0])))]
        rhos, grid = [], None
        for path, rows in jobs:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="no weights file given")
                model, _ = load_checkpoint(path, map_location=dev, weights=weights)
            grid = patch_grid(model)
            for a in range(0, len(rows), 16):
                image, motion = read_clips(f, rows[a:a + 16])
                per_seed = [randomisation_spearman(model, image, motion, seed=s) for s in range(1, seeds + 1)]
                rhos += torch.stack(per_seed).mean(0).tolist()
    rhos = np.array(rhos, dtype=np.float64)
    return {"clips": len(rhos), "grid": grid, "nan": int(np.isnan(rhos).sum()), "mean": float(np.nanmean(rhos))
            if np.isfinite(rhos).any() else float("nan"), "median": float(np.nanmedian(rhos)) if np.isfinite(rhos).any()
            else float("nan"), "below_0.5": float(np.mean(rhos[np.isfinite(rhos)] < 0.5)) if np.isfinite(rhos).any()
            else float("nan"), "models": len(jobs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--seeds", type=int, default=1, help="re-initialisations per model, averaged per clip")
    p.add_argument("--weights", type=Path, default=None, help="backbone weights file, if it moved")
    p.add_argument("--out", type=Path, default=None, help="where `mpt explain` writes (default: a temporary folder)")
    p.add_argument("--no-tsne", action="store_true", help="time `mpt explain --no-tsne`")
    args = p.parse_args()

    from mpt.explain import explain_run

    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {args.device}")
    t0 = time.perf_counter()
    s = spearman_over_run(args.run_dir, device=args.device, seeds=args.seeds, weights=args.weights)
    t_check = time.perf_counter() - t0
    print(f"model randomisation (Adebayo et al. 2018), {s['models']} model(s), {s['clips']} clips, "
          f"{s['grid'][0]}x{s['grid'][1]} patch grid, {args.seeds} re-initialisation(s) per model:")
    if s["nan"] == s["clips"]:
        print("  every map is constant (a 1 x 1 patch grid has no ranks): the check needs a model whose image "
              "has more than one patch")
    else:
        print(f"  Spearman(trained, re-initialised): mean {s['mean']:.3f}, median {s['median']:.3f}, "
              f"{100 * s['below_0.5']:.0f} % of clips below 0.5 (pass: mean < 0.5 -> "
              f"{'PASS' if s['mean'] < 0.5 else 'FAIL'}); {s['nan']} clip(s) with a constant map left out")
    print(f"  ({t_check:.1f} s)")

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "explain"
        t0 = time.perf_counter()
        res = explain_run(args.run_dir, out=out, device=args.device, weights=args.weights, tsne=not args.no_tsne,
                          progress=False)
        dt = time.perf_counter() - t0
        n = len(res.clip_figures)
        print(f"mpt explain{' --no-tsne' if args.no_tsne else ''}: {n} clips, {len(res.tsne_panels)} t-SNE panel(s), "
              f"{dt:.1f} s = {dt / max(n, 1):.2f} s per clip (everything included: models loaded, maps, figures)")


if __name__ == "__main__":
    main()
