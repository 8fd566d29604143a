"""Leave-one-subject-out training (METHOD.md section 3): ``run_loso`` into a run folder (``runs.py``).

Per fold: a fresh model (seeded with ``seed + fold index``), Adam on the trainable parameters
only, cross-entropy, a fixed number of epochs, then one evaluation of the **last** epoch on the
held-out subject. Nothing is selected by looking at the test subject. Optionally (``final``) one
more model on every clip, seeded with ``seed + number of folds``, with the same settings and epoch
count: the model ``mpt predict`` applies by default; it has no test set and is never in the metrics.

The cache is opened once (``ClipSource``). ``run_loso`` returns the run folder; the caller writes
the report (``train/report.py``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mpt_core.device import resolve_device

from .data import ClipSource, random_hflip
from .folds import Fold, loso_folds, select_folds
from .runs import FINAL, RunFolder, make_config, rng_state, set_rng_state
from .settings import TrainSettings
from .step import predict, resolve_precision, train_step


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; the message names the fold and the step."""


# helpers

def load_trainable(model: torch.nn.Module, state: dict, where: Path) -> None:
    missing, unexpected = model.load_state_dict(state, strict=False)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if unexpected or trainable & set(missing):
        raise ValueError(f"{where}: does not match the model (unexpected {unexpected[:5]}, "
                         f"missing trainable {sorted(trainable & set(missing))[:5]})")


def build_fold_model(model_settings, weights, seed: int, device: torch.device):
    """The fold's fresh model: its trainable parts drawn from ``seed``, the frozen backbone shared."""
    from mpt_core.model import build_model

    torch.manual_seed(seed)
    with warnings.catch_warnings():  # run_loso says once that the backbone is random
        warnings.filterwarnings("ignore", message="no weights file given")
        return build_model(model_settings, weights=weights).to(device)


def final_fold(n_clips: int, n_folds: int) -> Fold:
    """The final model's "fold": every clip trains, none is held out; seeded after the LOSO folds."""
    return Fold(n_folds, FINAL, np.arange(n_clips), np.arange(0))


def fold_record(fold: Fold, source: ClipSource, settings: TrainSettings, *, probs, losses, seconds,
                eval_seconds, counts, fold_batch: int) -> dict:
    labels = source.labels[fold.test]
    preds = probs.argmax(1) if len(probs) else torch.zeros(0, dtype=torch.long)
    return {
        "subject": fold.subject, "index": fold.index, "epochs": settings.epochs,
        "clips": source.clips[fold.test].tolist(), "rows": fold.test.tolist(),
        "labels": labels.tolist(), "predictions": preds.tolist(), "probabilities": probs.tolist(),
        "accuracy": float((preds.numpy() == labels).mean()) if len(labels) else None,
        "loss_curve": losses, "train_clips": len(fold.train), "test_clips": len(fold.test),
        "seconds": {"train": seconds, "eval": eval_seconds},
        "train_clips_per_s": len(fold.train) * settings.epochs / seconds if seconds else None,
        "parameters": counts, "precision": settings.precision, "fold_batch": fold_batch,
    }


def save_fold_weights(run: RunFolder, fold: Fold, model, settings: TrainSettings, record: dict) -> None:
    from mpt_core.model import save_checkpoint

    save_checkpoint(run.weights_path(fold.name), model, fold=fold.index, subject=fold.subject,
                    epochs=settings.epochs, accuracy=record["accuracy"], precision=settings.precision,
                    final=fold.subject == FINAL)


def evaluate_fold(model, fold: Fold, source: ClipSource, settings: TrainSettings) -> tuple[torch.Tensor, float]:
    t0 = time.perf_counter()
    batches = [predict(model, b.image, b.motion, settings.precision).cpu()
               for b in source.batches(fold.test, settings.eval_batch_size)]
    probs = torch.cat(batches) if batches else torch.zeros(0, len(source.classes))
    return probs, time.perf_counter() - t0


def non_finite(fold: Fold, n_folds: int, loss: float, epoch: int, step: int, steps_per_epoch: int) -> NonFiniteLoss:
    return NonFiniteLoss(f"fold {fold.index + 1}/{n_folds} (index {fold.index}, subject {fold.subject}): "
                         f"loss is {loss} at epoch {epoch + 1}, step {step + 1} (global step "
                         f"{epoch * steps_per_epoch + step + 1}); try a lower --lr")


