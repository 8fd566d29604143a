"""Benchmark `mpt predict`: seconds per clip, split into decode, face, preprocessing and model.

    .venv/bin/python bench/predict.py [--folds 26] [--repeats 3] [--precision auto]

The clip: 2 s at 200 fps (400 frames), 640x480 mp4v, the astronaut photograph (skimage.data,
rolled by 6 degrees) drifting by 0.02 px a frame. The run: a hand-made run folder at the paper's
settings (METHOD.md: 224 px cache, alpha 20, T = 16, ViT-B/16 at 224 px, variant mpt, 5 classes)
with a final model and ``--folds`` fold models, each with random trainable weights written by
``mpt_core.model.save_checkpoint`` (random weights time the same as trained ones; the backbone is
random too: no weights file ships). Timed through ``mpt.inference.predict`` (the function the CLI
calls) after one warm-up call, each clip its own input; "load" (building the model(s), reading
the fold files) is per call, not per clip.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
# this folder holds preprocess.py and train.py, named like our packages: keep it off the import path
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

import torch  # noqa: E402

from mpt.inference import predict  # noqa: E402
from mpt_core.clip import PreprocessSettings  # noqa: E402
from mpt_core.model import ModelSettings, build_model, save_checkpoint  # noqa: E402

CLASSES = ["happiness", "surprise", "disgust", "repression", "others"]
STAGES = ("decode", "face", "preprocess", "model")


def make_video(path: Path, frames: int = 400, fps: float = 200.0) -> Path:
    from skimage.data import astronaut

    photo = astronaut()[20:300, 100:360]  # head and shoulders, RGB
    scene = np.full((480, 640, 3), 90, dtype=np.uint8)
    scene[80:360, 190:450] = photo
    scene = cv2.warpAffine(scene, cv2.getRotationMatrix2D((320.0, 220.0), 6.0, 1.0), (640, 480),
                           borderValue=(90, 90, 90))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write mp4v here")
    for k in range(frames):
        m = np.float32([[1, 0, 0.02 * k], [0, 1, 0.01 * k]])
        writer.write(cv2.cvtColor(cv2.warpAffine(scene, m, (640, 480), borderMode=cv2.BORDER_REPLICATE),
                                  cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def make_run(out: Path, folds: int, precision: str) -> Path:
    """config.json + final.safetensors + folds/subXX.{safetensors,json}, as `mpt train` writes them."""
    settings = ModelSettings(backbone="vit_base_patch16_224", img_size=224, num_classes=len(CLASSES), frames=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the backbone is random: said in the docstring
        model = build_model(settings)
    trainable = [p for p in model.parameters() if p.requires_grad]
    (out / "folds").mkdir(parents=True, exist_ok=True)
    for i, name in enumerate([f"sub{s + 1:02d}" for s in range(folds)] + ["final"]):
        torch.manual_seed(i)
        with torch.no_grad():
            for p in trainable:
                p.normal_(0, 0.02)
        base = out / "final" if name == "final" else out / "folds" / name
        save_checkpoint(base.with_suffix(".safetensors"), model, fold=i, subject=name, epochs=1)
        if name != "final":
            base.with_suffix(".json").write_text(json.dumps({"subject": name, "index": i}))
    config = {"cache_settings": PreprocessSettings().to_dict(), "classes": CLASSES, "model": settings.to_dict(),
              "train": {"precision": precision}, "weights": None, "weights_sha256": None, "final": True}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    return out


def timed(video: Path, run: Path, model: str, repeats: int) -> dict:
    t: dict = {}
    t0 = time.perf_counter()
    predict([video] * repeats, run, model=model, device="cpu", timings=t)
    wall = time.perf_counter() - t0
    per = {s: t[s] / repeats for s in STAGES}
    return {"load": t["load"], **per, "total": sum(per.values()), "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=26, help="fold models in the ensemble (CASME II: 26 subjects)")
    ap.add_argument("--repeats", type=int, default=3, help="clips timed per model choice")
    ap.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                    help="the run's precision (auto: as `mpt train` resolves it on this CPU)")
    args = ap.parse_args()
    from train.step import resolve_precision

    precision = resolve_precision(args.precision, torch.device("cpu"))
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} CPUs (torch threads {torch.get_num_threads()}), {cpu}; python "
          f"{platform.python_version()}, torch {torch.__version__}, OpenCV {cv2.__version__}; date {date.today()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    work = Path(tempfile.mkdtemp(prefix="mpt-bench-predict-"))
    t0 = time.perf_counter()
    video = make_video(work / "astronaut-400.mp4")
    run = make_run(work / "run", args.folds, precision)
    print(f"setup (video + run folder with {args.folds} fold models + final): {time.perf_counter() - t0:.1f} s; "
          f"run precision {precision}; clip: 400 frames 640x480 at 200 fps, {video.stat().st_size / 1e6:.1f} MB\n")

    predict(video, run, model="final", device="cpu")  # warm-up: first-call imports, cascades, allocator
    rows = [("final (1 model)", timed(video, run, "final", args.repeats)),
            (f"ensemble ({args.folds} fold models)", timed(video, run, "ensemble", max(1, args.repeats - 1)))]
    print("| model | load s (per call) | decode | face | preprocess | model | total s/clip |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['load']:.2f} | " + " | ".join(f"{r[s]:.3f}" for s in STAGES) + f" | {r['total']:.2f} |")
    single, ens = rows[0][1], rows[1][1]
    print(f"\nmodel seconds per fold model in the ensemble: {ens['model'] / args.folds:.3f} "
          f"(the single model: {single['model']:.3f})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
