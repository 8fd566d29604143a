"""Training throughput (clips/s) of the `mpt` variant against `full-ft` and `head-only`, same run.

Times ``train.step.train_step`` (forward + backward + Adam) on uint8 batches already on the
device, exactly as the trainer feeds them from a resident cache. Baseline for the ratios: full-ft.

    .venv/bin/python bench/train.py                       # CPU, tiny backbone (defaults below)
    .venv/bin/python bench/train.py --device cuda --backbone vit_base_patch16_224 --depth 12 --img-size 224
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

# this file is named train.py: keep its folder off sys.path so `import train` finds the package
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402

from mpt_core.model import ModelSettings, build_model, parameter_counts  # noqa: E402
from train.step import train_step  # noqa: E402


def measure(variant: str, args) -> dict:
    torch.manual_seed(0)
    settings = ModelSettings(variant=variant, backbone=args.backbone, depth=args.depth, img_size=args.img_size,
                             frames=args.frames)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(settings).to(args.device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-4)
    B, T, S = args.batch_size, args.frames, args.cache_size
    g = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (B, 3, S, S), dtype=torch.uint8, generator=g).to(args.device)
    motion = torch.randint(0, 256, (B, T, 3, S, S), dtype=torch.uint8, generator=g).to(args.device)
    label = torch.randint(0, 5, (B,), generator=g).to(args.device)
    for _ in range(args.warmup):
        train_step(model, opt, image, motion, label)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        train_step(model, opt, image, motion, label)
    sync()
    dt = time.perf_counter() - t0
    return {"variant": variant, "trainable": parameter_counts(model)["trainable"], "clips_s": B * args.steps / dt}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", default="vit_tiny_patch16_224")
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--img-size", type=int, default=112, help="model input size")
    p.add_argument("--cache-size", type=int, default=112, help="spatial size of the cached arrays fed in")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the median is reported")
    p.add_argument("--device", default="cpu")
    p.add_argument("--variants", default="mpt,full-ft,head-only")
    args = p.parse_args()

    variants = args.variants.split(",")
    measure(variants[0], args)  # throw-away: the first model in a process pays one-time kernel set-up
    runs = [measure(v, args) for _ in range(args.repeats) for v in variants]  # interleaved rounds
    rows = []
    for v in variants:
        rates = sorted(r["clips_s"] for r in runs if r["variant"] == v)
        rows.append({**next(r for r in runs if r["variant"] == v), "clips_s": rates[len(rates) // 2]})
    base = next((r for r in rows if r["variant"] == "full-ft"), rows[0])
    print(f"# training throughput, {time.strftime('%Y-%m-%d')}, device {args.device} "
          f"({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"# {args.backbone} depth {args.depth}, img_size {args.img_size}, cache {args.cache_size}x{args.cache_size}, "
          f"T={args.frames}, batch {args.batch_size}, median of {args.repeats} interleaved rounds of {args.steps} "
          f"timed steps after {args.warmup} warm-up")
    print(f"| variant | trainable params | clips/s | vs {base['variant']} |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['trainable']:,} | {r['clips_s']:.1f} | {r['clips_s'] / base['clips_s']:.2f}x |")


if __name__ == "__main__":
    main()
