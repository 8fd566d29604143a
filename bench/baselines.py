"""Issue 27: each baseline's full LOSO on a 26-subject x 10-clip synthetic corpus (`mpt synth`'s defaults in
this branch), on the CPU cores this process may use; its metrics beside MPT's at the demo's settings.

    python bench/baselines.py --out /tmp/bench27 [--epochs N] [--mpt]

Prints one line per method: wall seconds of the whole LOSO (26 folds, the process start included),
Acc / UF1 / UAR, and for the networks the training seconds per epoch summed over the folds (from the
fold records) and the estimate ``wall - training + per-epoch x published epochs`` when ``--epochs`` caps
them below the published count. ``--summarise`` prints the table of runs already in ``--out``. ``--mpt`` also trains MPT at the demo's settings
on the clip cache of the same corpus (minutes). Targets: networks < 5 min, hand-crafted < 1 min.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-baselines"))
    ap.add_argument("--epochs", type=int, default=None, help="cap the networks' epochs (default: published)")
    ap.add_argument("--models", default=None, help="comma-separated subset")
    ap.add_argument("--mpt", action="store_true", help="also MPT at the demo's settings")
    ap.add_argument("--summarise", action="store_true", help="only print the runs already in --out")
    args = ap.parse_args()

    import json

    from mpt_core.flow_cache import FlowSettings
    from mpt_core.model.baseline import recipe
    from mpt_core.model.zoo import ZOO
    from mpt_core.names import HANDCRAFTED
    from preprocess.pipeline import build_cache
    from preprocess.synth import generate_synthetic

    out = args.out
    if args.summarise:
        for folder in sorted((out / "runs").iterdir()):
            wall = json.loads((folder / "bench.json").read_text())["wall"] if (folder / "bench.json").is_file() else None
            print(line_of(folder.name, folder, wall))
        return
    data = out / "data"
    generate_synthetic(data, subjects=26, clips_per_subject=10, seed=0)  # reused when made so; another format is an error
    t0 = time.perf_counter()
    cache = build_cache("casme2", data, data / "CASME2-coding-synth.xlsx", settings=FlowSettings(),
                        cache_dir=out / "cache", jobs=2, progress=False)
    print(f"flow cache: {cache} ({time.perf_counter() - t0:.1f} s; 0 if reused)", flush=True)
    print(f"load: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}", flush=True)
    names = args.models.split(",") if args.models else list(ZOO) + list(HANDCRAFTED)
    mpt = [sys.executable, "-m", "mpt"]
    for name in names:
        epochs = recipe(name)["epochs"]
        cmd = mpt + ["train", "--cache", str(cache), "--model", name, "--no-progress", "--out", str(out / "runs" / name)]
        capped = args.epochs is not None and name in ZOO and args.epochs < epochs
        if capped:
            cmd += ["--epochs", str(args.epochs)]
        t1 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t1
        (out / "runs" / name / "bench.json").write_text(json.dumps({"wall": wall}))
        print(line_of(name, out / "runs" / name, wall), f"load {os.getloadavg()[0]:.2f}", flush=True)
    if args.mpt:
        from mpt.demo import DEMO_MODEL, DEMO_PREPROCESS, DEMO_TRAIN  # noqa: F401
        from mpt_core.clip import PreprocessSettings

        clip = build_cache("casme2", data, data / "CASME2-coding-synth.xlsx", settings=PreprocessSettings(**DEMO_PREPROCESS),
                           cache_dir=out / "cache", jobs=2, progress=False)
        cmd = mpt + ["train", "--cache", str(clip), "--no-progress", "--out", str(out / "runs" / "mpt-demo")]
        for k, v in {**DEMO_MODEL, **DEMO_TRAIN}.items():
            if k in ("device", "seed") or v is None:
                continue
            cmd += [f"--{k.replace('_', '-')}", "auto" if k == "fold_batch" and v == 0 else str(v)]
        t1 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        res = json.loads((out / "runs" / "mpt-demo" / "results.json").read_text())
        print(f"{'mpt (demo)':15s} {time.perf_counter() - t1:8.1f} s  Acc {100 * res['accuracy']:.2f}  "
              f"UF1 {100 * res['uf1']:.2f}  UAR {100 * res['uar']:.2f}", flush=True)


def line_of(name: str, folder: Path, wall: float | None) -> str:
    import json

    from mpt_core.model.baseline import recipe

    res = json.loads((folder / "results.json").read_text())
    records = [json.loads(p.read_text()) for p in (folder / "folds").glob("*.json")]
    train = sum(r["seconds"]["train"] for r in records)
    ran = json.loads((folder / "config.json").read_text())["train"]["epochs"]
    wall_text = f"{wall:8.1f} s" if wall is not None else "       ? s"
    line = (f"{name:15s} {wall_text}  Acc {100 * res['accuracy']:.2f}  UF1 {100 * res['uf1']:.2f}  "
            f"UAR {100 * res['uar']:.2f}  (training {train:.1f} s")
    published = recipe(name)["epochs"] if name in _zoo() else ran
    if name in _zoo() and ran < published and wall is not None:
        est = wall - train + train / ran * published
        line += f", {ran} epochs: {train / ran:.2f} s/epoch; est. {published} published epochs: {est:.0f} s"
    return line + ")"


def _zoo():
    from mpt_core.model.zoo import ZOO

    return ZOO


if __name__ == "__main__":
    main()
