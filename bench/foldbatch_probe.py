"""Fold-batched training step (train/foldbatch.py) against the per-fold step, same run.

Baseline: ``train.step.train_step`` on one model with a batch of B clips, which is what the
per-fold loop runs F times. Fold-batched: ``train_step_folds`` on F folds x B clips over one
shared backbone. Both forward + backward + Adam, on uint8 batches already on the device, in
float32 and under bfloat16 autocast (forward only; loss, weights and Adam in float32).

    .venv/bin/python bench/foldbatch_probe.py                  # CPU, the demo's backbone at 64 px
    .venv/bin/python bench/foldbatch_probe.py --device cuda --depth 12 --img-size 224
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

# bench/train.py would shadow the `train` package: keep this folder off sys.path
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402

from mpt_core.model import ModelSettings, build_model  # noqa: E402
from train.foldbatch import FoldAdam, StackedFolds, train_step_folds  # noqa: E402
from train.step import train_step  # noqa: E402


def _batch(shape_lead, args, device):
    g = torch.Generator().manual_seed(0)
    T, S = args.frames, args.img_size
    image = torch.randint(0, 256, (*shape_lead, 3, S, S), dtype=torch.uint8, generator=g).to(device)
    motion = torch.randint(0, 256, (*shape_lead, T, 3, S, S), dtype=torch.uint8, generator=g).to(device)
    label = torch.randint(0, 5, shape_lead, generator=g).to(device)
    return image, motion, label


def _timed(step, args, device) -> float:
    """Seconds per step: median of ``repeats`` rounds of ``steps`` steps, after ``warmup``."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        step()
    rounds = []
    for _ in range(args.repeats):
        sync()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        sync()
        rounds.append((time.perf_counter() - t0) / args.steps)
    return sorted(rounds)[len(rounds) // 2]


def per_fold(settings, args, device, dtype) -> float:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(settings).to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-4)
    image, motion, label = _batch((args.batch_size,), args, device)
    cast = torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()

    def step():
        with cast:
            train_step(model, opt, image, motion, label)

    return args.batch_size / _timed(step, args, device)


def fold_batched(settings, args, device, dtype) -> float:
    stacked = StackedFolds.build(settings, seeds=range(args.folds), device=device)
    opt = FoldAdam(stacked.parameters(), lr=3e-4)
    image, motion, label = _batch((args.folds, args.batch_size), args, device)
    counts = [args.batch_size] * args.folds

    def step():
        train_step_folds(stacked, opt, image, motion, label, counts, autocast_dtype=dtype)

    return args.folds * args.batch_size / _timed(step, args, device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", default="mpt")
    p.add_argument("--backbone", default="vit_base_patch16_224")
    p.add_argument("--depth", type=int, default=1)
    p.add_argument("--img-size", type=int, default=64, help="model input size = size of the arrays fed in")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=16, help="clips per fold per step")
    p.add_argument("--folds", type=int, default=12)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3, help="rounds of timed steps; the median is reported")
    p.add_argument("--dtypes", default="float32,bfloat16", help="float32 and/or bfloat16 (autocast)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()

    device = torch.device(args.device)
    settings = ModelSettings(variant=args.variant, backbone=args.backbone, depth=args.depth, img_size=args.img_size,
                             frames=args.frames)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    print(f"# fold-batched vs per-fold training step, {time.strftime('%Y-%m-%d')}, device {device} ({name}, "
          f"{torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"# {args.variant}, {args.backbone} depth {args.depth}, {args.img_size} px, T={args.frames}, "
          f"batch {args.batch_size} per fold, {args.folds} folds; median of {args.repeats} rounds of {args.steps} "
          f"timed steps after {args.warmup} warm-up")
    print("| precision | per-fold clips/s (1 x B) | fold-batched clips/s (F x B) | speed-up |")
    print("|---|---|---|---|")
    for dname in args.dtypes.split(","):
        dtype = {"float32": None, "bfloat16": torch.bfloat16}[dname]
        one = per_fold(settings, args, device, dtype)
        many = fold_batched(settings, args, device, dtype)
        print(f"| {dname} | {one:.1f} | {many:.1f} | {many / one:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