# one fold

def train_fold(fold: Fold, source: ClipSource, *, settings: TrainSettings, model_settings, weights,
               device: torch.device, run: RunFolder, n_folds: int, progress: bool = True) -> dict:
    """Train one fold (resuming from its partial checkpoint if there is one) and evaluate it."""
    from mpt_core.model import parameter_counts, trainable_state_dict

    seed = settings.seed + fold.index
    model = build_fold_model(model_settings, weights, seed, device)
    gen = torch.Generator().manual_seed(seed)  # shuffling and flips
    params = [p for p in model.parameters() if p.requires_grad]
    counts = parameter_counts(model)
    print(f"{_label(fold, n_folds)} train {len(fold.train)} clips, test "
          f"{len(fold.test)} | trainable params: {counts['trainable']:,} || all params: {counts['total']:,} "
          f"|| trainable%: {100 * counts['trainable'] / counts['total']:.4f}", flush=True)
    optimizer = torch.optim.Adam(params, lr=settings.lr)

    start, losses, seconds = 0, [], 0.0
    ck = run.load_partial(fold.name)
    if ck is not None:
        load_trainable(model, ck["trainable"], run.partial_path(fold.name))
        optimizer.load_state_dict(ck["optimizer"])
        set_rng_state(ck["rng"], gen)
        start, losses, seconds = ck["epoch"], ck["losses"], ck["seconds"]
        print(f"  resuming {fold.subject} after epoch {start}", flush=True)

    steps_per_epoch = math.ceil(len(fold.train) / settings.batch_size)
    bar = Bar(f"fold {fold.subject}", settings.epochs * steps_per_epoch, start * steps_per_epoch, progress)
    for epoch in range(start, settings.epochs):
        t0 = time.perf_counter()
        order = fold.train[torch.randperm(len(fold.train), generator=gen).numpy()]
        total, seen = 0.0, 0
        for step, b in enumerate(source.batches(order, settings.batch_size)):
            image, motion = b.image, b.motion
            if settings.flip:
                image, motion, _ = random_hflip(image, motion, gen)
            loss = train_step(model, optimizer, image, motion, b.label, settings.precision).item()
            if not math.isfinite(loss):
                bar.close()
                raise non_finite(fold, n_folds, loss, epoch, step, steps_per_epoch)
            total += loss * len(b.rows)
            seen += len(b.rows)
            bar.advance(loss, seen / (time.perf_counter() - t0), epoch + 1, settings.epochs)
        losses.append(total / seen)
        seconds += time.perf_counter() - t0
        run.save_partial(fold.name, {"epoch": epoch + 1, "trainable": trainable_state_dict(model),
                                     "optimizer": optimizer.state_dict(), "rng": rng_state(gen),
                                     "losses": losses, "seconds": seconds})
    bar.close()

    probs, eval_seconds = evaluate_fold(model, fold, source, settings)
    record = fold_record(fold, source, settings, probs=probs, losses=losses, seconds=seconds,
                         eval_seconds=eval_seconds, counts=counts, fold_batch=1)
    save_fold_weights(run, fold, model, settings, record)
    run.finish(fold.name, record)  # written last: marks the fold as done
    return record


def _label(fold: Fold, n_folds: int) -> str:
    if fold.subject == FINAL:
        return "final model (every clip)"
    return f"fold {fold.index + 1}/{n_folds} [{fold.subject}]"


class Bar:
    """A rich progress bar with loss and clips/s (silent when ``enabled`` is False)."""

    def __init__(self, name: str, total: int, completed: int, enabled: bool):
        self.p = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("epoch {task.fields[epoch]} loss {task.fields[loss]} {task.fields[rate]} clips/s"),
                          TimeRemainingColumn(), transient=False)
        self.p.start()
        self.task = self.p.add_task(name, total=total, completed=completed, epoch="-", loss="-", rate="-")

    def advance(self, loss: float, rate: float, epoch: int, epochs: int) -> None:
        if self.p:
            self.p.update(self.task, advance=1, loss=f"{loss:.4f}", rate=f"{rate:.1f}", epoch=f"{epoch}/{epochs}")

    def close(self) -> None:
        if self.p:
            self.p.stop()
            self.p = None


