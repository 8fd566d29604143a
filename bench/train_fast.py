"""Fast training, measured in one run (issue: mixed precision and fold-batched LOSO).

1. At the demo's settings, and at the issue's probe setting (ViT-B/16 cut to 1 block at 64 px), (mpt, ViT-Ti/16 cut to 2 blocks, 64 px model input, prompts at 16 px,
   T = 16, batch 16 per fold, 12 folds): clips/s of the per-fold training step (one fold, batch 16, fp32: the baseline)
   against fold-batched training (12 folds x 16 through one backbone pass), in fp32 and in bf16.
2. At the paper's settings (mpt, ViT-B/16, 224 px, T = 16, K = 5, batch 8): fp32 against bf16 autocast.
3. This machine's GEMM peak (a large square matmul), fp32 and bf16, measured in the same run, and
   each training step's FLOP/s as a share of it; FLOPs per training step counted with
   ``torch.utils.flop_counter.FlopCounterMode`` (forward + backward; Adam's elementwise work is not
   counted, so the shares are slight underestimates).

    .venv/bin/python bench/train_fast.py            # about 3 minutes on 2 CPU cores
    .venv/bin/python bench/train_fast.py --device cuda
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from mpt_core.model import ModelSettings, build_model  # noqa: E402
from train.foldbatch import FoldAdam, StackedFolds, train_step_folds  # noqa: E402
from train.step import train_step  # noqa: E402

DEMO = dict(variant="mpt", backbone="vit_tiny_patch16_224", depth=2, img_size=64, motion_size=16)
PAPER = dict(variant="mpt", backbone="vit_base_patch16_224", img_size=224)
# the probe: ViT-B/16 cut to 1 block at 64 px (16 patches), motion at 64 px
WIDE = dict(variant="mpt", backbone="vit_base_patch16_224", depth=1, img_size=64)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(fn, steps: int, warmup: int, device) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def _data(folds: int, batch: int, size: int, frames: int, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (folds, batch, 3, size, size), dtype=torch.uint8, generator=g).to(device)
    motion = torch.randint(0, 256, (folds, batch, frames, 3, size, size), dtype=torch.uint8, generator=g).to(device)
    label = torch.randint(0, 5, (folds, batch), generator=g).to(device)
    return image, motion, label


def _model(settings: dict, device):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(ModelSettings(num_classes=5, **settings)).to(device)


def per_fold(settings, batch, size, precision, device, steps, warmup) -> tuple[float, float]:
    """(clips/s, FLOPs per clip) of the per-fold step."""
    model = _model(settings, device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-4)
    image, motion, label = (t[0] for t in _data(1, batch, size, 16, device))
    step = lambda: train_step(model, opt, image, motion, label, precision)  # noqa: E731
    with FlopCounterMode(display=False) as counter:
        step()
    seconds = _timed(step, steps, warmup, device)
    return batch / seconds, counter.get_total_flops() / batch


def fold_batched(settings, folds, batch, size, precision, device, steps, warmup) -> tuple[float, float]:
    stacked = StackedFolds.build(ModelSettings(num_classes=5, **settings), seeds=range(folds), device=device)
    opt = FoldAdam(stacked.parameters(), lr=3e-4)
    image, motion, label = _data(folds, batch, size, 16, device)
    dtype = torch.bfloat16 if precision == "bf16" else None
    step = lambda: train_step_folds(stacked, opt, image, motion, label, [batch] * folds, autocast_dtype=dtype)  # noqa: E731
    with FlopCounterMode(display=False) as counter:
        step()
    seconds = _timed(step, steps, warmup, device)
    return folds * batch / seconds, counter.get_total_flops() / (folds * batch)


def gemm_peak(dtype, device, n=2048, reps=10) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = _timed(lambda: a @ b, reps, 3, device)
    return 2 * n**3 / seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--folds", type=int, default=12)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--paper-steps", type=int, default=3)
    args = p.parse_args()
    device = torch.device(args.device)

    peak = {"fp32": gemm_peak(torch.float32, device), "bf16": gemm_peak(torch.bfloat16, device)}
    rows = []
    base, flops = per_fold(DEMO, 16, 64, "fp32", device, args.steps, 2)
    rows.append(("demo", "per-fold loop, 1 x 16 (baseline)", "fp32", base, flops))
    for precision in ("fp32", "bf16"):
        rate, flops = fold_batched(DEMO, args.folds, 16, 64, precision, device, args.steps, 2)
        rows.append(("demo", f"fold-batched, {args.folds} x 16", precision, rate, flops))
    rate, flops = per_fold(DEMO, 16, 64, "bf16", device, args.steps, 2)
    rows.append(("demo", "per-fold loop, 1 x 16", "bf16", rate, flops))
    wide, _ = per_fold(WIDE, 16, 64, "fp32", device, args.steps, 2)
    rows.append(("ViT-B 1 block", "per-fold loop, 1 x 16 (baseline)", "fp32", wide, _))
    for precision in ("fp32", "bf16"):
        rate, flops = fold_batched(WIDE, args.folds, 16, 64, precision, device, args.steps, 2)
        rows.append(("ViT-B 1 block", f"fold-batched, {args.folds} x 16", precision, rate, flops))
    paper = {}
    for precision in ("fp32", "bf16"):
        rate, flops = per_fold(PAPER, 8, 224, precision, device, args.paper_steps, 1)
        paper[precision] = rate
        rows.append(("paper", "per-fold step, batch 8", precision, rate, flops))

    print(f"# fast training, {time.strftime('%Y-%m-%d %H:%M')}, device {device} "
          f"({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"# GEMM peak (2048^3 matmul): fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s")
    print("| settings | training | precision | clips/s | vs baseline | GFLOP per clip | % of GEMM peak |")
    print("|---|---|---|---|---|---|---|")
    for where, what, precision, rate, flops in rows:
        ref = base if where == "demo" else wide if where == "ViT-B 1 block" else paper["fp32"]
        print(f"| {where} | {what} | {precision} | {rate:.1f} | {rate / ref:.2f}x | {flops / 1e9:.2f} "
              f"| {100 * rate * flops / peak[precision]:.0f} % |")
    print(f"paper settings: bf16 / fp32 = {paper['bf16'] / paper['fp32']:.2f}x")


if __name__ == "__main__":
    main()
