"""Fold-batched LOSO training: N folds at once over one pass of the shared frozen backbone.

The contract is the per-fold loop's (``loop.train_fold``): each fold keeps its own trainable weights,
Adam state, seed (``seed + fold index``), shuffles, flips and number of steps per epoch, and writes
the same partial checkpoints, fold files and records (which say ``fold_batch``: N). At step j, fold
f contributes its own j-th batch; a fold whose epoch has no batch left takes no optimiser step
(``train/foldbatch.py``). Evaluation runs each fold's own model through ``step.predict``, exactly
as the per-fold loop does.

Folds resumed from different epochs are never mixed in one batch: the caller groups them by the
epoch their partial checkpoint reached.
"""

from __future__ import annotations

import math
import time

import torch

from .data import ClipSource, random_hflip
from .folds import Fold
from .foldbatch import FoldAdam, StackedFolds, pad_stack, train_step_folds
from .loop import Bar, evaluate_fold, fold_record, non_finite, save_fold_weights
from .runs import RunFolder, rng_state, set_rng_state
from .settings import TrainSettings

BYTES_PER_FLOAT = 4


def auto_fold_batch(model_settings, batch_size: int, n_todo: int, device: torch.device) -> int:
    """How many folds fit together: training activations per clip (a ViT block saves about 20 floats
    per token and width, plus its attention maps) times the batch, against a memory budget (60 % of
    the free GPU memory; on the CPU a quarter of the available RAM, at most 8 GB)."""
    from mpt_core.model.mpt import create_backbone

    with torch.device("meta"):  # the backbone's real geometry, without memory or weights
        vit = create_backbone(model_settings)
    width, depth, heads = vit.embed_dim, len(vit.blocks), vit.blocks[0].attn.num_heads
    tokens = vit.num_prefix_tokens + vit.patch_embed.num_patches + model_settings.prompts
    per_clip = BYTES_PER_FLOAT * (depth * tokens * (20 * width + heads * tokens)
                                  + model_settings.frames * 3 * model_settings.img_size ** 2 * 3)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = 0.6 * free
    else:
        import os

        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 8e9
        budget = min(8e9, avail / 4)
    return max(1, min(n_todo, int(budget // (per_clip * batch_size))))


def train_fold_batch(folds: list[Fold], source: ClipSource, *, settings: TrainSettings, model_settings, weights,
                     device: torch.device, run: RunFolder, n_folds: int, start: int, progress: bool = True) -> list[dict]:
    """Train ``folds`` together from epoch ``start`` (all of them resume from that epoch) and evaluate each."""
    from mpt_core.model import parameter_counts

    N = len(folds)
    stacked = StackedFolds.build(model_settings, seeds=[settings.seed + f.index for f in folds], weights=weights,
                                 device=device)
    opt = FoldAdam(stacked.parameters(), lr=settings.lr)
    gens = [torch.Generator().manual_seed(settings.seed + f.index) for f in folds]
    counts = parameter_counts(stacked.base)
    losses, seconds = [[] for _ in folds], [0.0] * N
    for i, fold in enumerate(folds):
        ck = run.load_partial(fold.name)
        if ck is not None:
            if ck["epoch"] != start:
                raise ValueError(f"{run.partial_path(fold.name)}: at epoch {ck['epoch']}, the batch resumes at {start}")
            stacked.load_fold_state(i, ck["trainable"])
            opt.load_fold_optimizer_state(i, ck["optimizer"])
            set_rng_state(ck["rng"], gens[i])
            losses[i], seconds[i] = ck["losses"], ck["seconds"]
    names = ", ".join(f.subject for f in folds)
    print(f"folds {names} trained together (fold batch of {N}) | trainable params per fold: "
          f"{counts['trainable']:,} || all params: {counts['total']:,}"
          + (f" | resuming after epoch {start}" if start else ""), flush=True)

    steps = [math.ceil(len(f.train) / settings.batch_size) for f in folds]
    bar = Bar(f"folds {folds[0].subject}..{folds[-1].subject}", settings.epochs * max(steps), start * max(steps),
              progress)
    dtype = torch.bfloat16 if settings.precision == "bf16" else None
    for epoch in range(start, settings.epochs):
        t0 = time.perf_counter()
        iters = [iter(source.batches(f.train[torch.randperm(len(f.train), generator=g).numpy()], settings.batch_size))
                 for f, g in zip(folds, gens)]
        totals, seen = [0.0] * N, [0] * N
        for step in range(max(steps)):
            images, motions, labels, rows = [], [], [], []
            for i, it in enumerate(iters):
                b = next(it, None) if step < steps[i] else None
                if b is None:
                    images.append(None), motions.append(None), labels.append(None), rows.append(0)
                    continue
                image, motion = b.image, b.motion
                if settings.flip:
                    image, motion, _ = random_hflip(image, motion, gens[i])
                images.append(image), motions.append(motion), labels.append(b.label), rows.append(len(b.rows))
            B = max(rows)
            loss = train_step_folds(stacked, opt, pad_stack(images, B), pad_stack(motions, B), pad_stack(labels, B),
                                    rows, autocast_dtype=dtype).tolist()
            for i, n in enumerate(rows):
                if n and not math.isfinite(loss[i]):
                    bar.close()
                    raise non_finite(folds[i], n_folds, loss[i], epoch, step, steps[i])
                totals[i] += loss[i] * n
                seen[i] += n
            bar.advance(sum(loss[i] for i in range(N) if rows[i]) / max(1, sum(1 for n in rows if n)),
                        sum(seen) / (time.perf_counter() - t0), epoch + 1, settings.epochs)
        wall = time.perf_counter() - t0
        for i, fold in enumerate(folds):
            losses[i].append(totals[i] / seen[i])
            seconds[i] += wall / N  # the batch's wall time, shared
            run.save_partial(fold.name, {"epoch": epoch + 1, "trainable": stacked.fold_state_dict(i),
                                         "optimizer": opt.fold_optimizer_state(i), "rng": rng_state(gens[i]),
                                         "losses": losses[i], "seconds": seconds[i]})
    bar.close()

    records = []
    for i, fold in enumerate(folds):
        model = stacked.fold_model(i)
        probs, eval_seconds = evaluate_fold(model, fold, source, settings)
        record = fold_record(fold, source, settings, probs=probs, losses=losses[i], seconds=seconds[i],
                             eval_seconds=eval_seconds, counts=counts, fold_batch=N)
        save_fold_weights(run, fold, model, settings, record)
        run.finish(fold.name, record)
        records.append(record)
    return records