def fold_groups(todo: list[Fold], run: RunFolder, settings: TrainSettings, model_settings,
                device) -> list[tuple[int, list[Fold]]]:
    """The folds to train, in groups trained together (``--fold-batch``), each with the epoch it resumes
    from: groups of up to N folds that resume from the same epoch; single folds (start read by
    ``train_fold`` itself) when N is 1 or the variant trains the backbone."""
    from .foldbatch import supports_fold_batch

    n = settings.fold_batch
    if n != 1 and not supports_fold_batch(model_settings.variant):
        print(f"variant {model_settings.variant} trains the backbone: folds cannot share it, so they are trained "
              "one by one (--fold-batch ignored)", flush=True)
        n = 1
    if n == 0:
        from .loop_batched import auto_fold_batch

        n = auto_fold_batch(model_settings, settings.batch_size, len(todo), device)
        print(f"--fold-batch auto: {n} fold(s) at a time", flush=True)
    if n == 1:
        return [(0, [f]) for f in todo]
    by_start: dict[int, list[Fold]] = {}
    for f in todo:
        by_start.setdefault((run.load_partial(f.name) or {}).get("epoch", 0), []).append(f)
    return [(start, group[i:i + n]) for start, group in sorted(by_start.items()) for i in range(0, len(group), n)]


# the run

def run_loso(cache, *, train_settings: TrainSettings, model_settings, out, folds="all", weights=None,
             resume: bool = False, progress: bool = True, final: bool = False, final_only: bool = False) -> Path:
    """Train and evaluate the chosen LOSO folds of ``cache`` into the run folder ``out``; with
    ``final`` (or ``final_only``, which skips the folds) also the model on every clip.

    ``model_settings.num_classes`` and ``frames`` are taken from the cache. Finished folds of a
    resumed run are not recomputed; an unfinished one continues from its last saved epoch.
    Returns the run folder (the caller writes the report).
    """
    run = RunFolder(out)
    created = not run.path.exists()
    run.lock()  # a second mpt train into the same folder stops here
    try:
        device = resolve_device(train_settings.device)
        source = ClipSource(cache, device=device, memory_budget_gb=train_settings.memory_budget_gb,
                            chunk_clips=train_settings.chunk_clips, prefetch=train_settings.prefetch)
        meta = source.meta
        model_settings = replace(model_settings, num_classes=len(meta.classes), frames=meta.frames)
        train_settings = replace(train_settings, precision=resolve_precision(train_settings.precision, device))
        all_folds = loso_folds(source.subjects)
        chosen = [] if final_only else select_folds(all_folds, folds)  # a bad --fold fails before any file
        if final or final_only:
            chosen.append(final_fold(len(source), len(all_folds)))
        config = make_config(meta, train_settings, model_settings, weights, folds=not final_only,
                             final=final or final_only)
        run.start(config, resume=resume)
        _train(run, source, train_settings, model_settings, weights, device, chosen, len(all_folds), progress)
    except BaseException:
        run.unlock()
        if created and not run.config_path.exists():  # failed before writing anything: leave no folder
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    run.unlock()
    return run.path


def _train(run, source, train_settings, model_settings, weights, device, chosen, n_folds, progress):
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(train_settings.deterministic, warn_only=True)
    try:
        mode = "resident on the device" if source.resident else "streamed from disk"
        print(f"cache {source.meta.path} ({source.meta.n_clips} clips, {n_folds} subjects, "
              f"{source.nbytes / 1e9:.2f} GB, {mode}); device {device}, {train_settings.precision}; "
              f"{len(chosen)} model(s) to train; backbone {model_settings.backbone} "
              f"{'weights ' + str(weights) if weights else 'RANDOM (no --weights given)'}", flush=True)
        todo = []
        for fold in chosen:
            if run.is_done(fold.name):
                print(f"{_label(fold, n_folds)} already done, skipped", flush=True)
            else:
                todo.append(fold)
        for start, group in fold_groups(todo, run, train_settings, model_settings, device):
            if len(group) == 1:
                train_fold(group[0], source, settings=train_settings, model_settings=model_settings,
                           weights=weights, device=device, run=run, n_folds=n_folds, progress=progress)
            else:
                from .loop_batched import train_fold_batch

                train_fold_batch(group, source, settings=train_settings, model_settings=model_settings,
                                 weights=weights, device=device, run=run, n_folds=n_folds, start=start,
                                 progress=progress)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
